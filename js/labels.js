// Labelling: name an attribute, mark grid cells as positive or negative for
// it, and train a boundary from the labels once there are enough of each. The
// bar sits under the grid; each cell's wrapper (grid.js) gets two buttons.
import { h } from "./dom.js";

/** Labels of each sign the kernel needs before `train` (see _protocol.py). */
export const MIN_LABELS = 4;

const LABEL_NAMES = { 1: "positive", "-1": "negative", 0: "none" };
let lists = 0; // ids for the attribute <datalist>, unique across views

export function createLabels(model, send, subs, grid, seedOnScreen = () => null, versionOnScreen = () => null) {
  const listId = `sw-attributes-${++lists}`;
  const known = h("datalist", { id: listId });
  const attribute = h("input", {
    type: "text", class: "sw-text sw-attribute", "data-testid": "attribute", list: listId,
    placeholder: "attribute, e.g. smile", "aria-label": "attribute to label", spellcheck: "false",
  });
  const counts = h("span", { class: "sw-label-counts", "data-testid": "label-counts", "aria-live": "polite" });
  const train = h("button", {
    type: "button", class: "sw-button", "data-testid": "train", text: "train",
    onclick: () => send("train"),
  });
  const el = h("div", { class: "sw-labelling", "data-testid": "labelling" },
    h("span", { class: "sw-labelling-title", text: "label" }), attribute, known, counts, train);

  const current = () => String(model.get("attribute") ?? "");
  const labelOf = (i) => Number(model.get("cell_labels")?.[i]) || 0;

  // Enter and the change that follows it (or a blur) must send once.
  let committed = current();
  function commit() {
    const name = attribute.value.trim();
    if (!name) {
      attribute.value = current();
      return;
    }
    attribute.value = name;
    if (name === committed) return;
    committed = name;
    send("set_attribute", { name });
  }
  attribute.addEventListener("change", commit);
  attribute.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      commit();
    } else if (e.key === "Escape") {
      attribute.value = current();
    }
  });

  function label(i, value) {
    if (!current()) return;
    // The active button again clears the label.
    // Name the grid on screen by its first seed: new seeds may already be on their way.
    const seed = seedOnScreen();
    // Its version names the exact edit on screen: the kernel labels the latent the user saw.
    send("label", { cell: i, value: labelOf(i) === value ? 0 : value, seed: seed ?? null, version: versionOnScreen() ?? null });
  }

  // Two buttons per cell, added as the grid grows.
  const decorated = new WeakSet();
  function decorate(wraps) {
    wraps.forEach((wrap, i) => {
      if (decorated.has(wrap)) return;
      decorated.add(wrap);
      const button = (sign, text, value) => h("button", {
        type: "button", class: `sw-label-button sw-label-${sign}`, "data-testid": `label-${sign}-${i}`,
        text, "aria-pressed": "false", onclick: () => label(i, value),
      });
      wrap.append(h("div", { class: "sw-label-buttons" }, button("pos", "+", 1), button("neg", "−", -1)));
    });
    showCells();
  }

  function showCells() {
    const name = current();
    grid.wraps.forEach((wrap, i) => {
      const value = name ? labelOf(i) : 0;
      wrap.setAttribute("data-label", LABEL_NAMES[value] ?? "none");
      const buttons = wrap.querySelector(".sw-label-buttons");
      if (!buttons) return;
      buttons.hidden = !name;
      const [pos, neg] = buttons.children;
      pos.setAttribute("aria-pressed", String(value === 1));
      neg.setAttribute("aria-pressed", String(value === -1));
      pos.title = value === 1 ? `clear the ${name} label` : `${name}: yes`;
      neg.title = value === -1 ? `clear the ${name} label` : `${name}: no`;
    });
  }

  function showAttribute() {
    committed = current();
    if (document.activeElement !== attribute) attribute.value = committed;
    showCounts();
    showCells();
  }

  function showCounts() {
    const all = model.get("label_counts") ?? {};
    const name = current();
    const [pos, neg] = (all[name] ?? [0, 0]).map((n) => Number(n) || 0);
    counts.textContent = name ? `${name}: ${pos} + / ${neg} −` : "name an attribute to label cells";
    const ready = Boolean(name) && pos >= MIN_LABELS && neg >= MIN_LABELS;
    train.disabled = !ready;
    train.title = ready
      ? `Fit a boundary for ${name} from its labels and add it as a direction`
      : `Needs at least ${MIN_LABELS} + and ${MIN_LABELS} − labels`;
    known.replaceChildren(...Object.keys(all).map((a) => h("option", { value: a })));
  }

  subs.on("change:attribute", showAttribute);
  subs.on("change:cell_labels", showCells);
  subs.on("change:label_counts", showCounts);
  const unsubscribe = grid.onLayout(decorate);
  attribute.value = committed;
  decorate(grid.wraps);
  showCounts();

  return { el, destroy: unsubscribe };
}
