// Moving the content of an image with the mouse, through the kernel's continuous
// factors (semwidget/widget/_content.py): a drag inside a cell shifts its content
// (shift_x / shift_y), Shift+drag turns it about the cell's centre (rotation), the
// wheel zooms it (zoom). Every cell follows, or with "only this cell" ticked only
// the one under the mouse.
//
// The page does not know the factors' maps g: it sends only what the hand did, as
// the increment since the previous request (image widths and heights, degrees
// counter-clockwise, a scale ratio), at most once per animation frame, and the
// release as a final request that the kernel commits (one undo step per gesture).
// Increments are summed while waiting, never dropped, so the kernel sees the whole
// gesture whatever the frame rate. The handles and captions show the amounts the
// kernel computed, in the transformation's units.
import { clamp, h } from "./dom.js";
import { directionsOf } from "./model.js";
import { SCHEMA } from "./messages.js";

const SHIFT = SCHEMA.requests.shift_content.fields;
const TURN = SCHEMA.requests.turn_content.fields;
const ZOOM = SCHEMA.requests.zoom_content.fields;
const FITTABLE = SCHEMA.requests.fit_factor.fields.transform.values;
/** Scale ratio per pixel of wheel travel: a notch (100 px) is about ×1.16. */
export const WHEEL_RATIO_PER_PX = 0.0015;
/** A wheel gesture ends (and is committed) after this long without a notch. */
export const WHEEL_END_MS = 300;

/** What each gesture drives: it is live when one of these factors is shown. */
const NEEDS = { shift: ["shift_x", "shift_y"], turn: ["rotation"], zoom: ["zoom"] };

/**
 * @param {any} model
 * @param {any} grid  grid.js: its cells take the gestures, its wraps get the captions
 * @param {(kind: string, fields?: object) => void} send  the renderer's (numbers the moves)
 */
export function createContent(model, grid, send, subs) {
  const only = h("input", { type: "checkbox", "data-testid": "content-only-cell", "aria-label": "move only the cell under the mouse" });
  const pick = h("select", { "data-testid": "fit-factor-transform", "aria-label": "transformation to fit" },
    ...FITTABLE.map((t) => h("option", { value: t, text: t })));
  const fit = h("button", {
    type: "button", class: "sw-button", "data-testid": "fit-factor", text: "fit",
    title: "Fit a continuous factor for this transformation (a job: it shows progress and can be cancelled)",
    onclick: () => send("fit_factor", { transform: pick.value }),
  });
  const hint = h("span", { class: "sw-content-hint", "data-testid": "content-hint" });
  const el = h("div", { class: "sw-content", "data-testid": "content" },
    h("label", { class: "sw-content-only" }, only, h("span", { text: "only this cell" })), hint,
    h("span", { class: "sw-content-fit" }, pick, fit));

  let gesture = null; // {kind, cell, canvas, x, y, angle, pointerId}
  let pending = null; // {kind, cell, dx, dy, degrees, ratio}: increments not yet sent
  let frameHandle = 0;
  let wheelTimer = 0;

  const factors = () => new Set(directionsOf(model).map((d) => d?.factor).filter(Boolean));
  const live = (kind) => NEEDS[kind].some((t) => factors().has(t));
  const scope = () => (only.checked ? "cell" : "all");

  function showHint() {
    const have = factors();
    const can = Object.keys(NEEDS).filter((k) => live(k));
    grid.el.setAttribute("data-content", can.join(" ") || "none");
    hint.textContent = can.length
      ? [can.includes("shift") && "drag: shift", can.includes("turn") && "Shift+drag: turn", can.includes("zoom") && "wheel: zoom"]
        .filter(Boolean).join(" · ")
      : "fit a factor to move the content by hand";
    hint.title = have.size ? `factors: ${[...have].join(", ")}` : "";
  }

  function add(kind, cell, amounts) {
    if (pending && (pending.kind !== kind || pending.cell !== cell)) flush(false);
    pending ??= { kind, cell, dx: 0, dy: 0, degrees: 0, ratio: 1 };
    pending.dx += amounts.dx ?? 0;
    pending.dy += amounts.dy ?? 0;
    pending.degrees += amounts.degrees ?? 0;
    pending.ratio *= amounts.ratio ?? 1;
    if (!frameHandle) frameHandle = requestAnimationFrame(() => flush(false));
  }

  /** Send what has gathered (final: the gesture ended, even with nothing left to add). */
  function flush(final, end = null) {
    if (frameHandle) cancelAnimationFrame(frameHandle);
    frameHandle = 0;
    const p = pending ?? (final && end ? { ...end, dx: 0, dy: 0, degrees: 0, ratio: 1 } : null);
    pending = null;
    if (!p) return;
    const common = { cell: p.cell, scope: scope(), final };
    if (p.kind === "shift") {
      send("shift_content", { ...common, dx: bound(p.dx, SHIFT.dx), dy: bound(p.dy, SHIFT.dy) });
    } else if (p.kind === "turn") {
      send("turn_content", { ...common, degrees: bound(p.degrees, TURN.degrees) });
    } else {
      send("zoom_content", { ...common, ratio: bound(p.ratio, ZOOM.ratio) });
    }
  }

  function cellOf(target) {
    const i = grid.cells.indexOf(target);
    return i >= 0 ? i : null;
  }

  /** The pointer's angle about the cell's centre, counter-clockwise on screen, in degrees. */
  function angleAt(canvas, e) {
    const r = canvas.getBoundingClientRect();
    return (Math.atan2(-(e.clientY - (r.top + r.height / 2)), e.clientX - (r.left + r.width / 2)) * 180) / Math.PI;
  }

  function down(e) {
    const cell = cellOf(e.target);
    if (cell === null || (e.button !== undefined && e.button !== 0)) return;
    const kind = e.shiftKey ? "turn" : "shift";
    if (!live(kind)) return;
    e.preventDefault();
    e.target.setPointerCapture?.(e.pointerId);
    gesture = { kind, cell, canvas: e.target, x: e.clientX, y: e.clientY, angle: angleAt(e.target, e), pointerId: e.pointerId };
    grid.el.classList.add("sw-moving");
  }

  function move(e) {
    if (!gesture || e.pointerId !== gesture.pointerId) return;
    const r = gesture.canvas.getBoundingClientRect();
    if (gesture.kind === "shift") {
      const dx = r.width > 0 ? (e.clientX - gesture.x) / r.width : 0;
      const dy = r.height > 0 ? (e.clientY - gesture.y) / r.height : 0;
      add("shift", gesture.cell, { dx, dy });
    } else {
      const angle = angleAt(gesture.canvas, e);
      let d = angle - gesture.angle;
      d -= 360 * Math.round(d / 360); // across the ±180° seam the short way round
      add("turn", gesture.cell, { degrees: d });
      gesture.angle = angle;
    }
    gesture.x = e.clientX;
    gesture.y = e.clientY;
  }

  function up(e, keep) {
    if (!gesture || e.pointerId !== gesture.pointerId) return;
    if (keep) move(e);
    const { kind, cell, canvas } = gesture;
    canvas.releasePointerCapture?.(e.pointerId);
    gesture = null;
    grid.el.classList.remove("sw-moving");
    flush(true, { kind, cell });
  }

  function wheel(e) {
    const cell = cellOf(e.target);
    if (cell === null || !live("zoom")) return;
    e.preventDefault(); // the page must not scroll under a zoom
    const px = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
    add("zoom", cell, { ratio: Math.exp(-px * WHEEL_RATIO_PER_PX) }); // wheel up: zoom in
    clearTimeout(wheelTimer);
    wheelTimer = setTimeout(() => flush(true, { kind: "zoom", cell }), WHEEL_END_MS);
  }

  const cells = grid.el.querySelector('[data-testid="grid"]') ?? grid.el;
  cells.addEventListener("pointerdown", down);
  cells.addEventListener("pointermove", move);
  cells.addEventListener("pointerup", (e) => up(e, true));
  cells.addEventListener("pointercancel", (e) => up(e, false));
  cells.addEventListener("wheel", wheel, { passive: false });

  /** After a frame is painted: captions of the cells moved on their own. */
  function afterPaint(msg) {
    const texts = new Map((Array.isArray(msg.cell_amounts) ? msg.cell_amounts : []).map((c) => [c.cell, String(c.text ?? "")]));
    grid.wraps.forEach((wrap, i) => {
      let caption = wrap.querySelector(".sw-cell-amount");
      if (!texts.has(i)) {
        caption?.remove();
        return;
      }
      if (!caption) {
        caption = h("span", { class: "sw-cell-amount", "data-testid": `cell-amount-${i}` });
        wrap.append(caption);
      }
      caption.textContent = texts.get(i);
      caption.title = "this cell is moved on its own";
    });
  }

  subs.on("change:directions", showHint);
  showHint();

  return {
    el,
    afterPaint,
    destroy() {
      if (frameHandle) cancelAnimationFrame(frameHandle);
      clearTimeout(wheelTimer);
    },
  };
}

function bound(x, spec) {
  return clamp(Number.isFinite(x) ? x : 0, spec.min, spec.max);
}
