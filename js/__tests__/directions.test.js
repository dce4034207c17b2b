import { describe, expect, it } from "vitest";
import { formatScore } from "../format.js";
import { mount } from "./harness.js";

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
