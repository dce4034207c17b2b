import { describe, expect, it } from "vitest";
import { box, frame, key, mount, pointer, tick } from "./harness.js";

const renders = (model) => model.sentOf("render").slice(1); // the first is the widget's initial request

describe("handles", () => {
  it("shows one handle per active direction with its range, origin and α text", () => {
    const { root, $ } = mount({ active: [0, 1], alphas: [1, -0.5, 0] });
    expect([...root.querySelectorAll('[role="slider"]')].map((k) => k.dataset.testid)).toEqual(["handle-0", "handle-1"]);
    expect($("handle-2")).toBeNull();
    expect($("handle-0").getAttribute("aria-valuemin")).toBe("-4");
    expect($("handle-0").getAttribute("aria-valuemax")).toBe("4");
    expect($("handle-0").getAttribute("aria-valuenow")).toBe("1");
    expect($("handle-0").style.left).toBe("62.5%");
    expect($("track-0").querySelector(".sw-origin")).not.toBeNull();
    expect($("alpha-0").textContent).toBe("+1.00");
    expect($("alpha-1").textContent).toBe("-0.50σ"); // smile has a sigma: α is in σ units
    expect($("handle-label-1").textContent).toBe("smile");
  });

  it("follows the active trait", () => {
    const { $, model } = mount({ active: [0] });
    model.kernelSet("active", [2]);
    expect($("handle-0")).toBeNull();
    expect($("handle-2")).not.toBeNull();
  });

  it("drags: coalesced renders while moving, a final one on pointerup", () => {
    const { $, model, raf } = mount({ active: [0, 1] });
    const track = $("track-0");
    box(track, { left: 100, width: 200 });
    pointer(track, "pointerdown", { x: 200 }); // the middle: α = 0
    pointer(track, "pointermove", { x: 250 }); // α = +2
    pointer(track, "pointermove", { x: 300 }); // α = +4 (extent)
    raf.flush();
    expect(renders(model)).toEqual([{ kind: "render", seq: 2, alphas: [4, 0, 0], ids: [11, 12, 13], final: false }]);
    pointer(track, "pointermove", { x: 400 }); // beyond the track: clamped
    pointer(track, "pointerup", { x: 150 }); // α = -2
    expect(renders(model).at(-1)).toEqual({ kind: "render", seq: 3, alphas: [-2, 0, 0], ids: [11, 12, 13], final: true });
    expect($("alpha-0").textContent).toBe("-2.00");
    raf.flush();
    expect(renders(model)).toHaveLength(2);
  });

  it("arrow keys step by extent/20 (×5 with Shift), Home resets; each is final", () => {
    const { $, model } = mount({ active: [1] });
    const knob = $("handle-1"); // extent 3: step 0.15
    key(knob, "ArrowRight");
    key(knob, "ArrowRight", { shiftKey: true });
    key(knob, "ArrowLeft");
    expect(renders(model).map((m) => [m.alphas[1], m.final])).toEqual([[0.15, true], [0.9, true], [0.75, true]]);
    key(knob, "Home");
    expect(renders(model).at(-1).alphas).toEqual([0, 0, 0]);
    key(knob, "a");
    expect(renders(model)).toHaveLength(4);
  });

  it("follows change:alphas (undo, reset) but not while dragging", async () => {
    const { $, model } = mount({ active: [0] });
    model.event(...frame(1));
    await tick();
    model.kernelSet("alphas", [2, 0, 0]);
    expect($("alpha-0").textContent).toBe("+2.00");
    const track = $("track-0");
    box(track, { left: 0, width: 200 });
    pointer(track, "pointerdown", { x: 150 });
    model.kernelSet("alphas", [-3, 0, 0]);
    expect($("alpha-0").textContent).toBe("+2.00");
  });

  it("ignores echoes of its own older renders, then follows undo", async () => {
    const { $, model } = mount({ active: [0] }); // extent 4: step 0.2
    model.event(...frame(1));
    await tick();
    key($("handle-0"), "ArrowRight"); // render seq 2
    key($("handle-0"), "ArrowRight"); // render seq 3
    model.kernelSet("alphas", [0.2, 0, 0]); // the kernel took seq 2 (it publishes α on a final render)
    expect($("alpha-0").textContent).toBe("+0.40");
    model.kernelSet("alphas", [0.4, 0, 0]); // seq 3
    model.event(...frame(3));
    await tick();
    expect($("alpha-0").textContent).toBe("+0.40");
    $("undo").click(); // seq 4
    model.kernelSet("alphas", [0.2, 0, 0]);
    expect($("alpha-0").textContent).toBe("+0.20");
  });

  it("reads the trait again once its render is answered", async () => {
    const { $, model } = mount({ active: [0] });
    key($("handle-0"), "End"); // not a handled key: nothing sent
    key($("handle-0"), "ArrowLeft"); // seq 2: -0.2
    model.kernelSet("alphas", [-0.25, 0, 0]); // e.g. the kernel rounded it
    expect($("alpha-0").textContent).toBe("-0.20");
    model.event(...frame(2));
    await tick();
    expect($("alpha-0").textContent).toBe("-0.25");
  });
});
