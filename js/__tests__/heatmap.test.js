import { describe, expect, it } from "vitest";
import { viridis } from "../heatmap.js";
import { mount, pointer } from "./harness.js";

const click = (el) => el.dispatchEvent(new MouseEvent("click", { bubbles: true }));

describe("heatmap", () => {
  it("has a cell per (direction, layer), coloured by value, hatched where not applicable", () => {
    const { root, $ } = mount();
    expect(root.querySelectorAll('[data-testid^="heat-"][data-row]')).toHaveLength(12);
    expect($("heat-0-2").getAttribute("style")).toContain(viridis(1)); // 0.9: the maximum
    expect($("heat-0-3").getAttribute("style")).toContain(viridis(0.25)); // 0.3 on [0.1, 0.9]
    // Each row on its own scale: 0.4 is the top of row 1 (of all rows, 0.375 up).
    expect($("heat-1-2").getAttribute("style")).toContain(viridis(1));
    expect($("heat-1-3").getAttribute("style")).toContain(viridis(0));
    expect($("heat-2-2").getAttribute("style")).toContain(viridis(0.5)); // a row of one value
    expect($("heatmap-kind").textContent).toContain("each row on its own scale");
    expect($("heat-2-0").dataset.applicable).toBe("false");
    expect($("heat-2-2").dataset.applicable).toBe("true");
    expect($("heatmap-kind").textContent).toContain("mean image change");
    const headers = [...root.querySelectorAll(".sw-heat-col")].map((th) => th.title);
    expect(headers).toEqual(["ws0", "ws1", "ws2", "ws3"]);
    expect([...root.querySelectorAll(".sw-heat-row")].map((th) => th.textContent)).toEqual(["age", "smile", "hair"]);
  });

  it("outlines the layers each direction is applied at, following the trait", () => {
    const { $, model } = mount({ layers: [[1, 2], [0], [2]] });
    expect($("heat-0-1").dataset.selected).toBe("true");
    expect($("heat-0-0").dataset.selected).toBe("false");
    model.kernelSet("layers", [[0], [0], [2]]);
    expect($("heat-0-1").dataset.selected).toBe("false");
    expect($("heat-0-0").dataset.selected).toBe("true");
  });

  it("a click toggles a layer and sends set_layers, sorted", () => {
    const { $, model } = mount({ layers: [[1, 3], [0], [2]] });
    click($("heat-0-0"));
    expect(model.sentOf("set_layers")).toEqual([{ kind: "set_layers", seq: 2, direction: 0, layers: [0, 1, 3] }]);
    click($("heat-0-3"));
    expect(model.sentOf("set_layers").at(-1)).toEqual({ kind: "set_layers", seq: 3, direction: 0, layers: [1] });
  });

  it("ignores clicks on cells that do not apply and clicks that would leave no layer", () => {
    const { $, model } = mount({ layers: [[1], [0], [2]] });
    click($("heat-2-0"));
    click($("heat-0-1"));
    click($("heat-2-2"));
    expect(model.sentOf("set_layers")).toEqual([]);
  });

  it("a channel direction's cell switches it off and on at its layer", () => {
    const { $, model } = mount({ layers: [[1], [0], [2]] });
    const directions = model.get("directions").map((d, i) => (i === 2 ? { ...d, space: "ws2", latent: false } : d));
    model.kernelSet("directions", directions);
    click($("heat-2-2"));
    expect(model.sentOf("set_layers").at(-1)).toMatchObject({ direction: 2, layers: [] });
    model.kernelSet("layers", [[1], [0], []]);
    click($("heat-2-2"));
    expect(model.sentOf("set_layers").at(-1)).toMatchObject({ direction: 2, layers: [2] });
  });

  it("a brush across a row selects the applicable range, highlighted while dragging", () => {
    const { $, model } = mount();
    pointer($("heat-0-3"), "pointerdown");
    pointer($("heat-0-2"), "pointerover");
    pointer($("heat-1-1"), "pointerover"); // another row: ignored
    pointer($("heat-0-1"), "pointerover");
    expect(["0", "1", "2", "3"].map((c) => $(`heat-0-${c}`).dataset.brushed)).toEqual([undefined, "true", "true", "true"]);
    pointer($("heat-0-1"), "pointerup");
    click($("heat-0-1")); // the click that follows a brush is not a toggle
    expect(model.sentOf("set_layers")).toEqual([{ kind: "set_layers", seq: 2, direction: 0, layers: [1, 2, 3] }]);
    expect($("heat-0-2").dataset.brushed).toBeUndefined();
  });

  it("a brush skips cells that do not apply", () => {
    const { $, model } = mount({ heatmap: { columns: ["a", "b", "c"], values: [[1, null, 2], [1, 1, 1], [1, 1, 1]], kind: "Δ score" } });
    pointer($("heat-0-0"), "pointerdown");
    pointer($("heat-0-2"), "pointerover");
    pointer($("heat-0-2"), "pointerup");
    expect(model.sentOf("set_layers")).toEqual([{ kind: "set_layers", seq: 2, direction: 0, layers: [0, 2] }]);
  });

  it("recompute sends heatmap; an empty heatmap says so", () => {
    const { $, model } = mount({ heatmap: {} });
    expect($("heatmap-kind").textContent).toContain("No heatmap");
    $("heatmap-recompute").click();
    expect(model.sentOf("heatmap")).toEqual([{ kind: "heatmap", attribute: null }]);
  });

  it("the attribute select is hidden without scorer attributes", () => {
    const { $, model } = mount({ attributes: [] });
    expect($("heatmap-attribute").hidden).toBe(true);
    model.kernelSet("attributes", ["smile", "age"]);
    expect($("heatmap-attribute").hidden).toBe(false);
    expect([...$("heatmap-attribute").options].map((o) => [o.value, o.textContent])).toEqual([["", "image change"], ["smile", "smile"], ["age", "age"]]);
  });

  it("choosing an attribute, and recompute, send heatmap with it (image change → null)", () => {
    const { $, model } = mount({ attributes: ["smile", "age"] });
    const select = $("heatmap-attribute");
    select.value = "age";
    select.dispatchEvent(new Event("change"));
    $("heatmap-recompute").click();
    select.value = "";
    select.dispatchEvent(new Event("change"));
    expect(model.sentOf("heatmap")).toEqual([
      { kind: "heatmap", attribute: "age" },
      { kind: "heatmap", attribute: "age" },
      { kind: "heatmap", attribute: null },
    ]);
    // The choice survives a new list that still has it, and falls back to image change otherwise.
    select.value = "smile";
    model.kernelSet("attributes", ["smile", "gender"]);
    expect(select.value).toBe("smile");
    model.kernelSet("attributes", ["gender"]);
    expect(select.value).toBe("");
    model.kernelSet("heatmap", { ...model.get("heatmap"), kind: "Δ gender" });
    expect($("heatmap-kind").textContent).toContain("Δ gender");
  });

  it("viridis runs from dark purple to yellow", () => {
    expect(viridis(0)).toBe("rgb(68, 1, 84)");
    expect(viridis(1)).toBe("rgb(253, 231, 37)");
    expect(viridis(-1)).toBe(viridis(0));
  });
});
