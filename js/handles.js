// One horizontal slider per active direction. Dragging sends renders at the
// pointer's pace (the renderer coalesces them), releasing sends the final one.
// A continuous factor's handle reads its amount in the transformation's units
// ("+12 px", "×1.20", "+15°"), as the kernel computed it for the frame on screen.
import { clamp, fractionAcross, h } from "./dom.js";
import { formatAlpha } from "./format.js";
import { directionsOf, extentOf } from "./model.js";

const KEY_STEPS = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: 5, PageDown: -5 };

export function createHandles(model, alphas, subs) {
  const rows = h("div", { class: "sw-handle-rows" });
  const empty = h("p", { class: "sw-empty", text: "Tick a direction to get a handle." });
  const el = h("section", { class: "sw-handles", "data-testid": "handles" }, empty, rows);
  let shown = new Map(); // direction index → {knob, text, extent, direction}
  let layoutKey = "";
  let amounts = new Map(); // factor direction id → the kernel's text for the frame on screen

  function row(i, direction) {
    const extent = extentOf(direction);
    const knob = h("div", {
      class: "sw-knob", "data-testid": `handle-${i}`, role: "slider", tabindex: 0,
      "aria-label": direction.label, "aria-valuemin": -extent, "aria-valuemax": extent,
    });
    const track = h("div", { class: "sw-track", "data-testid": `track-${i}` },
      h("div", { class: "sw-track-line" }),
      h("div", { class: "sw-origin", title: "α = 0: the unedited image" }),
      knob);
    const text = h("span", { class: "sw-alpha", "data-testid": `alpha-${i}` });
    const fromPointer = (e) => (fractionAcross(track, e)[0] * 2 - 1) * extent;

    track.addEventListener("pointerdown", (e) => {
      if (e.button !== undefined && e.button !== 0) return;
      e.preventDefault();
      track.setPointerCapture?.(e.pointerId);
      knob.focus({ preventScroll: true });
      track.classList.add("sw-dragging");
      alphas.beginDrag();
      alphas.set({ [i]: fromPointer(e) }, false);
    });
    track.addEventListener("pointermove", (e) => {
      if (!track.classList.contains("sw-dragging")) return;
      alphas.set({ [i]: fromPointer(e) }, false);
    });
    const release = (e, final) => {
      if (!track.classList.contains("sw-dragging")) return;
      track.classList.remove("sw-dragging");
      track.releasePointerCapture?.(e.pointerId);
      alphas.endDrag();
      // A cancelled pointer (touch taken over by scrolling) still leaves the
      // grid at a resting state: send the last α as final.
      alphas.set(final ? { [i]: fromPointer(e) } : {}, true);
    };
    track.addEventListener("pointerup", (e) => release(e, true));
    track.addEventListener("pointercancel", (e) => release(e, false));

    knob.addEventListener("keydown", (e) => {
      const current = alphas.get()[i] ?? 0;
      let next;
      if (e.key === "Home") next = 0;
      else if (e.key in KEY_STEPS) next = current + KEY_STEPS[e.key] * (e.shiftKey ? 5 : 1) * (extent / 20);
      else return;
      e.preventDefault();
      // Rounding keeps repeated steps from accumulating float noise (0.30000000000000004).
      alphas.set({ [i]: Math.round(clamp(next, -extent, extent) * 1e6) / 1e6 }, true);
    });

    shown.set(i, { knob, text, extent, direction });
    return h("div", { class: "sw-handle" },
      h("div", { class: "sw-handle-head" },
        h("span", { class: "sw-handle-label", "data-testid": `handle-label-${i}`, text: direction.label, title: direction.label }),
        text),
      track);
  }

  function build() {
    const directions = directionsOf(model);
    const active = (model.get("active") ?? []).filter((i) => i >= 0 && i < directions.length);
    // Rebuilding mid-drag would drop the pointer capture: only rebuild when the
    // handles themselves change, not on every trait echo.
    const key = JSON.stringify(active.map((i) => [i, directions[i].label, directions[i].extent, directions[i].sigma]));
    if (key === layoutKey) return;
    layoutKey = key;
    shown = new Map();
    rows.replaceChildren(...active.map((i) => row(i, directions[i])));
    empty.hidden = active.length > 0;
    place(alphas.get());
  }

  function place(values) {
    for (const [i, { knob, text, extent, direction }] of shown) {
      const a = values[i] ?? 0;
      knob.style.left = `${((clamp(a, -extent, extent) + extent) / (2 * extent)) * 100}%`;
      knob.setAttribute("aria-valuenow", String(a));
      const words = (direction.factor && amounts.get(direction.id)) || formatAlpha(a, direction);
      knob.setAttribute("aria-valuetext", words);
      text.textContent = words;
      text.classList.toggle("sw-at-limit", / · (max|min)$/.test(words));
      text.title = direction.factor ? `${direction.factor}: α = ${formatAlpha(a, direction)} (its step g(t))` : "";
    }
  }

  /** A frame's `amounts` ([{id, text}]): the factors' amounts on screen. */
  function showAmounts(list) {
    amounts = new Map((Array.isArray(list) ? list : []).map((x) => [x.id, String(x.text ?? "")]));
    place(alphas.get());
  }

  subs.on("change:directions", build);
  subs.on("change:active", build);
  const unsubscribe = alphas.subscribe(place);
  build();
  return { el, showAmounts, destroy: unsubscribe };
}
