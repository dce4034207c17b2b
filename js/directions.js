// The list of directions: which exist, how they were found, how strong they
// are, and a checkbox for which ones get a handle.
import { h } from "./dom.js";
import { formatScore } from "./format.js";
import { directionsOf } from "./model.js";

export function createDirections(model, send, subs) {
  const list = h("ol", { class: "sw-directions-list" });
  const empty = h("p", { class: "sw-empty", text: "No directions yet: compute some below." });
  const el = h("section", { class: "sw-directions", "data-testid": "directions" },
    h("h3", { class: "sw-heading", text: "Directions" }), empty, list);

  function toggle(i, on) {
    const active = new Set(model.get("active") ?? []);
    if (on) active.add(i);
    else active.delete(i);
    send("set_active", { active: [...active].sort((a, b) => a - b) });
  }

  function show() {
    const directions = directionsOf(model);
    const active = new Set(model.get("active") ?? []);
    empty.hidden = directions.length > 0;
    list.replaceChildren(...directions.map((d, i) => h("li", { class: "sw-direction", "data-testid": `direction-${i}` },
      h("label", { class: "sw-direction-label", title: d.label },
        h("input", {
          type: "checkbox", "data-testid": `direction-active-${i}`, checked: active.has(i),
          onchange: (e) => toggle(i, e.target.checked),
        }),
        h("span", { text: d.label ?? `direction ${i}` })),
      h("span", { class: "sw-direction-method", text: d.space ? `${d.method} · ${d.space}` : d.method }),
      h("span", { class: "sw-direction-score", text: formatScore(d.score), title: `score ${d.score}` }))));
  }

  subs.on("change:directions", show);
  subs.on("change:active", show);
  show();
  return { el };
}
