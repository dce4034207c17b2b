// Says when the kernel is not hearing this widget, and what the user can do.
// Silent while requests are answered; channel.js decides the state.
import { h } from "./dom.js";

const BUSY = "The kernel is running a cell: this widget catches up when the cell finishes.";
const DEAD =
  "The kernel is not answering this widget: it may be busy running a cell, or stopped. If it does not " +
  "recover, re-run the cell that shows the widget, or restart the kernel (Kernel \u203a Restart Kernel).";

/**
 * @param {HTMLElement} root  gets data-channel (ok | waiting | unanswered) and data-channel-repairs
 * @param {() => void} recheck  the "check again" button
 */
export function createKernelStatus(root, recheck) {
  const message = h("span", { class: "sw-kernel-status-message", "data-testid": "kernel-status-message" });
  const retry = h("button", {
    type: "button", class: "sw-kernel-status-retry", "data-testid": "kernel-status-retry", text: "check again",
    onclick: () => recheck(),
  });
  const el = h("div", { class: "sw-kernel-status", "data-testid": "kernel-status", role: "status", hidden: true },
    message, retry);
  root.setAttribute("data-channel", "ok");
  root.setAttribute("data-channel-repairs", "0");

  /** @param {import("./channel.js").ChannelStatus} status */
  function show(status) {
    root.setAttribute("data-channel", status.state);
    root.setAttribute("data-channel-repairs", String(status.repairs));
    const stuck = status.state === "unanswered";
    el.hidden = !stuck;
    if (stuck) {
      const waiting = status.unanswered === 1 ? "1 request waiting" : `${status.unanswered} requests waiting`;
      message.textContent = `${status.kernelBusy ? BUSY : DEAD} (${waiting})`;
    }
  }

  return { el, show };
}
