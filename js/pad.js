// A 2-D pad: two directions dragged jointly, x → the first, y → the second
// (up is positive, as on a plot). Hidden with fewer than two directions.
import { clamp, fractionAcross, h } from "./dom.js";
import { formatAlpha } from "./format.js";
import { directionsOf, extentOf } from "./model.js";

export function createPad(model, send, alphas, subs) {
  const selectX = h("select", { "data-testid": "pad-x", "aria-label": "pad x direction", onchange: () => choose(0) });
  const selectY = h("select", { "data-testid": "pad-y", "aria-label": "pad y direction", onchange: () => choose(1) });
  const knob = h("div", { class: "sw-pad-knob", "data-testid": "pad-knob" });
  const pad = h("div", { class: "sw-pad", "data-testid": "pad", role: "group", "aria-label": "2-D pad" },
    h("div", { class: "sw-pad-axis sw-pad-axis-x" }), h("div", { class: "sw-pad-axis sw-pad-axis-y" }), knob);
  const labelX = h("div", { class: "sw-pad-label-x", "data-testid": "pad-label-x" });
  const labelY = h("div", { class: "sw-pad-label-y", "data-testid": "pad-label-y" });
  const el = h("section", { class: "sw-pad-section", "data-testid": "pad-section" },
    h("div", { class: "sw-pad-selects" }, h("span", { text: "x" }), selectX, h("span", { text: "y" }), selectY),
    h("div", { class: "sw-pad-frame" }, labelY, pad, labelX));
  let dragging = false;

  // The pair shown: the trait when it names two directions, else the first two.
  function pair() {
    const n = directionsOf(model).length;
    const p = model.get("pad") ?? [];
    if (p.length === 2 && p.every((i) => Number.isInteger(i) && i >= 0 && i < n)) return p;
    return [0, 1];
  }

  function choose(axis) {
    const next = [...pair()];
    const picked = Number((axis === 0 ? selectX : selectY).value);
    // Picking the other axis's direction swaps the two instead of pairing a direction with itself.
    if (next[1 - axis] === picked) next[1 - axis] = next[axis];
    next[axis] = picked;
    send("set_pad", { pair: next });
  }

  function build() {
    const directions = directionsOf(model);
    el.hidden = directions.length < 2;
    if (el.hidden) return;
    const options = () => directions.map((d, i) => h("option", { value: i, text: d.label ?? `direction ${i}` }));
    const [x, y] = pair();
    selectX.replaceChildren(...options());
    selectY.replaceChildren(...options());
    selectX.value = String(x);
    selectY.value = String(y);
    for (const [select, label, i] of [[selectX, labelX, x], [selectY, labelY, y]]) {
      const name = directions[i].label ?? `direction ${i}`;
      label.textContent = name;
      // The select and the label may cut a long name; their titles give it whole.
      label.title = name;
      select.title = name;
    }
    place(alphas.get());
  }

  function place(values) {
    const directions = directionsOf(model);
    const [x, y] = pair();
    // Listeners run in subscription order: the directions may have changed before build() ran.
    if (!directions[x] || !directions[y]) return;
    const ex = extentOf(directions[x]);
    const ey = extentOf(directions[y]);
    const ax = values[x] ?? 0;
    const ay = values[y] ?? 0;
    knob.style.left = `${((clamp(ax, -ex, ex) + ex) / (2 * ex)) * 100}%`;
    knob.style.top = `${((ey - clamp(ay, -ey, ey)) / (2 * ey)) * 100}%`;
    knob.title = `${directions[x].label} ${formatAlpha(ax, directions[x])}, ${directions[y].label} ${formatAlpha(ay, directions[y])}`;
  }

  function fromPointer(e) {
    const directions = directionsOf(model);
    const [x, y] = pair();
    const [fx, fy] = fractionAcross(pad, e);
    return { [x]: (fx * 2 - 1) * extentOf(directions[x]), [y]: (1 - fy * 2) * extentOf(directions[y]) };
  }

  pad.addEventListener("pointerdown", (e) => {
    if (e.button !== undefined && e.button !== 0) return;
    e.preventDefault();
    pad.setPointerCapture?.(e.pointerId);
    dragging = true;
    alphas.beginDrag();
    alphas.set(fromPointer(e), false);
  });
  pad.addEventListener("pointermove", (e) => {
    if (dragging) alphas.set(fromPointer(e), false);
  });
  const release = (e, final) => {
    if (!dragging) return;
    dragging = false;
    pad.releasePointerCapture?.(e.pointerId);
    alphas.endDrag();
    alphas.set(final ? fromPointer(e) : {}, true);
  };
  pad.addEventListener("pointerup", (e) => release(e, true));
  pad.addEventListener("pointercancel", (e) => release(e, false));

  subs.on("change:directions", build);
  subs.on("change:pad", build);
  const unsubscribe = alphas.subscribe(place);
  build();
  return { el, destroy: unsubscribe };
}
