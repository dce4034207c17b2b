// A mock anywidget model and helpers to mount the widget in happy-dom, with
// animation frames, image decoding and canvases under the test's control.
import { afterEach, vi } from "vitest";
import widget from "../widget.js";

export const DIRECTIONS = [
  { id: 11, label: "age", method: "sefa", score: 12.345, space: "w", latent: true, sigma: null, extent: 4, notes: "" },
  { id: 12, label: "smile", method: "ganspace", score: 0.0123, space: "w", latent: true, sigma: 2.5, extent: 3, notes: "" },
  { id: 13, label: "hair", method: "sefa", score: 3, space: "w", latent: true, sigma: null, extent: 5, notes: "" },
];

/** Continuous factors as the kernel describes them: α is the step g(t), `steps` its fitted range. */
export const FACTORS = [
  { id: 14, label: "shift_x", method: "continuous", score: 0.9, space: "w", latent: true, sigma: null, extent: 0.4, notes: "", factor: "shift_x", steps: [-0.39, 0.4] },
  { id: 15, label: "rotation", method: "continuous", score: 0.8, space: "w", latent: true, sigma: null, extent: 0.5, notes: "", factor: "rotation", steps: [-0.5, 0.5] },
  { id: 16, label: "zoom", method: "continuous", score: 0.8, space: "w", latent: true, sigma: null, extent: 0.6, notes: "", factor: "zoom", steps: [-0.6, 0.5] },
];

export const DEFAULT_TRAITS = {
  directions: DIRECTIONS,
  alphas: [0, 0, 0],
  active: [0, 1],
  layers: [[0, 1, 2, 3], [0, 1, 2, 3], [2]],
  pad: [0, 1],
  seed: 0,
  n_samples: 6,
  columns: 3,
  resolution: 32,
  heatmap: { columns: ["ws0", "ws1", "ws2", "ws3"], values: [[0.1, 0.5, 0.9, 0.3], [0.2, 0.2, 0.4, 0.1], [null, null, 0.7, null]], kind: "mean image change" },
  feature_layers: ["b8.conv0", "b16.conv1"],
  render_seq: 0,
  frame_checksum: 0,
  error: "",
  busy: false,
  progress: {},
  can_undo: false,
  can_redo: false,
  attribute: "",
  cell_labels: [0, 0, 0, 0, 0, 0],
  label_counts: {},
  attributes: [],
  annotations_path: "",
  comm_id: "",
};

export class MockModel {
  constructor(traits = {}) {
    this.traits = { ...structuredClone(DEFAULT_TRAITS), ...traits };
    this.handlers = new Map();
    this.sent = [];
    this.buffers = []; // per sent request, the binary buffers it carried (or undefined)
    this.rids = []; // the channel's request ids, kept apart so tests read the requests themselves
  }
  get(key) {
    return this.traits[key];
  }
  set(key, value) {
    this.traits[key] = value;
    this.emit(`change:${key}`);
  }
  save_changes() {}
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
  }
  off(event, fn) {
    if (fn) this.handlers.get(event)?.delete(fn);
    else this.handlers.delete(event);
  }
  send(content, _callbacks, buffers) {
    const { rid, ...request } = content;
    this.sent.push(request);
    this.buffers.push(buffers);
    this.rids.push(rid);
  }
  /** The kernel acknowledges every request so far (what its comm handler does first). */
  ackAll() {
    for (const rid of this.rids.splice(0)) this.event({ kind: "ack", rid });
  }
  emit(event, ...args) {
    for (const fn of [...(this.handlers.get(event) ?? [])]) fn(...args);
  }
  /** What the kernel does: change a trait (the front end sees change:key). */
  kernelSet(key, value) {
    this.set(key, value);
  }
  /** A custom message from the kernel. */
  event(msg, buffers = []) {
    this.emit("msg:custom", msg, buffers);
  }
  sentOf(kind) {
    return this.sent.filter((m) => m.kind === kind);
  }
  listenerCount() {
    return [...this.handlers.values()].reduce((n, s) => n + s.size, 0);
  }
}

/** Animation frames run only when the test calls flush(). */
export function fakeAnimationFrames() {
  let queue = new Map();
  let next = 1;
  vi.stubGlobal("requestAnimationFrame", (fn) => {
    queue.set(next, fn);
    return next++;
  });
  vi.stubGlobal("cancelAnimationFrame", (id) => queue.delete(id));
  return {
    flush() {
      const due = queue;
      queue = new Map();
      for (const fn of due.values()) fn(performance.now());
    },
    get pending() {
      return queue.size;
    },
  };
}

/** createImageBitmap and 2-D contexts that record what is drawn. */
export function fakeImages() {
  const contexts = new Map();
  const bitmaps = [];
  vi.stubGlobal("createImageBitmap", async (blob) => {
    const bitmap = { blob, close: vi.fn() };
    bitmaps.push(bitmap);
    return bitmap;
  });
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function () {
    if (!contexts.has(this)) contexts.set(this, { drawImage: vi.fn() });
    return contexts.get(this);
  });
  return { contexts, bitmaps };
}

const mounted = [];
afterEach(() => {
  for (const { cleanup, el } of mounted.splice(0)) {
    cleanup();
    el.remove();
  }
});

export function mount(traits = {}) {
  const raf = fakeAnimationFrames();
  const images = fakeImages();
  const model = new MockModel(traits);
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  const root = el.querySelector('[data-testid="semwidget"]');
  const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
  mounted.push({ cleanup, el });
  return { model, el, root, $, raf, images, cleanup };
}

/** Give an element a layout box (happy-dom does no layout). */
export function box(el, { left = 0, top = 0, width = 200, height = 20 } = {}) {
  el.getBoundingClientRect = () => ({ left, top, width, height, right: left + width, bottom: top + height, x: left, y: top });
}

export function pointer(el, type, { x = 0, y = 0, id = 1 } = {}) {
  el.dispatchEvent(new PointerEvent(type, { clientX: x, clientY: y, pointerId: id, button: 0, bubbles: true, cancelable: true }));
}

export function key(el, name, opts = {}) {
  el.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true, ...opts }));
}

/** A frame event as the kernel sends it. */
export function frame(seq, { count = 6, columns = 3, cell = 32, mime = "image/png", reals = [] } = {}) {
  return [{ kind: "frame", seq, mime, width: columns * cell, height: Math.ceil(count / columns) * cell, cell, columns, count, checksum: 0, reals }, [new Uint8Array([1, 2, 3])]];
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

/** Drop files on an element as a browser does (happy-dom has no DataTransfer), then let
 * the page read them. */
export async function dropFiles(el, files) {
  for (const type of ["dragover", "drop"]) {
    const event = new Event(type, { bubbles: true, cancelable: true });
    Object.defineProperty(event, "dataTransfer", { value: { types: ["Files"], files } });
    el.dispatchEvent(event);
  }
  for (let i = 0; i < 5; i++) await tick(); // File.arrayBuffer() resolves on later turns
}
