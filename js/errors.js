// Kernel errors, shown in the widget rather than only in the kernel log. The
// banner can be dismissed; the widget keeps working either way.
import { h } from "./dom.js";

export function createErrors(model, subs) {
  const message = h("span", { class: "sw-error-message", "data-testid": "error-message" });
  const dismiss = h("button", {
    type: "button", class: "sw-error-dismiss", "data-testid": "error-dismiss", "aria-label": "dismiss", text: "×",
    onclick: () => show(""),
  });
  const el = h("div", { class: "sw-error", "data-testid": "error", role: "alert", hidden: true }, message, dismiss);

  function show(text) {
    message.textContent = text;
    el.hidden = !text;
  }

  subs.on("change:error", () => show(model.get("error") ?? ""));
  show(model.get("error") ?? "");
  return { el, show };
}
