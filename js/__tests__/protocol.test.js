// The requests this front end sends must be exactly the protocol's: every kind
// in messages.js is used, none is invented, and each message has the fields and
// types that semwidget/widget/_protocol.py (authoritative) declares.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EVENTS, REQUESTS, TRAITS } from "../messages.js";
import { NUMBERED } from "../renderer.js";
import { box, key, mount, pointer } from "./harness.js";

// Paths, not URLs: happy-dom replaces the global URL, which node:fs does not accept.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const python = readFileSync(join(root, "semwidget/widget/_protocol.py"), "utf8");

/** REQUESTS from _protocol.py as {kind: {field: spec}}. */
function pythonRequests() {
  const block = python.match(/^REQUESTS[^=]*=\s*\{\n([\s\S]*?)\n\}/m)[1];
  const out = {};
  for (const [, kind, body] of block.matchAll(/^\s*"(\w+)":\s*\{(.*)\},?\s*$/gm)) {
    out[kind] = Object.fromEntries([...body.matchAll(/"(\w+)":\s*"([\w?]+)"/g)].map((m) => [m[1], m[2]]));
  }
  return out;
}

function pythonTuple(name) {
  // From the assignment on, comments removed (they may hold parentheses), up to the closing ")".
  const from = python.slice(python.search(new RegExp(`^${name}\\b`, "m"))).replace(/#.*$/gm, "");
  return [...from.match(/\(([^)]*)\)/)[1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
}

const CHECKS = {
  int: (v) => Number.isInteger(v),
  float: (v) => typeof v === "number" && Number.isFinite(v),
  bool: (v) => typeof v === "boolean",
  str: (v) => typeof v === "string",
  ints: (v) => Array.isArray(v) && v.every(Number.isInteger),
  floats: (v) => Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x)),
};

function conforms(msg, spec) {
  const { kind, ...fields } = msg;
  expect(Object.keys(fields).sort(), kind).toEqual(Object.keys(spec).sort());
  for (const [field, type] of Object.entries(spec)) {
    const optional = type.endsWith("?");
    const ok = (optional && fields[field] === null) || CHECKS[type.replace("?", "")](fields[field]);
    expect(ok, `${kind}.${field} = ${JSON.stringify(fields[field])} is not ${type}`).toBe(true);
  }
}

describe("protocol", () => {
  const spec = pythonRequests();

  it("the requests that carry a seq are exactly the renderer's numbered ones", () => {
    const withSeq = Object.keys(spec).filter((kind) => "seq" in spec[kind]);
    expect(withSeq.sort()).toEqual([...NUMBERED].sort());
  });

  it("messages.js lists the same kinds, events and traits as _protocol.py", () => {
    expect(Object.keys(spec)).toHaveLength(20);
    expect([...REQUESTS].sort()).toEqual(Object.keys(spec).sort());
    expect([...EVENTS].sort()).toEqual(pythonTuple("EVENTS").sort());
    expect([...TRAITS].sort()).toEqual(pythonTuple("TRAITS").sort());
  });

  it("the sources send only kinds from REQUESTS, and every one of them", () => {
    const dir = join(root, "js");
    const sources = readdirSync(dir).filter((f) => f.endsWith(".js")).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
    const used = new Set([...sources.matchAll(/\bsend\(\s*"(\w+)"/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...REQUESTS].sort());
  });

  it("using every control sends every request kind, each with the protocol's fields", () => {
    const { $, model, raf } = mount({
      active: [0, 1], can_undo: true, can_redo: true, attributes: ["smile"],
      attribute: "smile", label_counts: { smile: [4, 4] }, annotations_path: "annotations/faces",
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
      "label-pos-0", "train", "save", "load"]) {
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
    for (const msg of model.sent) conforms(msg, spec[msg.kind]);
    expect([...new Set(model.sent.map((m) => m.kind))].sort()).toEqual([...REQUESTS].sort());
  });
});
