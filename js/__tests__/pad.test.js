import { describe, expect, it } from "vitest";
import { box, mount, pointer } from "./harness.js";

describe("pad", () => {
  it("drags two directions at once, y up, with a final render on pointerup", () => {
    const { $, model, raf } = mount({ pad: [0, 1] });
    const pad = $("pad");
    box(pad, { left: 0, top: 0, width: 160, height: 160 });
    pointer(pad, "pointerdown", { x: 120, y: 40 }); // right and up: +extent/2 each
    raf.flush();
    expect(model.sentOf("render").at(-1)).toEqual({ kind: "render", seq: 2, alphas: [2, 1.5, 0], ids: [11, 12, 13], final: false });
    pointer(pad, "pointerup", { x: 0, y: 160 });
    expect(model.sentOf("render").at(-1)).toEqual({ kind: "render", seq: 3, alphas: [-4, -3, 0], ids: [11, 12, 13], final: true });
    expect($("pad-knob").style.left).toBe("0%");
    expect($("pad-knob").style.top).toBe("100%");
  });

  it("uses the pair from the trait, labels the axes, and sends set_pad", () => {
    const { $, model } = mount({ pad: [2, 0] });
    expect($("pad-x").value).toBe("2");
    expect($("pad-y").value).toBe("0");
    expect($("pad-label-x").textContent).toBe("hair");
    expect($("pad-label-y").textContent).toBe("age");
    $("pad-x").value = "1";
    $("pad-x").dispatchEvent(new Event("change"));
    expect(model.sentOf("set_pad")).toEqual([{ kind: "set_pad", pair: [1, 0] }]);
    $("pad-x").value = "0"; // the y direction: the two swap
    $("pad-x").dispatchEvent(new Event("change"));
    expect(model.sentOf("set_pad").at(-1)).toEqual({ kind: "set_pad", pair: [0, 2] });
    model.kernelSet("pad", [1, 2]);
    expect($("pad-label-x").textContent).toBe("smile");
  });

  it("is hidden with fewer than two directions", () => {
    const { $, model } = mount();
    expect($("pad-section").hidden).toBe(false);
    model.kernelSet("directions", model.get("directions").slice(0, 1));
    expect($("pad-section").hidden).toBe(true);
  });
});
