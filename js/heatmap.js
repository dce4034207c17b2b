// The layer heatmap: rows are directions, columns are layers; a cell's colour
// says how much applying that direction at that layer matters. Clicking or
// brushing cells chooses where a direction is applied. With scorers, the colour
// can be an attribute's re-scoring Δ instead of the image change.
import { h } from "./dom.js";
import { directionsOf } from "./model.js";

// viridis at five stops: perceptually even, readable in light and dark themes.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** Colour of t ∈ [0, 1] on the viridis scale, as an rgb() string. */
export function viridis(t) {
  const x = Math.min(1, Math.max(0, Number(t) || 0)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const [r, g, b] = VIRIDIS[k].map((c, j) => Math.round(c + (VIRIDIS[k + 1][j] - c) * f));
  return `rgb(${r}, ${g}, ${b})`;
}

// Long layer names ("synthesis.b64.conv1") are cut to their tail; the title keeps the full name.
function abbreviate(name) {
  const tail = String(name).split(".").slice(-2).join(".");
  return tail.length > 10 ? `${tail.slice(0, 9)}…` : tail;
}

export function createHeatmap(model, send, subs) {
  const table = h("table", { class: "sw-heat-table" });
  const caption = h("p", { class: "sw-heat-caption", "data-testid": "heatmap-kind" });
  const attribute = h("select", {
    class: "sw-heat-attribute", "data-testid": "heatmap-attribute", "aria-label": "heatmap colour",
    title: "Colour by the mean image change, or by a scorer attribute's change", onchange: () => request(),
  });
  const recompute = h("button", {
    type: "button", class: "sw-button", "data-testid": "heatmap-recompute", text: "recompute",
    title: "Recompute the layer heatmap", onclick: () => request(),
  });
  const el = h("section", { class: "sw-heatmap", "data-testid": "heatmap" },
    h("div", { class: "sw-heat-head" }, h("h3", { class: "sw-heading", text: "Layers" }),
      h("div", { class: "sw-group" }, attribute, recompute)),
    h("div", { class: "sw-heat-scroll" }, table), caption);
  let brush = null; // {row, start, end} while a pointer is down on a cell

  function request() {
    send("heatmap", { attribute: attribute.value || null });
  }

  function showAttributes() {
    const names = model.get("attributes") ?? [];
    const chosen = attribute.value;
    attribute.replaceChildren(h("option", { value: "", text: "image change" }),
      ...names.map((name) => h("option", { value: name, text: name })));
    attribute.value = names.includes(chosen) ? chosen : "";
    attribute.hidden = names.length === 0;
  }

  const values = () => model.get("heatmap")?.values ?? [];
  const applicable = (row, col) => values()[row]?.[col] != null;
  const cellOf = (target) => target?.closest?.("td[data-row]");

  function build() {
    const heatmap = model.get("heatmap") ?? {};
    const columns = heatmap.columns ?? [];
    const rows = values();
    const directions = directionsOf(model);
    // Each row on its own scale: a row answers "at which layers does this direction act",
    // and one strong direction would otherwise leave every other row a single dark colour.
    // The cells' titles keep the values themselves.
    const scales = rows.map((row) => {
      const finite = row.filter((v) => v != null && Number.isFinite(v));
      const lo = Math.min(...finite);
      return { lo, span: Math.max(...finite) - lo };
    });
    caption.textContent = rows.length
      ? `colour: ${heatmap.kind ?? ""}, each row on its own scale`
      : "No heatmap yet: recompute.";
    const head = h("tr", {}, h("th", {}),
      ...columns.map((c) => h("th", { class: "sw-heat-col", scope: "col", title: c }, h("span", { text: abbreviate(c) }))));
    const body = rows.map((row, r) => h("tr", {},
      h("th", { class: "sw-heat-row", scope: "row", text: directions[r]?.label ?? `direction ${r}`, title: directions[r]?.label }),
      ...columns.map((c, col) => {
        const v = row[col];
        const ok = v != null && Number.isFinite(v);
        return h("td", {
          class: "sw-heat-cell", "data-testid": `heat-${r}-${col}`, "data-row": r, "data-col": col,
          "data-applicable": String(ok), tabindex: ok ? 0 : undefined,
          title: ok ? `${directions[r]?.label ?? r} @ ${c}: ${Number(v.toPrecision(3))}` : `${c}: not applicable`,
          style: ok ? `background-color: ${viridis(scales[r].span > 0 ? (v - scales[r].lo) / scales[r].span : 0.5)}` : undefined,
        });
      })));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
    select();
  }

  // Outline the layers each direction is applied at, and the range being brushed.
  function select() {
    const layers = model.get("layers") ?? [];
    for (const td of table.querySelectorAll("td[data-row]")) {
      const r = Number(td.dataset.row);
      const c = Number(td.dataset.col);
      td.setAttribute("data-selected", String((layers[r] ?? []).includes(c)));
      const brushed = brush && brush.row === r && range(brush).includes(c);
      if (brushed) td.setAttribute("data-brushed", "true");
      else td.removeAttribute("data-brushed");
    }
  }

  function range({ row, start, end }) {
    const cols = [];
    for (let c = Math.min(start, end); c <= Math.max(start, end); c++) if (applicable(row, c)) cols.push(c);
    return cols;
  }

  function setLayers(row, layers) {
    // A latent direction applied nowhere would silently do nothing: refuse. A
    // channel direction lives at one layer, so its cell switches it off and on.
    if (layers.length === 0 && directionsOf(model)[row]?.latent !== false) return;
    send("set_layers", { direction: row, layers: [...layers].sort((a, b) => a - b) });
  }

  function toggle(row, col) {
    if (!applicable(row, col)) return;
    const layers = new Set(model.get("layers")?.[row] ?? []);
    if (layers.has(col)) layers.delete(col);
    else layers.add(col);
    setLayers(row, [...layers]);
  }

  table.addEventListener("pointerdown", (e) => {
    const td = cellOf(e.target);
    if (!td || td.dataset.applicable !== "true" || (e.button !== undefined && e.button !== 0)) return;
    // Touch pointers are captured by the element they start on; release so that
    // pointerover reaches the other cells of the row.
    if (td.hasPointerCapture?.(e.pointerId)) td.releasePointerCapture(e.pointerId);
    brush = { row: Number(td.dataset.row), start: Number(td.dataset.col), end: Number(td.dataset.col), moved: false };
    e.preventDefault();
  });
  table.addEventListener("pointerover", (e) => {
    const td = cellOf(e.target);
    if (!brush || !td || Number(td.dataset.row) !== brush.row) return;
    brush.end = Number(td.dataset.col);
    brush.moved = brush.moved || brush.end !== brush.start;
    select();
  });
  const endBrush = (e) => {
    if (!brush) return;
    const done = brush;
    brush = null;
    select();
    // A press and release on one cell is a click, handled by the click listener.
    if (e.type === "pointerup" && done.moved) {
      setLayers(done.row, range(done));
      // The browser may follow with a click (on a common ancestor of the two
      // cells); it belongs to this brush, not to a toggle.
      suppressClick = true;
      setTimeout(() => (suppressClick = false), 0);
    }
  };
  let suppressClick = false;
  window.addEventListener("pointerup", endBrush);
  window.addEventListener("pointercancel", endBrush);
  table.addEventListener("click", (e) => {
    const td = cellOf(e.target);
    if (suppressClick) {
      suppressClick = false;
      return;
    }
    if (td) toggle(Number(td.dataset.row), Number(td.dataset.col));
  });
  table.addEventListener("keydown", (e) => {
    const td = cellOf(e.target);
    if (!td || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault();
    toggle(Number(td.dataset.row), Number(td.dataset.col));
  });

  subs.on("change:heatmap", build);
  subs.on("change:directions", build);
  subs.on("change:layers", select);
  subs.on("change:attributes", showAttributes);
  showAttributes();
  build();
  return {
    el,
    destroy() {
      window.removeEventListener("pointerup", endBrush);
      window.removeEventListener("pointercancel", endBrush);
    },
  };
}
