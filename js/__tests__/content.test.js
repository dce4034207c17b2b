// Moving the content by hand (content.js): what a drag, a Shift+drag and the wheel
// inside a cell send, that increments add up to the whole gesture whatever the frame
// rate, and the amounts the kernel computed shown on the handles and the cells.
import { afterEach, describe, expect, it, vi } from "vitest";
import { WHEEL_END_MS, WHEEL_RATIO_PER_PX } from "../content.js";
import { DIRECTIONS, FACTORS, box, frame, mount, pointer, tick } from "./harness.js";

const WITH_FACTORS = {
  directions: [...DIRECTIONS, ...FACTORS], alphas: [0, 0, 0, 0, 0, 0],
  layers: [[0], [0], [2], [0], [0], [0]], active: [0, 3, 4, 5],
};

function setup(traits = WITH_FACTORS) {
  const m = mount(traits);
  box(m.$("cell-1"), { left: 200, top: 0, width: 200, height: 200 });
  return m;
}

const sum = (msgs, key) => msgs.reduce((s, m) => s + m[key], 0);

afterEach(() => vi.useRealTimers());

describe("moving the content", () => {
  it("a drag right and down sends the increments in image fractions, once per frame, then a final one", () => {
    const { $, model, raf } = setup();
    pointer($("cell-1"), "pointerdown", { x: 300, y: 100 });
    pointer($("cell-1"), "pointermove", { x: 310, y: 100 });
    pointer($("cell-1"), "pointermove", { x: 320, y: 110 }); // same frame: added up
    expect(model.sentOf("shift_content")).toHaveLength(0);
    raf.flush();
    pointer($("cell-1"), "pointermove", { x: 340, y: 120 });
    raf.flush();
    pointer($("cell-1"), "pointerup", { x: 360, y: 120 });
    const sent = model.sentOf("shift_content");
    expect(sent.map((m) => m.final)).toEqual([false, false, true]);
    expect(sent.every((m) => m.cell === 1 && m.scope === "all" && Number.isInteger(m.seq))).toBe(true);
    expect(sent[0]).toMatchObject({ dx: 0.1, dy: 0.05 });
    // The whole gesture arrives: 60 px right and 20 px down of a 200 px cell.
    expect(sum(sent, "dx")).toBeCloseTo(0.3, 10);
    expect(sum(sent, "dy")).toBeCloseTo(0.1, 10);
    // Seqs grow: the frames come back in the renderer's order.
    expect(sent.map((m) => m.seq)).toEqual([...sent.map((m) => m.seq)].sort((a, b) => a - b));
  });

  it("with 'only this cell' ticked, the move is the cell's own", () => {
    const { $, model } = setup();
    $("content-only-cell").click();
    pointer($("cell-1"), "pointerdown", { x: 300, y: 100 });
    pointer($("cell-1"), "pointerup", { x: 280, y: 100 });
    expect(model.sentOf("shift_content")).toEqual([expect.objectContaining({ cell: 1, dx: -0.1, dy: 0, scope: "cell", final: true })]);
  });

  it("Shift+drag turns about the cell's centre: a quarter turn counter-clockwise is +90°", () => {
    const { $, model, raf } = setup();
    const shift = (type, x, y) => $("cell-1").dispatchEvent(
      new PointerEvent(type, { clientX: x, clientY: y, pointerId: 3, button: 0, shiftKey: true, bubbles: true, cancelable: true }));
    shift("pointerdown", 400, 100); // right of the centre (300, 100)
    shift("pointermove", 371, 29); // up-right: 45°
    raf.flush();
    shift("pointermove", 300, 0); // straight up: 90°
    shift("pointerup", 300, 0);
    const sent = model.sentOf("turn_content");
    expect(sent.map((m) => m.final)).toEqual([false, true]);
    expect(sum(sent, "degrees")).toBeCloseTo(90, 5);
    expect(model.sentOf("shift_content")).toHaveLength(0);
  });

  it("the wheel zooms in (up) by ratios that multiply, and commits once it stops", () => {
    vi.useFakeTimers();
    const { $, model, raf } = setup();
    const wheel = (deltaY) => $("cell-1").dispatchEvent(new WheelEvent("wheel", { deltaY, bubbles: true, cancelable: true }));
    wheel(-100);
    wheel(-100);
    raf.flush();
    wheel(-100);
    expect(model.sentOf("zoom_content").map((m) => m.final)).toEqual([false]);
    vi.advanceTimersByTime(WHEEL_END_MS + 1);
    const sent = model.sentOf("zoom_content");
    expect(sent.map((m) => m.final)).toEqual([false, true]);
    expect(sent[0].ratio).toBeCloseTo(Math.exp(200 * WHEEL_RATIO_PER_PX), 10);
    expect(sent[0].ratio * sent[1].ratio).toBeCloseTo(Math.exp(300 * WHEEL_RATIO_PER_PX), 10);
  });

  it("without a factor for it, a gesture sends nothing and the bar says what to fit", () => {
    const { $, model, raf } = setup({});
    pointer($("cell-1"), "pointerdown", { x: 300, y: 100 });
    pointer($("cell-1"), "pointermove", { x: 340, y: 100 });
    raf.flush();
    pointer($("cell-1"), "pointerup", { x: 340, y: 100 });
    const wheel = new WheelEvent("wheel", { deltaY: -100, bubbles: true, cancelable: true });
    $("cell-1").dispatchEvent(wheel);
    expect(wheel.defaultPrevented).toBe(false); // the page scrolls as usual
    expect(model.sent.filter((m) => m.kind.endsWith("_content"))).toEqual([]);
    expect($("content-hint").textContent).toMatch(/fit a factor/);
    expect($("grid").closest(".sw-grid").dataset.content).toBe("none");
  });

  it("a press on a cell's buttons is not a drag", () => {
    const { $, model, raf } = setup({ ...WITH_FACTORS, attribute: "smile" });
    pointer($("label-pos-1"), "pointerdown", { x: 300, y: 100 });
    pointer($("label-pos-1"), "pointermove", { x: 340, y: 100 });
    raf.flush();
    pointer($("label-pos-1"), "pointerup", { x: 340, y: 100 });
    expect(model.sentOf("shift_content")).toEqual([]);
  });

  it("the fit button asks the kernel for the chosen transformation", () => {
    const { $, model } = setup({});
    $("fit-factor-transform").value = "zoom";
    $("fit-factor").click();
    expect(model.sentOf("fit_factor")).toEqual([{ kind: "fit_factor", transform: "zoom" }]);
  });

  it("handles show the kernel's amounts in the transformation's units, and the clamp", async () => {
    const { $, model } = setup();
    expect($("alpha-3").textContent).toBe("0.00"); // before any frame: α
    const [meta, buffers] = frame(1);
    model.event({ ...meta, amounts: [{ id: 14, t: 0.2, text: "+13 px" }, { id: 15, t: 0.25, text: "+22° · max" }], cell_amounts: [{ cell: 2, text: "zoom ×1.10" }] }, buffers);
    await tick();
    expect($("alpha-3").textContent).toBe("+13 px");
    expect($("alpha-4").textContent).toBe("+22° · max");
    expect($("alpha-4").classList.contains("sw-at-limit")).toBe(true);
    expect($("alpha-3").classList.contains("sw-at-limit")).toBe(false);
    expect($("alpha-0").textContent).toBe("0.00"); // not a factor: α as before
    expect($("handle-3").getAttribute("aria-valuetext")).toBe("+13 px");
    expect($("cell-amount-2").textContent).toBe("zoom ×1.10");
    model.event(...frame(2));
    await tick();
    expect($("cell-amount-2")).toBeNull();
  });
});
