// The Explorer's front end: anywidget entry point. Builds the layout, wires the
// components to the model, and routes the kernel's events (frame, error, file,
// code, original) to them. Message kinds: messages.js; the protocol: _protocol.py.
import "./widget.css";
import { createAlphas } from "./alphas.js";
import { createChannel } from "./channel.js";
import { createContent } from "./content.js";
import { createDirections } from "./directions.js";
import { h } from "./dom.js";
import { download } from "./download.js";
import { createErrors } from "./errors.js";
import { createGrid } from "./grid.js";
import { createHandles } from "./handles.js";
import { createHeatmap } from "./heatmap.js";
import { createKernelStatus } from "./kernel-status.js";
import { createLabels } from "./labels.js";
import { createPad } from "./pad.js";
import { createReals } from "./reals.js";
import { createRenderer } from "./renderer.js";
import { subscriptions } from "./model.js";
import { checkSubshell, findComm, kernelBusy } from "./subshell.js";
import { createToolbar } from "./toolbar.js";

/** @param {{model: import("./model.js").Model, el: HTMLElement}} ctx */
function render({ model: rawModel, el }) {
  const root = h("div", { class: "semwidget", "data-testid": "semwidget" });
  // Every request leaves through the channel, which sees each one acknowledged.
  let comm = null;
  const kernelStatus = createKernelStatus(root, () => channel.check());
  const channel = createChannel(rawModel, {
    onStatus: kernelStatus.show,
    kernelBusy: () => kernelBusy(comm),
    check: async (m) => checkSubshell(m, (comm = comm ?? (await findComm(m)))),
  });
  const model = channel.model;
  const subs = subscriptions(model);

  const errors = createErrors(model, subs);
  // The progress bar's cancel button asks the kernel to stop the running job.
  const grid = createGrid(model, subs, { onCancel: () => renderer.send("cancel", {}) });
  const renderer = createRenderer(model, root, grid);
  // Every request goes through the renderer, which numbers those that change the image.
  const send = renderer.send;
  const alphas = createAlphas(model, renderer, subs);
  const labels = createLabels(model, send, subs, grid, () => renderer.shownSeed,
    () => renderer.shownVersion);
  const reals = createReals(grid, send, (text) => errors.show(text));
  grid.onPaint(reals.afterPaint);
  const toolbar = createToolbar(model, send, subs, [reals.el]);
  const directions = createDirections(model, send, subs);
  const handles = createHandles(model, alphas, subs);
  const content = createContent(model, grid, send, subs);
  grid.onPaint(content.afterPaint);
  grid.onPaint((msg) => handles.showAmounts(msg.amounts));
  const pad = createPad(model, send, alphas, subs);
  const heatmap = createHeatmap(model, send, subs);

  root.append(
    kernelStatus.el,
    errors.el,
    // Where each part goes at each width: widget.css (Layout).
    h("div", { class: "sw-layout" },
      h("div", { class: "sw-main" }, grid.el, content.el, labels.el, toolbar.el),
      h("div", { class: "sw-controls" }, handles.el, directions.el),
      pad.el, heatmap.el),
  );
  el.append(root);

  // For styles and tests: the kernel is working on something.
  const showBusy = () => root.setAttribute("data-busy", String(Boolean(model.get("busy"))));
  subs.on("change:busy", showBusy);
  showBusy();

  subs.on("msg:custom", (msg, buffers) => {
    switch (msg?.kind) {
      case "ack":
        channel.onAck(msg.rid);
        break;
      case "frame":
        // An undecodable frame must not break the widget: show it as an error.
        renderer.onFrame(msg, buffers ?? []).catch((err) => errors.show(`could not show frame ${msg.seq}: ${err}`));
        break;
      case "error":
        renderer.onError(msg.seq ?? null);
        // A refused set_layers changes no trait: stop showing its row as waiting.
        heatmap.clearPending();
        errors.show(msg.message ?? "error");
        break;
      case "file":
        download(msg.name, msg.mime, buffers?.[0] ?? new Uint8Array());
        break;
      case "code":
        toolbar.showCode(msg.text ?? "");
        break;
      case "original":
        reals.onOriginal(msg, buffers ?? []).catch((err) => errors.show(`could not show the original: ${err}`));
        break;
      default:
        // Other events are for other front ends (or a newer kernel): ignore them.
        break;
    }
  });

  // A fresh view has no image yet: ask for the current state at rest.
  renderer.request(alphas.get(), true);
  // Before anything else can be lost: is our comm's route to the kernel alive?
  void channel.check();

  return () => {
    channel.destroy();
    subs.dispose();
    renderer.destroy();
    for (const part of [grid, labels, alphas, handles, content, pad, heatmap]) part.destroy?.();
    root.remove();
  };
}

export default { render };
