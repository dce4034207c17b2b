// Where the parts sit at each width of the widget (widget.css, Layout). The
// browser check is the screenshots at 600, 900 and 1400 px; these tests pin the
// rules that place the parts, and that the parts carry the classes they name.
import { describe, expect, it } from "vitest";
import { declared } from "./css.js";
import { mount } from "./harness.js";

const PARTS = {
  ".sw-grid": "grid", ".sw-handles": "handles", ".sw-labelling": "labelling", ".sw-toolbar-area": "toolbar",
  ".sw-directions": "directions", ".sw-pad-section": "pad-section", ".sw-heatmap": "heatmap",
};
const MEDIUM = "semwidget (min-width: 600px)";
const WIDE = "semwidget (min-width: 1100px)";
const rowsOf = (areas) => [...areas.matchAll(/"([^"]*)"/g)].map((m) => m[1].split(/\s+/));

describe("layout", () => {
  it("each part is in the layout with the class the rules name", () => {
    const { root } = mount();
    const layout = root.querySelector(".sw-layout");
    for (const [selector, testid] of Object.entries(PARTS)) {
      const el = layout.querySelector(selector);
      expect(el?.contains(root.querySelector(`[data-testid="${testid}"]`)), selector).toBe(true);
    }
    // The handles share a column with the list, the pad and the heatmap have areas of their own.
    const controls = layout.querySelector(".sw-controls");
    expect([...controls.children].map((c) => c.dataset.testid)).toEqual(["handles", "directions"]);
    expect([...layout.children].map((c) => c.className)).toEqual(["sw-main", "sw-controls", "sw-pad-section", "sw-heatmap"]);
  });

  it("narrow: one column, the handles directly below the grid", () => {
    expect(declared(".sw-main").display).toBe("contents");
    expect(declared(".sw-controls").display).toBe("contents");
    const stacked = Object.keys(PARTS).sort((a, b) => Number(declared(a).order) - Number(declared(b).order));
    expect(stacked).toEqual([".sw-grid", ".sw-handles", ".sw-labelling", ".sw-toolbar-area", ".sw-directions", ".sw-pad-section", ".sw-heatmap"]);
  });

  it("from 600px: handles, list and pad beside the grid, the heatmap under the grid", () => {
    expect(rowsOf(declared(".sw-layout", MEDIUM)["grid-template-areas"])).toEqual([["main", "side"], ["main", "pad"], ["heat", "pad"]]);
    expect(declared(".sw-controls", MEDIUM)["grid-area"]).toBe("side");
    expect(declared(".sw-heatmap", MEDIUM)["grid-area"]).toBe("heat");
    expect(declared(".sw-pad-section", MEDIUM)["grid-area"]).toBe("pad");
    // No column may be wider than the widget: the grid's column can shrink to nothing.
    expect(declared(".sw-layout", MEDIUM)["grid-template-columns"]).toMatch(/^minmax\(0,/);
  });

  it("from 1100px: the pad and the heatmap side by side, under the handles and the list", () => {
    expect(rowsOf(declared(".sw-layout", WIDE)["grid-template-areas"])).toEqual([["main", "side", "side"], ["main", "pad", "heat"]]);
  });

  it("a long list of directions scrolls inside its own box", () => {
    expect(declared(".sw-directions-list")["max-height"]).toBeTruthy();
    expect(declared(".sw-directions-list")["overflow-y"]).toBe("auto");
  });

  it("a wide heatmap scrolls inside its own box", () => {
    expect(declared(".sw-heat-scroll")["overflow-x"]).toBe("auto");
    expect(declared(".sw-layout > *")["min-width"]).toBe("0");
  });
});
