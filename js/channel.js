// The widget's line to the kernel: every request is numbered (`rid`) and the
// kernel acknowledges each one the moment its comm handler sees it, so the page
// knows when nothing it sends arrives, says so, and repairs what it can.
//
// Why this exists: since JupyterLab 4.4 a widget's comm messages go to a kernel
// subshell shared by every comm of the same target ("perCommTarget"). Its
// reference count has a window: when the last `jupyter.widget` comm closes
// before the kernel has answered the request that created their subshell, the
// subshell is deleted once the answer comes, and a comm opened in that window
// joins the dying subshell and keeps its id for good. ipykernel 7 then drops
// every message from that comm ("Unknown subshell_id"): the widget looks alive
// and is dead. See subshell.js for the check and the repair (the kernel side of
// the same trouble is semwidget/widget/_routing.py); the README says what we do and why.
import { checkSubshell } from "./subshell.js";

/** A request unanswered this long means the kernel is not hearing us. */
export const ACK_TIMEOUT_MS = 3000;
/** How often the watchdog looks at the oldest unanswered request. */
export const WATCH_MS = 500;
/** The most unanswered requests kept for resending (older ones are dropped). */
export const MAX_UNACKED = 200;

/**
 * @param {import("./model.js").Model} model
 * @param {{onStatus?: (status: ChannelStatus) => void, kernelBusy?: () => boolean,
 *          check?: (model: any) => Promise<string>, now?: () => number}} [options]
 *   `check` finds and repairs a stranded comm (default: subshell.js); it answers
 *   "rerouted" when messages sent so far were lost and now have a working route.
 *   `kernelBusy` tells whether the kernel is running a cell (the banner says so).
 * @typedef {{state: "ok" | "waiting" | "unanswered", unanswered: number,
 *            kernelBusy: boolean, repairs: number}} ChannelStatus
 */
export function createChannel(model, options = {}) {
  const check = options.check ?? ((m) => checkSubshell(m));
  const now = options.now ?? (() => performance.now());
  const onStatus = options.onStatus ?? (() => {});
  /** rid -> {content, buffers, t} for requests not yet acknowledged, oldest first. */
  const unacked = new Map();
  let nextRid = 1;
  let timer = 0;
  let checking = null;
  let lastCheck = -Infinity;
  let destroyed = false;
  let status = { state: "ok", unanswered: 0, kernelBusy: false, repairs: 0 };

  function publish(patch) {
    const next = { ...status, ...patch, unanswered: unacked.size };
    if (Object.keys(next).some((k) => next[k] !== status[k])) {
      status = next;
      onStatus(status);
    }
  }

  function post(content, buffers) {
    const rid = nextRid++;
    unacked.set(rid, { content, buffers, t: now() });
    while (unacked.size > MAX_UNACKED) unacked.delete(unacked.keys().next().value);
    model.send({ ...content, rid }, undefined, buffers);
    arm();
  }

  function arm() {
    if (!timer && !destroyed && unacked.size) timer = setTimeout(watch, WATCH_MS);
  }

  function watch() {
    timer = 0;
    if (destroyed || !unacked.size) return;
    const oldest = unacked.values().next().value;
    if (now() - oldest.t >= ACK_TIMEOUT_MS) {
      publish({ state: "unanswered", kernelBusy: kernelBusy() });
      // One look at the route per timeout period, not one per watchdog tick.
      if (now() - lastCheck >= ACK_TIMEOUT_MS) void diagnose();
    }
    arm();
  }

  function kernelBusy() {
    try {
      return Boolean(options.kernelBusy?.());
    } catch {
      return false;
    }
  }

  /** Look for a stranded comm (once at a time); resend what was lost if it was rerouted. */
  function diagnose() {
    if (checking) return checking;
    lastCheck = now();
    checking = (async () => {
      let verdict = "unknown";
      try {
        verdict = await check(model);
      } catch (err) {
        console.warn("semwidget: could not check the widget's kernel channel", err);
      }
      if (verdict === "rerouted" && !destroyed) {
        publish({ repairs: status.repairs + 1 });
        resend();
      }
      return verdict;
    })().finally(() => {
      checking = null;
    });
    return checking;
  }

  /** Send every unacknowledged request again, in order, under new ids. */
  function resend() {
    const lost = [...unacked.values()];
    unacked.clear();
    for (const { content, buffers } of lost) post(content, buffers);
  }

  /** Send a request through the channel (numbered, watched). */
  function send(content, _callbacks, buffers) {
    if (destroyed) return;
    post(content, buffers);
    publish({ state: status.state === "ok" ? "waiting" : status.state });
  }

  return {
    send,
    /** The kernel heard request `rid`. */
    onAck(rid) {
      if (!unacked.delete(rid)) return;
      // Acks come in order per comm: anything older was heard too, or is lost for good.
      for (const key of unacked.keys()) if (key < rid) unacked.delete(key);
      publish({ state: unacked.size ? "waiting" : "ok", kernelBusy: false });
    },
    /** Check the route now (at start-up, before anything can be lost). */
    check: diagnose,
    /** The model with `send` going through this channel, for the components. */
    model: Object.assign(Object.create(model), { send }),
    get status() {
      return status;
    },
    destroy() {
      destroyed = true;
      if (timer) clearTimeout(timer);
      timer = 0;
      unacked.clear();
    },
  };
}
