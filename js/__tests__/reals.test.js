// Real images on the grid: files dropped or picked go to the kernel with their names;
// real cells are captioned with name and PSNR, can show their original and be removed.
import { describe, expect, it } from "vitest";
import { dropFiles, frame, mount, tick } from "./harness.js";
import { SCHEMA } from "../messages.js";

const png = (name, bytes = 16) => new File([new Uint8Array(bytes)], name, { type: "image/png" });
const REAL = { uid: 41, name: "me.png", psnr: 29.456, original: true };

describe("real images", () => {
  it("a drop sends one invert request with each file's name and bytes", async () => {
    const { $, model } = mount();
    await dropFiles($("grid"), [png("a.png", 10), png("b.png", 20)]);
    const sent = model.sentOf("invert");
    expect(sent).toHaveLength(1);
    expect(sent[0].names).toEqual(["a.png", "b.png"]);
    expect(Number.isInteger(sent[0].seq)).toBe(true);
    const buffers = model.buffers[model.sent.indexOf(sent[0])];
    expect(buffers.map((b) => b.byteLength)).toEqual([10, 20]);
  });

  it("the add-images button picks files the same way", async () => {
    const { $, model } = mount();
    const input = $("image-input");
    Object.defineProperty(input, "files", { value: [png("c.jpg", 5)], configurable: true });
    input.dispatchEvent(new Event("change"));
    for (let i = 0; i < 5; i++) await tick();
    expect(model.sentOf("invert").map((m) => m.names)).toEqual([["c.jpg"]]);
  });

  it("too many or too large files are refused on the page, with a message", async () => {
    const { $, model } = mount();
    const many = Array.from({ length: SCHEMA.requests.invert.buffers.max + 1 }, (_, i) => png(`${i}.png`));
    await dropFiles($("grid"), many);
    expect(model.sentOf("invert")).toHaveLength(0);
    expect($("error").hidden).toBe(false);
    expect($("error-message").textContent).toMatch(/at most 8 images/);
    const huge = png("huge.png");
    Object.defineProperty(huge, "size", { value: SCHEMA.requests.invert.buffers.max_bytes + 1 });
    await dropFiles($("grid"), [huge]);
    expect(model.sentOf("invert")).toHaveLength(0);
    expect($("error-message").textContent).toMatch(/huge\.png is .* MB/);
  });

  it("a drag without files (text, a handle) is not taken as a drop", async () => {
    const { $, model } = mount();
    const event = new Event("drop", { bubbles: true, cancelable: true });
    Object.defineProperty(event, "dataTransfer", { value: { types: ["text/plain"], files: [] } });
    $("grid").dispatchEvent(event);
    expect(event.defaultPrevented).toBe(false);
    expect(model.sentOf("invert")).toHaveLength(0);
  });

  it("real cells come after the samples, captioned with name and PSNR; samples keep their seeds", async () => {
    const { $, model } = mount({ n_samples: 2 });
    model.event({ ...frame(1, { count: 3, reals: [REAL] })[0], seed: 10 }, [new Uint8Array([1])]);
    await tick();
    expect($("cell-seed-0").textContent).toBe("seed 10");
    expect($("cell-seed-1").textContent).toBe("seed 11");
    expect($("cell-seed-2").textContent).toBe("me.png · 29.5 dB");
    expect($("cell-wrap-2").getAttribute("data-real")).toBe("41");
    expect($("cell-wrap-1").hasAttribute("data-real")).toBe(false);
    // Taken off again: the cell goes, and so do its buttons.
    model.event({ ...frame(2, { count: 2, reals: [] })[0], seed: 10 }, [new Uint8Array([1])]);
    await tick();
    expect($("cell-wrap-2")).toBeNull();
    expect($("real-remove-2")).toBeNull();
  });

  it("remove asks the kernel (numbered: the grid changes); the toggle shows the original and back", async () => {
    const { $, model, images } = mount({ n_samples: 2 });
    model.event(...frame(1, { count: 3, reals: [REAL] }));
    await tick();
    $("real-remove-2").click();
    expect(model.sentOf("remove_image")).toEqual([expect.objectContaining({ uid: 41, seq: expect.any(Number) })]);

    const canvas = $("cell-2");
    const draws = images.contexts.get(canvas).drawImage;
    $("real-original-2").click();
    expect(model.sentOf("original")).toEqual([{ kind: "original", uid: 41 }]);
    model.event({ kind: "original", uid: 41 }, [new Uint8Array([9])]);
    for (let i = 0; i < 3; i++) await tick();
    const original = images.bitmaps.at(-1);
    expect(draws.mock.calls.at(-1)[0]).toBe(original);
    expect($("cell-wrap-2").getAttribute("data-showing")).toBe("original");
    expect($("real-original-2").getAttribute("aria-pressed")).toBe("true");
    // Back to the reconstruction: no new request, the copy of the frame's cell is drawn.
    $("real-original-2").click();
    expect(model.sentOf("original")).toHaveLength(1);
    expect(draws.mock.calls.at(-1)[0]).not.toBe(original);
    expect($("cell-wrap-2").getAttribute("data-showing")).toBe("reconstruction");
    // Toggled on again, it comes from the page's copy; a new frame keeps showing it.
    $("real-original-2").click();
    model.event(...frame(2, { count: 3, reals: [REAL] }));
    await tick();
    expect(model.sentOf("original")).toHaveLength(1);
    expect(draws.mock.calls.at(-1)[0]).toBe(original);
  });

  it("a real cell loaded without its photo cannot toggle", async () => {
    const { $, model } = mount({ n_samples: 1 });
    model.event(...frame(1, { count: 2, reals: [{ ...REAL, original: false }] }));
    await tick();
    expect($("real-original-1").disabled).toBe(true);
  });
});
