import { describe, expect, it, vi } from "vitest";
import { createGrid } from "../grid.js";
import { subscriptions } from "../model.js";
import { frame, MockModel, mount, tick } from "./harness.js";

// The canvases (as the browser test finds them), not their cell-wrap-{i} wrappers.
const cells = (root) => [...root.querySelectorAll('[data-testid="grid"] canvas[data-testid^="cell-"]')];

describe("grid", () => {
  it("has one canvas per sample, sized to the resolution, columns from the trait", () => {
    const { root, $, model } = mount({ n_samples: 6, columns: 3, resolution: 32 });
    expect(cells(root).map((c) => c.dataset.testid)).toEqual(["cell-0", "cell-1", "cell-2", "cell-3", "cell-4", "cell-5"]);
    expect(cells(root)[0].width).toBe(32);
    expect($("grid").style.getPropertyValue("--sw-columns")).toBe("3");
    model.kernelSet("n_samples", 4);
    model.kernelSet("columns", 2);
    expect(cells(root)).toHaveLength(4);
    expect($("grid").style.getPropertyValue("--sw-columns")).toBe("2");
  });

  it("wraps each canvas in a cell-wrap-{i}, in order", () => {
    const { root, $, model } = mount({ n_samples: 3 });
    expect([...$("grid").children].map((c) => c.dataset.testid)).toEqual(["cell-wrap-0", "cell-wrap-1", "cell-wrap-2"]);
    expect($("cell-wrap-1").querySelector("canvas")).toBe($("cell-1"));
    model.kernelSet("n_samples", 1);
    expect(root.querySelectorAll('[data-testid^="cell-wrap-"]')).toHaveLength(1);
  });

  it("decodes a frame once and draws each cell's region of the sprite", async () => {
    const { root, model, images } = mount();
    model.event(...frame(1, { count: 6, columns: 3, cell: 16, mime: "image/jpeg" }));
    await tick();
    expect(images.bitmaps).toHaveLength(1);
    expect(images.bitmaps[0].blob.type).toBe("image/jpeg");
    const canvases = cells(root);
    expect(canvases[0].width).toBe(16);
    const drawn = canvases.map((c) => images.contexts.get(c).drawImage.mock.calls[0].slice(1, 5));
    expect(drawn).toEqual([[0, 0, 16, 16], [16, 0, 16, 16], [32, 0, 16, 16], [0, 16, 16, 16], [16, 16, 16, 16], [32, 16, 16, 16]]);
    expect(images.bitmaps[0].close).toHaveBeenCalled();
  });

  it("follows the frame's count when it differs from n_samples", async () => {
    const { root, model } = mount({ n_samples: 6 });
    model.event(...frame(1, { count: 8, columns: 4 }));
    await tick();
    expect(cells(root)).toHaveLength(8);
  });

  it("falls back to an <img> when createImageBitmap is missing, revoking its URL", async () => {
    const { model, images } = mount();
    vi.stubGlobal("createImageBitmap", undefined);
    const revoke = vi.spyOn(URL, "revokeObjectURL");
    vi.spyOn(HTMLImageElement.prototype, "decode").mockResolvedValue(undefined);
    model.event(...frame(1));
    await tick();
    await tick();
    expect(revoke).toHaveBeenCalledTimes(1);
    const calls = [...images.contexts.values()].map((c) => c.drawImage.mock.calls.length);
    expect(calls.every((n) => n === 1)).toBe(true);
    expect([...images.contexts.values()][0].drawImage.mock.calls[0][0]).toBeInstanceOf(HTMLImageElement);
  });

  it("shows the spinner while busy and a progress bar when progress has a total", () => {
    const { $, model } = mount();
    expect($("spinner").hidden).toBe(true);
    expect($("progress").hidden).toBe(true);
    model.kernelSet("busy", true);
    expect($("spinner").hidden).toBe(false);
    model.kernelSet("progress", { label: "sefa", value: 2, total: 5 });
    expect($("progress").hidden).toBe(false);
    expect($("progress-bar").value).toBe(2);
    expect($("progress").textContent).toContain("sefa 2/5");
    model.kernelSet("busy", false);
    model.kernelSet("progress", {});
    expect($("spinner").hidden).toBe(true);
    expect($("progress").hidden).toBe(true);
  });

  it("captions each cell with its seed: the frame's first seed + i", async () => {
    const { $, model } = mount({ n_samples: 3 });
    expect($("cell-seed-0").hidden).toBe(true); // no frame yet
    const [msg, buffers] = frame(1, { count: 3 });
    model.event({ ...msg, seed: 12 }, buffers);
    await tick();
    expect(["cell-seed-0", "cell-seed-1", "cell-seed-2"].map((id) => [$(id).hidden, $(id).textContent]))
      .toEqual([[false, "seed 12"], [false, "seed 13"], [false, "seed 14"]]);
    expect($("cell-wrap-1").contains($("cell-seed-1"))).toBe(true);
    model.event({ ...frame(2, { count: 3 })[0], seed: null }, buffers);
    await tick();
    expect($("cell-seed-0").hidden).toBe(true);
    model.event({ ...frame(3, { count: 3 })[0], seed: 2.5 }, buffers);
    await tick();
    expect($("cell-seed-2").hidden).toBe(true);
  });

  it("the progress bar's cancel button sends cancel, once per job", () => {
    const { $, model } = mount({ progress: { label: "sefa", value: 1, total: 5 } });
    const cancel = $("progress-cancel");
    expect($("progress").contains(cancel)).toBe(true);
    expect(cancel.textContent).toBe("cancel");
    expect(cancel.hidden).toBe(false);
    cancel.click();
    expect(model.sentOf("cancel")).toEqual([{ kind: "cancel" }]);
    expect(cancel.disabled).toBe(true);
    model.kernelSet("progress", { label: "sefa", value: 2, total: 5 });
    expect(cancel.disabled).toBe(true);
    model.kernelSet("progress", {});
    model.kernelSet("progress", { label: "heatmap", value: 0, total: 3 });
    expect(cancel.disabled).toBe(false);
  });

  it("createGrid without onCancel shows no cancel button", () => {
    const model = new MockModel({ progress: { label: "sefa", value: 1, total: 5 } });
    const grid = createGrid(model, subscriptions(model));
    expect(grid.el.querySelector('[data-testid="progress-cancel"]').hidden).toBe(true);
    const onCancel = vi.fn();
    const withCancel = createGrid(model, subscriptions(model), { onCancel });
    withCancel.el.querySelector('[data-testid="progress-cancel"]').click();
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});
