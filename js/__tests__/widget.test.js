import { describe, expect, it, vi } from "vitest";
import { mount } from "./harness.js";

describe("widget", () => {
  it("has the root hooks", () => {
    const { root } = mount();
    expect(root.classList.contains("semwidget")).toBe(true);
    expect(root.getAttribute("data-render-seq")).toBe("0");
    expect(root.getAttribute("data-sent-seq")).toBe("1");
  });

  it("the root says whether the kernel is busy", () => {
    const { root, model } = mount({ busy: false });
    expect(root.getAttribute("data-busy")).toBe("false");
    model.kernelSet("busy", true);
    expect(root.getAttribute("data-busy")).toBe("true");
    model.kernelSet("busy", false);
    expect(root.getAttribute("data-busy")).toBe("false");
  });

  it("a file event becomes a download of its bytes", async () => {
    const { model } = mount();
    const createUrl = vi.spyOn(URL, "createObjectURL").mockReturnValue("blob:gif");
    const clicks = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function () {
      clicks.push({ href: this.href, download: this.download });
    });
    model.event({ kind: "file", name: "age.gif", mime: "image/gif" }, [new Uint8Array([71, 73, 70])]);
    expect(clicks).toEqual([{ href: "blob:gif", download: "age.gif" }]);
    const blob = createUrl.mock.calls[0][0];
    expect(blob.type).toBe("image/gif");
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array([71, 73, 70]));
  });

  it("ignores unknown events", () => {
    const { model, $ } = mount();
    model.event({ kind: "something-new" });
    expect($("error").hidden).toBe(true);
  });

  it("cleanup removes its listeners and its DOM", () => {
    const { model, cleanup, el } = mount();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
