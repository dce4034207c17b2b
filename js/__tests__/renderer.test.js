import { describe, expect, it, vi } from "vitest";
import { createRenderer } from "../renderer.js";
import { fakeAnimationFrames, frame, mount, MockModel, tick } from "./harness.js";

function standalone() {
  const raf = fakeAnimationFrames();
  const model = new MockModel();
  const root = document.createElement("div");
  const painted = [];
  const grid = { decode: vi.fn(async (msg) => ({ seq: msg.seq, close: vi.fn() })), paint: (img) => painted.push(img.seq) };
  const renderer = createRenderer(model, root, grid);
  return { raf, model, root, grid, painted, renderer };
}

describe("renderer", () => {
  it("sends at most one render per animation frame, with the newest α", () => {
    const { raf, model, renderer } = standalone();
    renderer.request([0.1], false);
    renderer.request([0.2], false);
    renderer.request([0.3], false);
    expect(model.sentOf("render")).toEqual([]);
    raf.flush();
    expect(model.sentOf("render")).toEqual([{ kind: "render", seq: 1, alphas: [0.3], ids: [11], final: false }]);
    renderer.request([0.4], false);
    raf.flush();
    expect(model.sentOf("render").map((m) => m.seq)).toEqual([1, 2]);
  });

  it("sends a final request at once and drops the coalesced one before it", () => {
    const { raf, model, renderer, root } = standalone();
    renderer.request([1], false);
    renderer.request([2], true);
    expect(model.sentOf("render")).toEqual([{ kind: "render", seq: 1, alphas: [2], ids: [11], final: true }]);
    raf.flush();
    expect(model.sentOf("render")).toHaveLength(1);
    expect(root.getAttribute("data-sent-seq")).toBe("1");
  });

  it("numbers requests above the kernel's render_seq (other views, kernel-pushed frames)", () => {
    const { model, renderer } = standalone();
    model.kernelSet("render_seq", 41);
    renderer.request([0], true);
    expect(model.sentOf("render")[0].seq).toBe(42);
  });

  it("draws newer frames, drops stale ones, and sets data-render-seq", async () => {
    const { root, painted, renderer } = standalone();
    expect(root.getAttribute("data-render-seq")).toBe("0");
    await renderer.onFrame(...frame(2));
    expect(root.getAttribute("data-render-seq")).toBe("2");
    await renderer.onFrame(...frame(1));
    await renderer.onFrame(...frame(2));
    expect(painted).toEqual([2]);
    expect(renderer.shownSeq).toBe(2);
  });

  it("drops a frame that finished decoding after a newer one was drawn", async () => {
    const { grid, painted, renderer } = standalone();
    let releaseSlow;
    grid.decode.mockImplementationOnce((msg) => new Promise((r) => (releaseSlow = () => r({ seq: msg.seq, close: vi.fn() }))));
    const slow = renderer.onFrame(...frame(3));
    await renderer.onFrame(...frame(4));
    releaseSlow();
    await slow;
    expect(painted).toEqual([4]);
  });

  it("numbers the requests that change the image from the same counter", () => {
    const { model, renderer, root } = standalone();
    renderer.request([1], true);
    renderer.send("undo");
    renderer.send("set_layers", { direction: 0, layers: [1] });
    renderer.send("set_pad", { pair: [0, 1] });
    expect(model.sent).toEqual([
      { kind: "render", seq: 1, alphas: [1], ids: [11], final: true },
      { kind: "undo", seq: 2 },
      { kind: "set_layers", seq: 3, direction: 0, layers: [1] },
      { kind: "set_pad", pair: [0, 1] },
    ]);
    expect(root.getAttribute("data-sent-seq")).toBe("3");
    expect(() => renderer.send("no_such_kind")).toThrow(/unknown request kind/);
  });

  it("a numbered request drops a coalesced render still waiting for its frame", () => {
    const { raf, model, renderer } = standalone();
    renderer.request([1], false);
    renderer.send("reset");
    raf.flush();
    expect(model.sent).toEqual([{ kind: "reset", seq: 1 }]);
  });

  it("awaits its newest render until its frame arrives or an error names it", async () => {
    const { renderer } = standalone();
    const settled = vi.fn();
    renderer.onSettled(settled);
    expect(renderer.awaitingRender()).toBe(false);
    renderer.request([1], true);
    expect(renderer.awaitingRender()).toBe(true);
    await renderer.onFrame(...frame(1));
    expect(renderer.awaitingRender()).toBe(false);
    expect(settled).toHaveBeenCalledTimes(1);
    renderer.request([2], true);
    renderer.onError(null);
    expect(renderer.awaitingRender()).toBe(false);
    renderer.send("undo"); // not a render: the kernel's alphas are news, not echoes
    expect(renderer.awaitingRender()).toBe(false);
  });

  it("in the widget: asks for a first frame at rest and shows frame events", async () => {
    const { model, root } = mount();
    expect(model.sentOf("render")).toEqual([{ kind: "render", seq: 1, alphas: [0, 0, 0], ids: [11, 12, 13], final: true }]);
    model.event(...frame(1));
    await tick();
    expect(root.getAttribute("data-render-seq")).toBe("1");
  });
});
