import { describe, expect, it } from "vitest";
import { MIN_LABELS } from "../labels.js";
import { frame, key, mount, tick } from "./harness.js";

const labelled = { attribute: "smile", label_counts: { smile: [2, 1] } };

describe("labelling", () => {
  it("the buttons show only once an attribute is named", () => {
    const { $, model } = mount();
    expect($("labelling")).not.toBeNull();
    expect($("label-pos-0").parentElement.hidden).toBe(true);
    expect($("label-counts").textContent).toContain("name an attribute");
    model.kernelSet("attribute", "smile");
    expect($("label-pos-0").parentElement.hidden).toBe(false);
    expect($("label-neg-5").parentElement.hidden).toBe(false);
    expect($("attribute").value).toBe("smile");
  });

  it("+ and − send label; the active one again clears it", () => {
    const { $, model } = mount({ ...labelled, cell_labels: [0, 1, -1, 0, 0, 0] });
    $("label-pos-0").click();
    $("label-neg-0").click();
    $("label-pos-1").click(); // already positive: clear
    $("label-neg-1").click(); // positive → negative
    $("label-neg-2").click(); // already negative: clear
    expect(model.sentOf("label")).toEqual([
      { kind: "label", cell: 0, value: 1, seed: null, version: null },
      { kind: "label", cell: 0, value: -1, seed: null, version: null },
      { kind: "label", cell: 1, value: 0, seed: null, version: null },
      { kind: "label", cell: 1, value: -1, seed: null, version: null },
      { kind: "label", cell: 2, value: 0, seed: null, version: null },
    ]);
  });

  it("a label names the grid on screen by its first seed, not a newer one", async () => {
    const { $, model } = mount(labelled);
    const [msg, buffers] = frame(1);
    model.emit("msg:custom", { ...msg, seed: 18 }, buffers);
    await tick();
    model.kernelSet("seed", 27); // new seeds requested, their frame not here yet
    $("label-pos-2").click();
    expect(model.sentOf("label")).toEqual([{ kind: "label", cell: 2, value: 1, seed: 18, version: null }]);
  });

  it("a second click clears once the kernel has echoed the first", () => {
    const { $, model } = mount(labelled);
    $("label-pos-3").click();
    model.kernelSet("cell_labels", [0, 0, 0, 1, 0, 0]);
    $("label-pos-3").click();
    expect(model.sentOf("label").map((m) => m.value)).toEqual([1, 0]);
  });

  it("cells show their label from cell_labels", () => {
    const { $, model } = mount({ ...labelled, cell_labels: [1, -1, 0, 0, 0, 0] });
    const states = () => [0, 1, 2].map((i) => $(`cell-wrap-${i}`).dataset.label);
    expect(states()).toEqual(["positive", "negative", "none"]);
    expect($("label-pos-0").getAttribute("aria-pressed")).toBe("true");
    expect($("label-neg-1").getAttribute("aria-pressed")).toBe("true");
    expect($("label-pos-1").getAttribute("aria-pressed")).toBe("false");
    model.kernelSet("cell_labels", [0, 0, 1, 0, 0, 0]);
    expect(states()).toEqual(["none", "none", "positive"]);
    model.kernelSet("attribute", "");
    expect(states()).toEqual(["none", "none", "none"]);
  });

  it("cells added by a larger frame get buttons and labels too", async () => {
    const { $, model } = mount({ ...labelled, cell_labels: [0, 0, 0, 0, 0, 0, 0, -1] });
    model.event(...frame(1, { count: 8, columns: 4 }));
    await tick();
    expect($("cell-wrap-7").dataset.label).toBe("negative");
    $("label-pos-7").click();
    expect(model.sentOf("label")).toEqual([{ kind: "label", cell: 7, value: 1, seed: null, version: null }]);
  });

  it("counts show the current attribute's labels; train needs enough of each", () => {
    const { $, model } = mount(labelled);
    expect($("label-counts").textContent).toBe("smile: 2 + / 1 −");
    expect($("train").disabled).toBe(true);
    model.kernelSet("label_counts", { smile: [MIN_LABELS, MIN_LABELS - 1], age: [9, 9] });
    expect($("train").disabled).toBe(true);
    model.kernelSet("label_counts", { smile: [MIN_LABELS, MIN_LABELS], age: [9, 9] });
    expect($("train").disabled).toBe(false);
    $("train").click();
    expect(model.sentOf("train")).toEqual([{ kind: "train" }]);
    model.kernelSet("attribute", "hat");
    expect($("label-counts").textContent).toBe("hat: 0 + / 0 −");
    expect($("train").disabled).toBe(true);
  });

  it("the attribute input sends set_attribute on Enter, once, trimmed; empty is ignored", () => {
    const { $, model } = mount(labelled);
    const input = $("attribute");
    input.value = "  glasses ";
    key(input, "Enter");
    input.dispatchEvent(new Event("change")); // the change that follows Enter
    expect(model.sentOf("set_attribute")).toEqual([{ kind: "set_attribute", name: "glasses" }]);
    expect(input.value).toBe("glasses");
    input.value = "   ";
    key(input, "Enter");
    expect(input.value).toBe("smile");
    input.value = "age";
    input.dispatchEvent(new Event("change"));
    expect(model.sentOf("set_attribute").at(-1)).toEqual({ kind: "set_attribute", name: "age" });
    input.value = "beard";
    key(input, "Escape");
    expect(input.value).toBe("smile");
    expect(model.sentOf("set_attribute")).toHaveLength(2);
  });

  it("without an attribute, the buttons send nothing", () => {
    const { $, model } = mount();
    $("label-pos-0").click();
    expect(model.sentOf("label")).toEqual([]);
  });

  it("offers the attributes already labelled", () => {
    const { $, model } = mount(labelled);
    model.kernelSet("label_counts", { smile: [1, 1], age: [3, 0] });
    const list = $("labelling").querySelector(`#${$("attribute").getAttribute("list")}`);
    expect([...list.options].map((o) => o.value)).toEqual(["smile", "age"]);
  });
});
