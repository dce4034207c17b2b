// The render scheduler: newest request wins on the way out, newest frame wins
// on the way back (the stylegan3 AsyncRenderer idea, split across the wire).
//
// Outgoing: a drag can fire hundreds of pointermoves a second; we send at most
// one render per animation frame, always the newest α, and a final request
// (drag end, key press) at once so the PNG at rest is never delayed. Every
// request that changes the image (undo, new seeds, ...) takes its seq from the
// same counter, so the newest frame always has the highest number.
// Incoming: frames decode asynchronously and can finish out of order, so a
// frame is drawn only if its seq is newer than the one on screen.
import { NUMBERED_KINDS } from "./messages.js";
import { directionsOf, send as sendRaw } from "./model.js";

/** Requests that change the image: they carry a seq and their frame comes back with it. */
export const NUMBERED = new Set(NUMBERED_KINDS);

/**
 * @param {import("./model.js").Model} model
 * @param {HTMLElement} root  gets data-render-seq (on screen) and data-sent-seq
 * @param {{decode(msg, buffers): Promise<any>, paint(image, msg): void,
 *          discard?(image): void}} grid
 */
export function createRenderer(model, root, grid) {
  let sentSeq = 0;
  let sentKind = null;
  let shownSeq = 0;
  let shownSeed = null; // first seed of the grid on screen (labels refer to it)
  let shownVersion = null; // the kernel's session version of the frame on screen
  let settledSeq = 0; // the newest seq that needs no more waiting for: shown, or failed
  let pending = null;
  let frameHandle = 0;
  let destroyed = false;
  const settledListeners = new Set();

  root.setAttribute("data-render-seq", "0");
  root.setAttribute("data-sent-seq", "0");

  // Seqs only grow, also across views of the same model (each starts above
  // the kernel's render_seq).
  function nextSeq() {
    return Math.max(sentSeq, shownSeq, Number(model.get("render_seq")) || 0) + 1;
  }

  /** Send any request (buffers: files it carries); the numbered ones get the next seq. */
  function send(kind, fields = {}, buffers = undefined) {
    if (!NUMBERED.has(kind)) {
      sendRaw(model, kind, fields, buffers);
      return;
    }
    // A coalesced render still waiting would arrive after this request and undo its effect.
    if (kind !== "render" && frameHandle) {
      cancelAnimationFrame(frameHandle);
      frameHandle = 0;
      pending = null;
    }
    sentSeq = nextSeq();
    sentKind = kind;
    root.setAttribute("data-sent-seq", String(sentSeq));
    sendRaw(model, kind, { seq: sentSeq, ...fields }, buffers);
  }

  function flush() {
    frameHandle = 0;
    if (!pending || destroyed) return;
    const { alphas, final } = pending;
    pending = null;
    // Each α names its direction, so a request made before the kernel added or removed
    // directions (a compute, an undo) still moves the ones the user moved.
    const ids = directionsOf(model).map((d) => d?.id);
    if (ids.length > 0 && ids.every(Number.isInteger)) {
      const n = Math.min(ids.length, alphas.length);
      send("render", { alphas: alphas.slice(0, n), ids: ids.slice(0, n), final });
    } else {
      send("render", { alphas, ids: null, final });
    }
  }

  /** Ask for the grid at these α; the frame comes back as an event. */
  function request(alphas, final) {
    pending = { alphas: alphas.map(Number), final: Boolean(final) };
    if (final) {
      if (frameHandle) cancelAnimationFrame(frameHandle);
      flush();
    } else if (!frameHandle) {
      frameHandle = requestAnimationFrame(flush);
    }
  }

  function settle(seq) {
    const wasWaiting = settledSeq < sentSeq;
    settledSeq = Math.max(settledSeq, seq);
    if (wasWaiting && settledSeq >= sentSeq) for (const fn of settledListeners) fn();
  }

  /** Handle a `frame` event: decode, then draw unless a newer frame got there first. */
  async function onFrame(msg, buffers) {
    if (!(msg.seq > shownSeq)) return;
    const image = await grid.decode(msg, buffers);
    if (destroyed || !(msg.seq > shownSeq)) {
      grid.discard?.(image);
      return;
    }
    grid.paint(image, msg);
    shownSeq = msg.seq;
    shownSeed = Number.isInteger(msg.seed) ? msg.seed : null;
    shownVersion = Number.isInteger(msg.version) ? msg.version : null;
    root.setAttribute("data-render-seq", String(shownSeq));
    settle(shownSeq);
  }

  /** An `error` event: stop waiting for the request it names (null: for all sent). */
  function onError(seq) {
    settle(seq ?? sentSeq);
  }

  return {
    send,
    request,
    onFrame,
    onError,
    /**
     * True while our newest request is a render whose frame has neither been
     * shown nor failed: the `alphas` trait then only echoes older requests.
     */
    awaitingRender() {
      return pending !== null || (sentKind === "render" && sentSeq > settledSeq);
    },
    /** Call fn whenever the newest request has been answered (frame or error). */
    onSettled(fn) {
      settledListeners.add(fn);
      return () => settledListeners.delete(fn);
    },
    get sentSeq() {
      return sentSeq;
    },
    get shownSeq() {
      return shownSeq;
    },
    get shownSeed() {
      return shownSeed;
    },
    get shownVersion() {
      return shownVersion;
    },
    destroy() {
      destroyed = true;
      if (frameHandle) cancelAnimationFrame(frameHandle);
      pending = null;
      settledListeners.clear();
    },
  };
}
