import { describe, expect, it, vi } from "vitest";
import { frame, mount, tick } from "./harness.js";

describe("errors", () => {
  it("shows the error trait, hides when it is empty", () => {
    const { $, model } = mount({ error: "CUDA out of memory" });
    expect($("error").hidden).toBe(false);
    expect($("error-message").textContent).toBe("CUDA out of memory");
    model.kernelSet("error", "");
    expect($("error").hidden).toBe(true);
  });

  it("the trait going back to \"\" clears the banner, whatever it showed last", () => {
    const { $, model } = mount({ error: "worker stopped" });
    model.event({ kind: "error", seq: 3, message: "render 3 failed" });
    expect($("error-message").textContent).toBe("render 3 failed");
    model.kernelSet("error", "");
    expect($("error").hidden).toBe(true);
    expect($("error-message").textContent).toBe("");
  });

  it("shows error events, can be dismissed, and the widget keeps working", async () => {
    const { $, model, root } = mount();
    model.event({ kind: "error", seq: 1, message: "render 1 failed" });
    expect($("error").hidden).toBe(false);
    expect($("error-message").textContent).toBe("render 1 failed");
    $("error-dismiss").click();
    expect($("error").hidden).toBe(true);
    model.event(...frame(2));
    await tick();
    expect(root.getAttribute("data-render-seq")).toBe("2");
    $("reset").click();
    expect(model.sentOf("reset")).toHaveLength(1);
  });

  it("a frame that cannot be decoded becomes an error, not a broken widget", async () => {
    const { $, model } = mount();
    vi.stubGlobal("createImageBitmap", undefined);
    vi.spyOn(HTMLImageElement.prototype, "decode").mockRejectedValue(new Error("bad image"));
    model.event(...frame(1));
    await tick();
    await tick();
    expect($("error-message").textContent).toContain("bad image");
  });
});
