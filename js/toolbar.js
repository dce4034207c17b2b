// Buttons for the requests that are not drags: history, seeds, exports, code,
// finding new directions, and saving or loading annotations. The code the
// kernel returns shows beneath.
import { h } from "./dom.js";
import { directionsOf, extentOf } from "./model.js";

const GIF_FRAMES = 24;

/** @param {HTMLElement[]} [extra]  more controls, in a group of their own */
export function createToolbar(model, send, subs, extra = []) {
  const button = (testid, text, title, onclick) =>
    h("button", { type: "button", class: "sw-button", "data-testid": testid, text, title, onclick });

  const undo = button("undo", "undo", "Undo the last edit", () => send("undo"));
  const redo = button("redo", "redo", "Redo", () => send("redo"));
  const exportGif = button("export-gif", "GIF", "Download a GIF along the first active direction", () => {
    const d = model.get("active")?.[0];
    if (d === undefined) return;
    send("export_gif", { direction: d, frames: GIF_FRAMES, extent: extentOf(directionsOf(model)[d]) });
  });

  // Pixels per generated pixel in the PNG; the kernel checks the range.
  const exportScale = h("select", {
    class: "sw-export-scale", "data-testid": "export-scale", "aria-label": "PNG scale", title: "PNG size: 1× or 2× the generator's resolution",
  }, h("option", { value: "1", text: "1×" }), h("option", { value: "2", text: "2×" }));

  const method = h("select", { "data-testid": "compute-method", "aria-label": "finder" },
    h("option", { value: "sefa", text: "SeFa" }), h("option", { value: "ganspace", text: "GANSpace" }));
  const count = h("input", {
    type: "number", "data-testid": "compute-n", min: 1, max: 64, step: 1, value: "5",
    "aria-label": "number of directions", class: "sw-number",
  });
  const layer = h("select", { "data-testid": "compute-layer", "aria-label": "feature layer" });
  const compute = button("compute", "compute", "Find directions and add them to the list", () => {
    const n = Math.max(1, Math.round(Number(count.value)) || 5);
    send("compute", { method: method.value, n_directions: n, feature_layer: layer.value || null });
  });

  const path = h("input", {
    type: "text", class: "sw-text sw-path", "data-testid": "annotations-path", placeholder: "faces",
    "aria-label": "annotations file (without extension)", spellcheck: "false",
    title: "A name for the annotations: <name>.json + <name>.npz in the Explorer's annotations folder", oninput: () => showPath(),
  });
  const save = button("save", "save", "Save labels, names and notes as <name>.json + .npz in the annotations folder", () => {
    if (path.value.trim()) send("save", { path: path.value.trim() });
  });
  const load = button("load", "load", "Load labels, names and notes saved on this model", () => {
    if (path.value.trim()) send("load", { path: path.value.trim() });
  });

  const code = h("textarea", { "data-testid": "code", class: "sw-code", readOnly: true, hidden: true, rows: 6, spellcheck: "false" });

  const el = h("div", { class: "sw-toolbar-area" },
    h("div", { class: "sw-toolbar", role: "toolbar", "data-testid": "toolbar" },
      h("div", { class: "sw-group" },
        button("reset", "reset", "All α back to 0", () => send("reset")), undo, redo,
        button("new-seeds", "new seeds", "Show the next samples", () => send("new_seeds", { seed: null }))),
      h("div", { class: "sw-group" },
        button("export-png", "PNG", "Download the grid as PNG", () => send("export_png", { scale: Number(exportScale.value) })),
        exportScale, exportGif,
        button("copy-code", "code", "Python that reproduces this edit", () => send("copy_code"))),
      h("div", { class: "sw-group sw-compute" }, method, count, layer, compute),
      h("div", { class: "sw-group sw-annotations" }, path, save, load),
      extra.length ? h("div", { class: "sw-group" }, ...extra) : null),
    code);

  function showHistory() {
    undo.disabled = !model.get("can_undo");
    redo.disabled = !model.get("can_redo");
  }
  function showActive() {
    exportGif.disabled = (model.get("active") ?? []).length === 0;
  }
  function showLayers() {
    const chosen = layer.value;
    layer.replaceChildren(h("option", { value: "", text: "latent" }),
      ...(model.get("feature_layers") ?? []).map((name) => h("option", { value: name, text: name })));
    layer.value = [...layer.options].some((o) => o.value === chosen) ? chosen : "";
  }

  function showPath() {
    save.disabled = load.disabled = !path.value.trim();
  }
  function showAnnotationsPath() {
    path.value = model.get("annotations_path") ?? "";
    showPath();
  }

  subs.on("change:can_undo", showHistory);
  subs.on("change:can_redo", showHistory);
  subs.on("change:active", showActive);
  subs.on("change:feature_layers", showLayers);
  subs.on("change:annotations_path", showAnnotationsPath);
  showHistory();
  showActive();
  showLayers();
  showAnnotationsPath();

  return {
    el,
    /** A `code` event: show the text and try the clipboard. */
    showCode(text) {
      code.value = text;
      code.hidden = false;
      // The clipboard needs a secure context and focus; the textarea is the fallback.
      navigator.clipboard?.writeText(text).catch(() => {});
    },
  };
}
