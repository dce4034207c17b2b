import { afterEach, describe, expect, it, vi } from "vitest";
import { PENDING_MS, viridis } from "../heatmap.js";
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
    expect($("heat-2-2").getAttribute("style")).toContain(viridis(0.75)); // a row of one value: 0.7 on the global [0.1, 0.9]
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

describe("heatmap legend and scales", () => {
  const normalizeTo = ($, value) => {
    $("heatmap-normalize").value = value;
    $("heatmap-normalize").dispatchEvent(new Event("change"));
  };

  it("a legend shows the scale: per row by default, the global range with numbers", () => {
    const { $ } = mount();
    expect([...$("heatmap-normalize").options].map((o) => o.textContent)).toEqual(["per row", "global"]);
    expect($("heatmap-normalize").value).toBe("row");
    expect($("heatmap-legend").hidden).toBe(false);
    expect($("heatmap-legend").textContent).toContain("each row from its min to its max");
    normalizeTo($, "global");
    expect($("heatmap-legend-low").textContent).toBe("0.1");
    expect($("heatmap-legend-high").textContent).toBe("0.9");
    expect($("heatmap-legend").textContent).toContain("one scale over all cells");
    expect($("heatmap-kind").textContent).toContain("one scale over all cells");
  });

  it("per row, a row with one layer only is coloured on the global scale, not a flat middle", () => {
    const heatmap = { columns: ["z", "main.2"], values: [[0.1, null], [0.5, null], [0.9, null]], kind: "mean image change" };
    const { $ } = mount({ heatmap, layers: [[0], [0], [0]] });
    const colours = [0, 1, 2].map((r) => $(`heat-${r}-0`).style.backgroundColor);
    expect(new Set(colours).size).toBe(3);
    expect(colours[0]).toBe(viridis(0));
    expect(colours[2]).toBe(viridis(1));
  });

  it("global colours every cell on one scale; nothing is sent, the choice survives a new heatmap", () => {
    const { $, model } = mount();
    normalizeTo($, "global");
    // On [0.1, 0.9]: row 1's maximum 0.4 is no longer the top colour.
    expect($("heat-0-2").getAttribute("style")).toContain(viridis(1));
    expect($("heat-1-2").getAttribute("style")).toContain(viridis(0.375));
    expect($("heat-2-2").getAttribute("style")).toContain(viridis(0.75));
    expect(model.sentOf("heatmap")).toEqual([]);
    model.kernelSet("heatmap", { columns: ["a", "b"], values: [[0, 2], [1, 4], [2, 2]], kind: "Δ score" });
    expect($("heatmap-normalize").value).toBe("global");
    expect($("heatmap-legend-high").textContent).toBe("4");
    expect($("heat-0-1").getAttribute("style")).toContain(viridis(0.5));
    normalizeTo($, "row");
    expect($("heat-0-1").getAttribute("style")).toContain(viridis(1));
  });

  it("no legend and no readout without a heatmap", () => {
    const { $, model } = mount({ heatmap: {} });
    expect($("heatmap-legend").hidden).toBe(true);
    expect($("heatmap-readout").hidden).toBe(true);
    model.kernelSet("heatmap", { columns: ["a"], values: [[1], [2], [3]], kind: "Δ score" });
    expect($("heatmap-legend").hidden).toBe(false);
    expect($("heatmap-readout").hidden).toBe(false);
  });
});

describe("heatmap readout", () => {
  it("shows the hovered or focused cell's direction, layer and value", () => {
    const { $ } = mount();
    pointer($("heat-1-2"), "pointerover");
    expect($("heatmap-readout").textContent).toBe("smile @ ws2: 0.4");
    expect($("heat-1-2").title).toBe("smile @ ws2: 0.4");
    $("heat-0-3").dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect($("heatmap-readout").textContent).toBe("age @ ws3: 0.3");
    pointer($("heat-2-0"), "pointerover");
    expect($("heatmap-readout").textContent).toBe("hair @ ws0: not applicable");
  });
});

describe("heatmap click feedback", () => {
  afterEach(() => vi.useRealTimers());
  const pendingRows = (root) => [...new Set([...root.querySelectorAll('td[data-pending="true"]')].map((td) => td.dataset.row))];

  it("marks the row of a set_layers as pending until the layers change", () => {
    const { $, root, model } = mount({ layers: [[1, 3], [0], [2]] });
    expect(pendingRows(root)).toEqual([]);
    click($("heat-0-0"));
    expect(pendingRows(root)).toEqual(["0"]);
    expect(root.querySelectorAll('td[data-row="0"][data-pending="true"]')).toHaveLength(4);
    model.kernelSet("layers", [[0, 1, 3], [0], [2]]);
    expect(pendingRows(root)).toEqual([]);
  });

  it("a brush marks its row; a new heatmap clears it", () => {
    const { $, root, model } = mount();
    pointer($("heat-1-0"), "pointerdown");
    pointer($("heat-1-2"), "pointerover");
    pointer($("heat-1-2"), "pointerup");
    expect(pendingRows(root)).toEqual(["1"]);
    model.kernelSet("heatmap", { ...model.get("heatmap") });
    expect(pendingRows(root)).toEqual([]);
  });

  it("an error event, the error trait, or 5 s without an answer clear it", () => {
    vi.useFakeTimers();
    const { $, root, model } = mount({ layers: [[1, 3], [0], [2]] });
    click($("heat-0-0"));
    model.event({ kind: "error", seq: 2, message: "set_layers: bad layer" });
    expect(pendingRows(root)).toEqual([]);
    click($("heat-1-1"));
    model.kernelSet("error", "worker stopped");
    expect(pendingRows(root)).toEqual([]);
    click($("heat-0-2"));
    vi.advanceTimersByTime(PENDING_MS - 1);
    expect(pendingRows(root)).toEqual(["0"]);
    vi.advanceTimersByTime(1);
    expect(pendingRows(root)).toEqual([]);
  });
});
