// The list of directions: which exist, how they were found, how strong they
// are, and a checkbox for which ones get a handle. A direction can be renamed
// (double-click its name, or ✎) and given notes (the ¶ button).
import { h } from "./dom.js";
import { formatScore } from "./format.js";
import { directionsOf } from "./model.js";

export function createDirections(model, send, subs) {
  const list = h("ol", { class: "sw-directions-list" });
  const empty = h("p", { class: "sw-empty", text: "No directions yet: compute some below." });
  const el = h("section", { class: "sw-directions", "data-testid": "directions" },
    h("h3", { class: "sw-heading", text: "Directions" }), empty, list);
  // The open editor survives rebuilds (a trait echo must not eat what is typed).
  let editing = null; // {index, kind: "rename" | "notes", draft, fresh}
  let rebuilding = false;

  function toggle(i, on) {
    const active = new Set(model.get("active") ?? []);
    if (on) active.add(i);
    else active.delete(i);
    send("set_active", { active: [...active].sort((a, b) => a - b) });
  }

  function edit(index, kind, draft) {
    // Opening another editor first commits the open one (the buttons keep its focus, so no blur does).
    if (editing?.kind === "rename") commitRename(editing.index);
    else if (editing?.kind === "notes") commitNotes(editing.index);
    editing = { index, kind, draft, fresh: true };
    show();
  }

  function close() {
    editing = null;
    show();
  }

  function commitRename(i) {
    if (rebuilding || editing?.index !== i || editing.kind !== "rename") return;
    const label = editing.draft.trim();
    const before = directionsOf(model)[i]?.label ?? "";
    close();
    if (label && label !== before) send("rename", { direction: i, label });
  }

  function commitNotes(i) {
    if (rebuilding || editing?.index !== i || editing.kind !== "notes") return;
    const text = editing.draft;
    const before = directionsOf(model)[i]?.notes ?? "";
    close();
    if (text !== before) send("note", { direction: i, text });
  }

  function renameInput(i) {
    return h("input", {
      type: "text", class: "sw-text sw-rename", "data-testid": `rename-input-${i}`, value: editing.draft,
      "aria-label": "direction name", spellcheck: "false",
      oninput: (e) => (editing.draft = e.target.value),
      onkeydown: (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          commitRename(i);
        } else if (e.key === "Escape") {
          e.preventDefault();
          close();
        }
      },
      onblur: () => commitRename(i),
    });
  }

  function notesInput(i) {
    return h("textarea", {
      class: "sw-notes", "data-testid": `notes-input-${i}`, value: editing.draft, rows: 3,
      placeholder: "notes: what this direction does, where it breaks…", "aria-label": "notes",
      oninput: (e) => (editing.draft = e.target.value),
      onkeydown: (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          commitNotes(i);
        } else if (e.key === "Escape") {
          e.preventDefault();
          close();
        }
      },
      onblur: () => commitNotes(i),
    });
  }

  function row(d, i, active) {
    const name = d.label ?? `direction ${i}`;
    const notes = d.notes ?? "";
    const renaming = editing?.index === i && editing.kind === "rename";
    const noting = editing?.index === i && editing.kind === "notes";
    const icon = (testid, text, title, onclick, pressed) => h("button", {
      type: "button", class: "sw-icon-button", "data-testid": testid, text, title, "aria-label": title,
      "aria-pressed": pressed === undefined ? undefined : String(pressed), onclick,
      // Keep the focus in an open editor: its blur would commit and close it
      // before this click could toggle it.
      onmousedown: (e) => e.preventDefault(),
    });
    return h("li", { class: "sw-direction", "data-testid": `direction-${i}` },
      h("label", { class: "sw-direction-check", title: `handle for ${name}` },
        h("input", {
          type: "checkbox", "data-testid": `direction-active-${i}`, checked: active.has(i), "aria-label": `handle for ${name}`,
          onchange: (e) => toggle(i, e.target.checked),
        })),
      renaming
        ? renameInput(i)
        : h("span", { class: "sw-direction-label", title: `${name} (double-click to rename)`, ondblclick: () => edit(i, "rename", name) },
          h("span", { class: "sw-direction-name", "data-testid": `direction-name-${i}`, text: name }),
          notes ? h("span", { class: "sw-notes-marker", "data-testid": `notes-marker-${i}`, title: notes, text: "¶" }) : null),
      h("span", { class: "sw-direction-method", text: d.space ? `${d.method} · ${d.space}` : d.method }),
      h("span", { class: "sw-direction-score", text: formatScore(d.score), title: `score ${d.score}` }),
      h("span", { class: "sw-direction-tools" },
        icon(`rename-${i}`, "✎", "rename", () => (renaming ? commitRename(i) : edit(i, "rename", name))),
        icon(`notes-${i}`, "¶", notes ? `notes: ${notes}` : "notes", () => (noting ? commitNotes(i) : edit(i, "notes", notes)), noting)),
      // The kernel's doubt about a direction (a boundary from too few labels): said right under it.
      d.warning ? h("span", { class: "sw-direction-warning", "data-testid": `direction-warning-${i}`, text: `⚠ ${d.warning}` }) : null,
      noting ? notesInput(i) : null);
  }

  function show() {
    const directions = directionsOf(model);
    const active = new Set(model.get("active") ?? []);
    if (editing && editing.index >= directions.length) editing = null;
    empty.hidden = directions.length > 0;
    // Removing a focused editor may fire its blur: that is not a commit.
    rebuilding = true;
    try {
      list.replaceChildren(...directions.map((d, i) => row(d, i, active)));
    } finally {
      rebuilding = false;
    }
    const input = editing && list.querySelector(`[data-testid="${editing.kind}-input-${editing.index}"]`);
    if (input && document.activeElement !== input) {
      input.focus();
      if (editing.fresh && editing.kind === "rename") input.select();
    }
    if (editing) editing.fresh = false;
  }

  subs.on("change:directions", show);
  subs.on("change:active", show);
  show();
  return { el };
}
