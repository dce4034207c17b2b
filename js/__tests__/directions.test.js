import { describe, expect, it } from "vitest";
import { formatScore } from "../format.js";
import { declared } from "./css.js";
import { DIRECTIONS, key, mount } from "./harness.js";

describe("directions list", () => {
  it("lists each direction with label, method and a compact score", () => {
    const { $ } = mount();
    expect($("direction-0").textContent).toContain("age");
    expect($("direction-0").textContent).toContain("sefa");
    expect($("direction-0").textContent).toContain("12.3");
    expect($("direction-1").textContent).toContain("0.0123");
    expect(formatScore(123456)).toBe("1.2e+5");
    expect(formatScore(null)).toBe("–");
  });

  it("a direction the kernel doubts says why, right under it", () => {
    const warning = "only 4 positive and 5 negative labels (at least 10 each make a trustworthy boundary)";
    const { $ } = mount({ directions: [...DIRECTIONS, { ...DIRECTIONS[0], id: 14, label: "smile", method: "labels", warning }] });
    expect($("direction-warning-3").textContent).toBe(`⚠ ${warning}`);
    expect(document.querySelector('[data-testid="direction-warning-0"]')).toBeNull();
  });

  it("checkboxes show the active trait and send set_active", () => {
    const { $, model } = mount({ active: [0] });
    expect($("direction-active-0").checked).toBe(true);
    expect($("direction-active-2").checked).toBe(false);
    $("direction-active-2").click();
    expect(model.sentOf("set_active")).toEqual([{ kind: "set_active", seq: 2, active: [0, 2] }]);
    model.kernelSet("active", [0, 2]);
    $("direction-active-0").click();
    expect(model.sentOf("set_active").at(-1)).toEqual({ kind: "set_active", seq: 3, active: [2] });
  });

  it("rebuilds when directions are added", () => {
    const { $, model } = mount();
    model.kernelSet("directions", [...model.get("directions"), { label: "new", method: "ganspace", score: 1, space: "w", latent: true, sigma: 1, extent: 3 }]);
    expect($("direction-3").textContent).toContain("new");
  });
});

describe("long names", () => {
  const LONG = "rotation of the camera around the scene, with the light following it";

  it("the list shows a long name whole, wrapped, with the name as its title", () => {
    const { $ } = mount({ directions: [{ ...DIRECTIONS[0], label: LONG }, ...DIRECTIONS.slice(1)] });
    expect($("direction-name-0").textContent).toBe(LONG);
    expect($("direction-name-0").closest("[title]").title).toContain(LONG);
    const name = declared(".sw-direction-name");
    expect(name["text-overflow"]).toBeUndefined();
    expect(name["white-space"]).toBeUndefined();
    expect(name["overflow-wrap"]).toBe("anywhere");
  });

  it("wherever a name may be cut (handle, heatmap row, pad), its title gives it whole", () => {
    const { $, root } = mount({ directions: [{ ...DIRECTIONS[0], label: LONG }, ...DIRECTIONS.slice(1)], active: [0], pad: [0, 1] });
    expect($("handle-label-0").title).toBe(LONG);
    expect(root.querySelector(".sw-heat-row").title).toBe(LONG);
    expect($("pad-label-x").title).toBe(LONG);
    expect($("pad-x").title).toBe(LONG);
    expect($("pad-label-y").title).toBe("smile");
    expect($("pad-y").title).toBe("smile");
  });
});

describe("naming directions", () => {
  it("double-clicking a name opens an input; Enter sends rename, trimmed", () => {
    const { $, model } = mount();
    $("direction-name-1").parentElement.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    const input = $("rename-input-1");
    expect(input.value).toBe("smile");
    expect(document.activeElement).toBe(input);
    input.value = "  grin ";
    input.dispatchEvent(new Event("input"));
    key(input, "Enter");
    expect(model.sentOf("rename")).toEqual([{ kind: "rename", direction: 1, label: "grin" }]);
    expect($("rename-input-1")).toBeNull();
    expect(model.sentOf("set_active")).toEqual([]); // renaming does not toggle the handle
  });

  it("the rename button opens it too; blur commits, Escape cancels, empty or unchanged sends nothing", () => {
    const { $, model } = mount();
    $("rename-0").click();
    $("rename-input-0").value = "years";
    $("rename-input-0").dispatchEvent(new Event("input"));
    $("rename-input-0").dispatchEvent(new FocusEvent("blur"));
    expect(model.sentOf("rename")).toEqual([{ kind: "rename", direction: 0, label: "years" }]);

    $("rename-0").click();
    $("rename-input-0").value = "nope";
    $("rename-input-0").dispatchEvent(new Event("input"));
    key($("rename-input-0"), "Escape");
    expect($("rename-input-0")).toBeNull();
    expect($("direction-name-0").textContent).toBe("age");

    $("rename-0").click();
    $("rename-input-0").value = "   ";
    $("rename-input-0").dispatchEvent(new Event("input"));
    key($("rename-input-0"), "Enter");
    $("rename-2").click();
    key($("rename-input-2"), "Enter"); // unchanged
    expect(model.sentOf("rename")).toHaveLength(1);
  });

  it("an open editor keeps its text when the list is rebuilt", () => {
    const { $, model } = mount();
    $("rename-2").click();
    $("rename-input-2").value = "bald";
    $("rename-input-2").dispatchEvent(new Event("input"));
    model.kernelSet("active", [0, 1, 2]);
    expect($("rename-input-2").value).toBe("bald");
    expect(model.sentOf("rename")).toEqual([]);
    key($("rename-input-2"), "Enter");
    expect(model.sentOf("rename")).toEqual([{ kind: "rename", direction: 2, label: "bald" }]);
    model.kernelSet("directions", model.get("directions").map((d, i) => (i === 2 ? { ...d, label: "bald" } : d)));
    expect($("direction-name-2").textContent).toBe("bald");
  });

  it("notes open prefilled; Ctrl+Enter or blur sends note, Escape cancels", () => {
    const { $, model } = mount();
    const directions = model.get("directions").map((d, i) => (i === 1 ? { ...d, notes: "breaks past 2σ" } : d));
    model.kernelSet("directions", directions);
    expect($("notes-marker-1").title).toBe("breaks past 2σ");
    expect($("notes-marker-0")).toBeNull();

    $("notes-1").click();
    const area = $("notes-input-1");
    expect(area.value).toBe("breaks past 2σ");
    expect($("notes-1").getAttribute("aria-pressed")).toBe("true");
    area.value = "breaks past 2σ\nadds teeth";
    area.dispatchEvent(new Event("input"));
    key(area, "Enter"); // a plain Enter is a new line
    expect(model.sentOf("note")).toEqual([]);
    key(area, "Enter", { ctrlKey: true });
    expect(model.sentOf("note")).toEqual([{ kind: "note", direction: 1, text: "breaks past 2σ\nadds teeth" }]);
    expect($("notes-input-1")).toBeNull();

    $("notes-0").click();
    $("notes-input-0").value = "older and greyer";
    $("notes-input-0").dispatchEvent(new Event("input"));
    $("notes-input-0").dispatchEvent(new FocusEvent("blur"));
    expect(model.sentOf("note").at(-1)).toEqual({ kind: "note", direction: 0, text: "older and greyer" });

    $("notes-2").click();
    $("notes-input-2").value = "draft";
    $("notes-input-2").dispatchEvent(new Event("input"));
    key($("notes-input-2"), "Escape");
    expect($("notes-input-2")).toBeNull();
    expect(model.sentOf("note")).toHaveLength(2);
  });

  it("the notes button closes its editor, committing; opening another editor commits the open one", () => {
    const { $, model } = mount();
    $("notes-0").click();
    $("notes-input-0").value = "a";
    $("notes-input-0").dispatchEvent(new Event("input"));
    $("notes-0").click();
    expect($("notes-input-0")).toBeNull();
    $("notes-2").click();
    $("notes-input-2").value = "b";
    $("notes-input-2").dispatchEvent(new Event("input"));
    $("rename-1").click();
    expect($("notes-input-2")).toBeNull();
    expect($("rename-input-1")).not.toBeNull();
    expect(model.sentOf("note")).toEqual([
      { kind: "note", direction: 0, text: "a" },
      { kind: "note", direction: 2, text: "b" },
    ]);
  });
});
