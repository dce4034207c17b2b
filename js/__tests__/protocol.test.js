// The requests this front end sends must be exactly the protocol's: every kind in
// the schema (semwidget/widget/_schema.json, which the kernel validates against) is
// used, none is invented, and each message has the schema's fields, types and bounds.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EVENTS, REQUESTS, SCHEMA, TRAITS } from "../messages.js";
import { NUMBERED } from "../renderer.js";
import { DIRECTIONS, FACTORS, box, dropFiles, frame, key, mount, pointer, tick } from "./harness.js";

// Paths, not URLs: happy-dom replaces the global URL, which node:fs does not accept.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const onDisk = JSON.parse(readFileSync(join(root, "semwidget/widget/_schema.json"), "utf8"));

const inBounds = (v, spec) => v >= (spec.min ?? -Infinity) && v <= (spec.max ?? Infinity);
const CHECKS = {
  int: (v, s) => Number.isInteger(v) && inBounds(v, s),
  float: (v, s) => typeof v === "number" && Number.isFinite(v) && inBounds(v, s),
  bool: (v) => typeof v === "boolean",
  str: (v) => typeof v === "string" && v.length <= SCHEMA.limits.text,
  enum: (v, s) => s.values.includes(v),
  ints: (v, s) => Array.isArray(v) && v.length <= s.max_items && v.every((x) => Number.isInteger(x) && inBounds(x, s)),
  strs: (v, s) => Array.isArray(v) && v.length <= s.max_items && v.every((x) => typeof x === "string" && x.length <= SCHEMA.limits.text),
  floats: (v, s) => Array.isArray(v) && v.length <= s.max_items
    && v.every((x) => typeof x === "number" && Number.isFinite(x) && inBounds(x, s)),
};

function conforms(msg, fieldsSpec) {
  const { kind, ...fields } = msg;
  for (const name of Object.keys(fields)) expect(fieldsSpec, `${kind}.${name} is not in the schema`).toHaveProperty(name);
  for (const [name, spec] of Object.entries(fieldsSpec)) {
    const value = fields[name];
    const ok = (spec.nullable && (value === null || value === undefined)) || CHECKS[spec.type](value, spec);
    expect(ok, `${kind}.${name} = ${JSON.stringify(value)} does not fit ${JSON.stringify(spec)}`).toBe(true);
  }
}

describe("protocol", () => {
  const spec = Object.fromEntries(Object.entries(onDisk.requests).map(([kind, r]) => [kind, r.fields]));

  it("the requests that carry a seq are exactly the renderer's numbered ones", () => {
    const withSeq = Object.keys(spec).filter((kind) => "seq" in spec[kind]);
    expect(withSeq.sort()).toEqual([...NUMBERED].sort());
  });

  it("messages.js serves the schema file as it is on disk", () => {
    expect(SCHEMA).toEqual(onDisk);
    expect([...REQUESTS].sort()).toEqual(Object.keys(spec).sort());
    expect(EVENTS).toEqual(onDisk.events);
    expect([...TRAITS].sort()).toEqual([...Object.keys(onDisk.traits.writable), ...onDisk.traits.readonly].sort());
  });

  it("the sources send only kinds from REQUESTS, and every one of them", () => {
    const dir = join(root, "js");
    const sources = readdirSync(dir).filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
    const used = new Set([...sources.matchAll(/\bsend\(\s*"(\w+)"/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...REQUESTS].sort());
  });

  it("using every control sends every request kind, each with the protocol's fields", async () => {
    const { $, model, raf } = mount({
      directions: [...DIRECTIONS, ...FACTORS], alphas: [0, 0, 0, 0, 0, 0],
      layers: [[0, 1, 2, 3], [0, 1, 2, 3], [2], [0], [0], [0]],
      active: [0, 1], can_undo: true, can_redo: true, attributes: ["smile"],
      attribute: "smile", label_counts: { smile: [4, 4] }, annotations_path: "annotations/faces",
      progress: { label: "GANSpace", value: 1, total: 4 },
    });
    box($("track-0"));
    pointer($("track-0"), "pointerdown", { x: 150 });
    raf.flush();
    pointer($("track-0"), "pointerup", { x: 150 });
    $("direction-active-2").click();
    $("heat-0-0").click();
    $("pad-y").value = "2";
    $("pad-y").dispatchEvent(new Event("change"));
    for (const id of ["new-seeds", "undo", "redo", "reset", "compute", "heatmap-recompute", "export-png", "export-gif", "copy-code",
      "label-pos-0", "train", "save", "load", "progress-cancel"]) {
      $(id).click();
    }
    $("attribute").value = "age";
    key($("attribute"), "Enter");
    $("heatmap-attribute").value = "smile";
    $("heatmap-attribute").dispatchEvent(new Event("change"));
    $("rename-0").click();
    $("rename-input-0").value = "older";
    $("rename-input-0").dispatchEvent(new Event("input"));
    key($("rename-input-0"), "Enter");
    $("notes-1").click();
    $("notes-input-1").value = "also adds glasses";
    $("notes-input-1").dispatchEvent(new Event("input"));
    key($("notes-input-1"), "Enter", { ctrlKey: true });
    await dropFiles($("grid"), [new File([new Uint8Array([137, 80, 78, 71])], "me.png", { type: "image/png" })]);
    model.event(...frame(9, { count: 7, reals: [{ uid: 5, name: "me.png", psnr: 31.2, original: true }] }));
    await tick();
    $("real-original-6").click();
    $("real-remove-6").click();
    // Moving the content by hand: a drag, a Shift+drag, the wheel, and fitting a factor.
    box($("cell-0"), { width: 100, height: 100 });
    pointer($("cell-0"), "pointerdown", { x: 90, y: 50 });
    pointer($("cell-0"), "pointermove", { x: 95, y: 60 });
    pointer($("cell-0"), "pointerup", { x: 95, y: 60 });
    $("cell-0").dispatchEvent(new PointerEvent("pointerdown", { clientX: 90, clientY: 50, pointerId: 2, button: 0, shiftKey: true, bubbles: true }));
    pointer($("cell-0"), "pointerup", { x: 50, y: 10, id: 2 });
    $("cell-0").dispatchEvent(new WheelEvent("wheel", { deltaY: -100, bubbles: true, cancelable: true }));
    raf.flush();
    $("fit-factor").click();
    for (const msg of model.sent) conforms(msg, spec[msg.kind]);
    // Buffers go with the kinds that carry them, within the schema's bounds, and with no other.
    model.sent.forEach((msg, i) => {
      const bounds = onDisk.requests[msg.kind].buffers ?? { min: 0, max: 0 };
      const buffers = model.buffers[i] ?? [];
      expect(buffers.length >= bounds.min && buffers.length <= bounds.max, `${msg.kind} buffers`).toBe(true);
    });
    expect([...new Set(model.sent.map((m) => m.kind))].sort()).toEqual([...REQUESTS].sort());
  });
});
