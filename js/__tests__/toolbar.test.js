import { describe, expect, it, vi } from "vitest";
import { mount } from "./harness.js";

describe("toolbar", () => {
  it("buttons send their requests", () => {
    const { $, model } = mount({ active: [1], can_undo: true, can_redo: true });
    for (const id of ["reset", "undo", "redo", "new-seeds", "export-png", "export-gif", "copy-code"]) $(id).click();
    expect(model.sent.filter((m) => m.kind !== "render")).toEqual([
      { kind: "reset", seq: 2 },
      { kind: "undo", seq: 3 },
      { kind: "redo", seq: 4 },
      { kind: "new_seeds", seq: 5, seed: null },
      { kind: "export_png", scale: 1 },
      { kind: "export_gif", direction: 1, frames: 24, extent: 3 },
      { kind: "copy_code" },
    ]);
  });

  it("PNG export sends the chosen scale, 1× by default", () => {
    const { $, model } = mount();
    expect([...$("export-scale").options].map((o) => [o.value, o.textContent])).toEqual([["1", "1×"], ["2", "2×"]]);
    expect($("export-scale").value).toBe("1");
    $("export-png").click();
    $("export-scale").value = "2";
    $("export-png").click();
    expect(model.sentOf("export_png")).toEqual([{ kind: "export_png", scale: 1 }, { kind: "export_png", scale: 2 }]);
  });

  it("undo/redo follow can_undo/can_redo; GIF needs an active direction", () => {
    const { $, model } = mount({ active: [] });
    expect($("undo").disabled).toBe(true);
    expect($("redo").disabled).toBe(true);
    expect($("export-gif").disabled).toBe(true);
    model.kernelSet("can_undo", true);
    model.kernelSet("active", [0]);
    expect($("undo").disabled).toBe(false);
    expect($("redo").disabled).toBe(true);
    expect($("export-gif").disabled).toBe(false);
  });

  it("compute sends method, count and feature layer (latent → null)", () => {
    const { $, model } = mount();
    expect($("compute-n").value).toBe("5");
    expect([...$("compute-layer").options].map((o) => o.textContent)).toEqual(["latent", "b8.conv0", "b16.conv1"]);
    $("compute").click();
    $("compute-method").value = "ganspace";
    $("compute-n").value = "8";
    $("compute-layer").value = "b16.conv1";
    $("compute").click();
    expect(model.sentOf("compute")).toEqual([
      { kind: "compute", method: "sefa", n_directions: 5, feature_layer: null },
      { kind: "compute", method: "ganspace", n_directions: 8, feature_layer: "b16.conv1" },
    ]);
    model.kernelSet("feature_layers", ["b16.conv1", "b32.conv0"]);
    expect($("compute-layer").value).toBe("b16.conv1");
  });

  it("a code event shows the code and tries the clipboard", async () => {
    const { $, model } = mount();
    const writeText = vi.fn().mockRejectedValue(new Error("not allowed"));
    vi.spyOn(navigator, "clipboard", "get").mockReturnValue({ writeText });
    expect($("code").hidden).toBe(true);
    model.event({ kind: "code", text: "import semwidget" });
    expect($("code").hidden).toBe(false);
    expect($("code").value).toBe("import semwidget");
    expect($("code").readOnly).toBe(true);
    expect(writeText).toHaveBeenCalledWith("import semwidget");
  });

  it("save and load send the name, trimmed; both are disabled without one", () => {
    const { $, model } = mount({ annotations_path: "" });
    const path = $("annotations-path");
    expect(path.placeholder).toBe("faces");
    expect($("save").disabled).toBe(true);
    expect($("load").disabled).toBe(true);
    path.value = " faces ";
    path.dispatchEvent(new Event("input"));
    expect($("save").disabled).toBe(false);
    $("save").click();
    $("load").click();
    expect(model.sent.filter((m) => m.kind === "save" || m.kind === "load")).toEqual([
      { kind: "save", path: "faces" },
      { kind: "load", path: "faces" },
    ]);
    path.value = "  ";
    path.dispatchEvent(new Event("input"));
    expect($("load").disabled).toBe(true);
  });

  it("the path follows annotations_path", () => {
    const { $, model } = mount({ annotations_path: "runs/a" });
    expect($("annotations-path").value).toBe("runs/a");
    expect($("save").disabled).toBe(false);
    model.kernelSet("annotations_path", "runs/b");
    expect($("annotations-path").value).toBe("runs/b");
  });
});
