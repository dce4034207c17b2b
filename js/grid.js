// The image grid: one <canvas> per sample, each in a wrapper that other parts
// (labels.js) decorate. A frame is one sprite image (cells row-major, `columns`
// per row) decoded once and cut into the canvases, which costs one decode per
// frame instead of one per cell. Each sample's cell is captioned with its seed.
import { h } from "./dom.js";

/**
 * @param {{onCancel?: () => void}} [options]  onCancel: the progress bar's cancel
 *   button asks the kernel to stop the job; without it the button is not shown
 */
export function createGrid(model, subs, { onCancel } = {}) {
  const cells = h("div", { class: "sw-cells", "data-testid": "grid" });
  const spinner = h("div", { class: "sw-spinner", "data-testid": "spinner", hidden: true, role: "status" },
    h("span", { class: "sw-spinner-wheel", "aria-hidden": "true" }),
    h("span", { class: "sw-visually-hidden", text: "working…" }));
  const progressLabel = h("span", { class: "sw-progress-label" });
  const progressBar = h("progress", { "data-testid": "progress-bar", max: 1, value: 0 });
  const cancel = h("button", {
    type: "button", class: "sw-progress-cancel", "data-testid": "progress-cancel", text: "cancel",
    title: "Stop this job", hidden: !onCancel,
    onclick: () => {
      // Once is enough: the kernel stops at its next step, and the bar goes with it.
      cancel.disabled = true;
      onCancel?.();
    },
  });
  const progress = h("div", { class: "sw-progress", "data-testid": "progress", hidden: true },
    progressLabel, progressBar, cancel);
  const el = h("div", { class: "sw-grid" }, cells, spinner, progress);
  let canvases = [];
  let wraps = [];
  let seeds = []; // the seed captions, one per cell
  const layoutListeners = new Set();
  const paintListeners = new Set();

  function layout(count) {
    count = Math.max(0, Number(count) || 0);
    if (count === canvases.length) return;
    const side = Number(model.get("resolution")) || 64;
    while (canvases.length > count) {
      canvases.pop();
      seeds.pop();
      wraps.pop().remove();
    }
    while (canvases.length < count) {
      const i = canvases.length;
      const canvas = h("canvas", { class: "sw-cell", "data-testid": `cell-${i}`, width: side, height: side });
      // Hidden until a frame says which seed the cell shows.
      const seed = h("span", { class: "sw-cell-seed", "data-testid": `cell-seed-${i}`, hidden: true });
      const wrap = h("div", { class: "sw-cell-wrap", "data-testid": `cell-wrap-${i}`, "data-label": "none" }, canvas, seed);
      canvases.push(canvas);
      wraps.push(wrap);
      seeds.push(seed);
      cells.append(wrap);
    }
    for (const fn of layoutListeners) fn(wraps);
  }

  function showColumns() {
    cells.style.setProperty("--sw-columns", String(Math.max(1, Number(model.get("columns")) || 1)));
  }

  function showBusy() {
    spinner.hidden = !model.get("busy");
    el.classList.toggle("sw-busy", Boolean(model.get("busy")));
  }

  let progressJob = null; // the label of the job the bar shows
  function showProgress() {
    const p = model.get("progress") ?? {};
    const total = Number(p.total) || 0;
    progress.hidden = total <= 0;
    // A cancel pressed for one job must not disable it for the next.
    const job = total > 0 ? String(p.label ?? "") : null;
    if (job !== progressJob) cancel.disabled = false;
    progressJob = job;
    if (total <= 0) return;
    progressBar.max = total;
    progressBar.value = Math.min(Number(p.value) || 0, total);
    progressLabel.textContent = `${p.label ?? ""} ${Number(p.value) || 0}/${total}`.trim();
  }

  subs.on("change:n_samples", () => layout(model.get("n_samples")));
  subs.on("change:columns", showColumns);
  subs.on("change:busy", showBusy);
  subs.on("change:progress", showProgress);
  layout(model.get("n_samples"));
  showColumns();
  showBusy();
  showProgress();

  /** Decode a frame's image bytes: ImageBitmap where available, else an <img>. */
  async function decode(msg, buffers) {
    const blob = new Blob([buffers[0]], { type: msg.mime || "image/png" });
    if (typeof createImageBitmap === "function") {
      try {
        return await createImageBitmap(blob);
      } catch {
        // Some browsers refuse certain blobs; the <img> path below still works.
      }
    }
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } finally {
      // A decoded image keeps its pixels; the URL would only leak the blob.
      URL.revokeObjectURL(url);
    }
    return img;
  }

  /** Cut the sprite into the cells. */
  function paint(image, msg) {
    const cell = Number(msg.cell);
    const columns = Math.max(1, Number(msg.columns) || 1);
    layout(msg.count);
    canvases.forEach((canvas, i) => {
      if (canvas.width !== cell) canvas.width = cell;
      if (canvas.height !== cell) canvas.height = cell;
      const ctx = canvas.getContext("2d");
      if (!ctx) return;
      const sx = (i % columns) * cell;
      const sy = Math.floor(i / columns) * cell;
      ctx.drawImage(image, sx, sy, cell, cell, 0, 0, cell, cell);
    });
    showSeeds(msg.seed, canvases.length - (Array.isArray(msg.reals) ? msg.reals.length : 0));
    discard(image);
    for (const fn of paintListeners) fn(msg);
  }

  /** Cell i < samples shows sample seed + i (the kernel draws sample i from seed + i);
   * the cells after them (real images) are captioned by reals.js. */
  function showSeeds(first, samples) {
    const known = Number.isInteger(first);
    seeds.forEach((caption, i) => {
      caption.title = "";
      caption.hidden = !known || i >= samples;
      caption.textContent = known && i < samples ? `seed ${first + i}` : "";
    });
  }

  function discard(image) {
    image?.close?.();
  }

  return {
    el,
    decode,
    paint,
    discard,
    get cells() {
      return canvases;
    },
    /** The cells' wrappers (`cell-wrap-{i}`), one per canvas. */
    get wraps() {
      return wraps;
    },
    /** Call fn(frame message) after each frame is painted; returns the unsubscribe. */
    onPaint(fn) {
      paintListeners.add(fn);
      return () => paintListeners.delete(fn);
    },
    /** Call fn(wraps) whenever cells are added or removed; returns the unsubscribe. */
    onLayout(fn) {
      layoutListeners.add(fn);
      return () => layoutListeners.delete(fn);
    },
    destroy() {
      layoutListeners.clear();
      paintListeners.clear();
    },
  };
}
