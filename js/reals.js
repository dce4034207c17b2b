// Real images on the grid. Image files dropped on the grid, or picked with the
// "add images" button, go to the kernel, which inverts them into the generator's
// latent space and shows each as a cell after the samples (see _reals.py). Such a
// cell is captioned with its name and the reconstruction's PSNR, and has two
// buttons: show the image it was fitted to instead of the reconstruction, and take
// it off the grid. Everything else (handles, pad, heatmap, labels) edits it like a
// sample, because to the kernel it is one more latent.
import { h } from "./dom.js";
import { SCHEMA } from "./messages.js";

const LIMITS = SCHEMA.requests.invert.buffers; // files per request, bytes per file

/**
 * @param {any} grid  grid.js: its element receives drops, its wraps get the buttons
 * @param {(kind: string, fields?: object, buffers?: ArrayBuffer[]) => void} send
 * @param {(text: string) => void} showError
 */
export function createReals(grid, send, showError) {
  const input = h("input", {
    type: "file", accept: "image/*", multiple: true, hidden: true, "data-testid": "image-input",
    onchange: () => {
      void sendFiles([...input.files]);
      input.value = ""; // the same file again is a new request
    },
  });
  const add = h("button", {
    type: "button", class: "sw-button", "data-testid": "add-images", text: "add images",
    title: "Invert image files into the model's latent space and edit them like samples (or drop files on the grid)",
    onclick: () => input.click(),
  });
  const el = h("span", { class: "sw-reals" }, add, input);

  let reals = []; // per real cell, in grid order: {uid, name, psnr, original}
  let first = 0; // index of the first real cell
  const originals = new Map(); // uid -> decoded image the cell was fitted to
  const showing = new Set(); // uids whose cell shows the original
  const reconstructions = new Map(); // uid -> copy of the frame's cell, to show again

  async function sendFiles(files) {
    const images = files.filter((f) => f.type.startsWith("image/") || !f.type);
    if (images.length === 0) return;
    if (images.length > LIMITS.max) {
      showError(`at most ${LIMITS.max} images at a time; got ${images.length}`);
      return;
    }
    const big = images.find((f) => f.size > LIMITS.max_bytes);
    if (big) {
      showError(`${big.name} is ${(big.size / 2 ** 20).toFixed(1)} MB; at most ${LIMITS.max_bytes / 2 ** 20} MB per image`);
      return;
    }
    const buffers = await Promise.all(images.map((f) => f.arrayBuffer()));
    send("invert", { names: images.map((f) => f.name) }, buffers);
  }

  // Drops anywhere on the grid; the browser must not open the file instead.
  const target = grid.el;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes("Files");
  target.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    target.classList.add("sw-dropping");
  });
  target.addEventListener("dragleave", () => target.classList.remove("sw-dropping"));
  target.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    target.classList.remove("sw-dropping");
    void sendFiles([...(e.dataTransfer?.files ?? [])]);
  });

  function toggle(uid) {
    if (showing.has(uid)) showing.delete(uid);
    else showing.add(uid);
    if (showing.has(uid) && !originals.has(uid)) send("original", { uid });
    draw();
  }

  /** Caption and buttons of the real cells of a frame just painted; originals over toggled ones. */
  function afterPaint(msg) {
    reals = Array.isArray(msg.reals) ? msg.reals : [];
    first = (Number(msg.count) || 0) - reals.length;
    const live = new Set(reals.map((r) => r.uid));
    for (const uid of [...originals.keys()]) if (!live.has(uid)) originals.delete(uid);
    for (const uid of [...showing]) if (!live.has(uid)) showing.delete(uid);
    reconstructions.clear();
    grid.wraps.forEach((wrap, i) => {
      const real = i >= first ? reals[i - first] : null;
      wrap.querySelector(".sw-real-bar")?.remove();
      if (!real) {
        wrap.removeAttribute("data-real");
        return;
      }
      wrap.setAttribute("data-real", String(real.uid));
      const caption = wrap.querySelector(".sw-cell-seed");
      if (caption) {
        caption.hidden = false;
        caption.textContent = `${real.name} · ${Number(real.psnr).toFixed(1)} dB`;
        caption.title = "a real image, shown as its reconstruction from the latent the inversion found (PSNR)";
      }
      const canvas = grid.cells[i];
      if (canvas) {
        const copy = h("canvas", { width: canvas.width, height: canvas.height });
        copy.getContext("2d")?.drawImage(canvas, 0, 0);
        reconstructions.set(real.uid, copy);
      }
      wrap.append(h("div", { class: "sw-real-bar" },
        h("button", {
          type: "button", class: "sw-real-button sw-real-toggle", "data-testid": `real-original-${i}`,
          disabled: !real.original,
          title: real.original ? "Toggle between the reconstruction (edited) and the original image"
            : "The original was not saved with the annotations",
          onclick: () => toggle(real.uid),
        }),
        h("button", {
          type: "button", class: "sw-real-button", "data-testid": `real-remove-${i}`, text: "×",
          "aria-label": "remove this image", title: "Take this image off the grid (undo brings it back)",
          onclick: () => send("remove_image", { uid: real.uid }),
        })));
    });
    draw();
  }

  /** Each real cell shows the original (when toggled and here) or the reconstruction. */
  function draw() {
    reals.forEach((real, k) => {
      const i = first + k;
      const canvas = grid.cells[i];
      const original = showing.has(real.uid) ? originals.get(real.uid) : null;
      const image = original ?? reconstructions.get(real.uid);
      if (canvas && image) canvas.getContext("2d")?.drawImage(image, 0, 0, canvas.width, canvas.height);
      const button = grid.wraps[i]?.querySelector(".sw-real-toggle");
      if (button) {
        button.textContent = original ? "edited" : "original";
        button.setAttribute("aria-pressed", String(Boolean(original)));
      }
      grid.wraps[i]?.setAttribute("data-showing", original ? "original" : "reconstruction");
    });
  }

  /** An `original` event: the image a real cell was fitted to. */
  async function onOriginal(msg, buffers) {
    originals.set(msg.uid, await grid.decode({ mime: "image/png" }, buffers));
    draw();
  }

  return { el, afterPaint, onOriginal, sendFiles };
}
