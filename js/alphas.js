// The α the handles and the pad show and edit: one array shared by both, so
// dragging the pad moves the matching handles and vice versa.
//
// It starts from the trait `alphas` and follows the kernel's changes to it
// (undo, redo, reset, another view) — but not while this view is dragging or
// waiting for its newest render: the kernel publishes `alphas` when it takes a
// final render, so fast key presses would see echoes of the previous ones and
// the knob would jump back and forth. Once that render is answered, the trait
// is read again, so nothing the kernel decided is lost.
import { directionsOf } from "./model.js";

export function createAlphas(model, renderer, subs) {
  let values = fit(model.get("alphas") ?? []);
  let drags = 0;
  const listeners = new Set();

  // One α per direction: directions can be added (compute) before the kernel's
  // `alphas` trait catches up.
  function fit(list) {
    const n = Math.max(directionsOf(model).length, list.length);
    return Array.from({ length: n }, (_, i) => Number(list[i]) || 0);
  }

  function notify() {
    for (const fn of listeners) fn(values);
  }

  function follow() {
    if (drags > 0 || renderer.awaitingRender()) return;
    values = fit(model.get("alphas") ?? []);
    notify();
  }

  subs.on("change:alphas", follow);
  const unsubscribe = renderer.onSettled(follow);
  subs.on("change:directions", () => {
    values = fit(values);
    notify();
  });

  return {
    get: () => values,
    /** Set some α ({index: value}) and ask for a render. */
    set(changes, final) {
      values = fit(values);
      for (const [i, a] of Object.entries(changes)) values[Number(i)] = a;
      renderer.request(values, final);
      notify();
    },
    /** Around a pointer drag: the trait is not followed meanwhile. */
    beginDrag() {
      drags += 1;
    },
    endDrag() {
      drags = Math.max(0, drags - 1);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    destroy() {
      unsubscribe();
      listeners.clear();
    },
  };
}
