// The layer heatmap: rows are directions, columns are layers; a cell's colour
// says how much applying that direction at that layer matters. Clicking or
// brushing cells chooses where a direction is applied. With scorers, the colour
// can be an attribute's re-scoring Δ instead of the image change.
import { h } from "./dom.js";
import { formatScore } from "./format.js";
import { directionsOf } from "./model.js";

// How long a row stays marked as waiting for the kernel after a set_layers, if
// neither `layers` nor `heatmap` changes and no error comes back: a request the
// kernel accepted without changing anything must not leave the row pulsing.
export const PENDING_MS = 5000;

// The two colour scales. Per row answers "at which layers does this direction
// act" (one strong direction would otherwise leave every other row one dark
// colour); global compares directions with each other.
const SCALES = {
  row: {
    option: "per row", caption: "each row on its own scale (a one-layer row on the global one)",
    legend: "each row from its min to its max",
  },
  global: { option: "global", caption: "one scale over all cells", legend: "one scale over all cells" },
};

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

/** {lo, span} of the finite values, or null when there are none. */
function scaleOf(values) {
  const finite = values.filter((v) => v != null && Number.isFinite(v));
  if (finite.length === 0) return null;
  const lo = Math.min(...finite);
  return { lo, span: Math.max(...finite) - lo };
}

/** Where v falls on a scale, 0..1; a scale of one value puts it in the middle. */
function position(v, scale) {
  return scale.span > 0 ? (v - scale.lo) / scale.span : 0.5;
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
  // A view preference, not a trait: two views of one Explorer may colour differently.
  const normalize = h("select", {
    class: "sw-heat-normalize", "data-testid": "heatmap-normalize", "aria-label": "colour scale",
    title: "Colour each row on its own scale, or all cells on one", onchange: () => build(),
  }, ...Object.entries(SCALES).map(([value, { option }]) => h("option", { value, text: option })));
  const legendLow = h("span", { class: "sw-legend-end", "data-testid": "heatmap-legend-low" });
  const legendHigh = h("span", { class: "sw-legend-end", "data-testid": "heatmap-legend-high" });
  const legendNote = h("span", { class: "sw-legend-note", "data-testid": "heatmap-legend-note" });
  const legend = h("div", { class: "sw-heat-legend", "data-testid": "heatmap-legend" },
    legendLow,
    // The bar is drawn from the same stops as the cells, so the two cannot disagree.
    h("span", {
      class: "sw-legend-bar", "aria-hidden": "true",
      style: `background: linear-gradient(to right, ${VIRIDIS.map((_, k) => viridis(k / (VIRIDIS.length - 1))).join(", ")})`,
    }),
    legendHigh, legendNote);
  // The value under the pointer (or the focused cell), so reading one needs no tooltip delay.
  const readout = h("p", { class: "sw-heat-readout", "data-testid": "heatmap-readout", "aria-live": "polite" });
  const el = h("section", { class: "sw-heatmap", "data-testid": "heatmap" },
    h("div", { class: "sw-heat-head" }, h("h3", { class: "sw-heading", text: "Layers" }),
      h("div", { class: "sw-group" }, normalize, attribute, recompute)),
    h("div", { class: "sw-heat-scroll" }, table), readout, legend, caption);
  let brush = null; // {row, start, end} while a pointer is down on a cell
  // Rows whose set_layers is on its way: marked until the kernel answers.
  const pending = new Set();
  let pendingTimer = 0;

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

  const nameOf = (r) => directionsOf(model)[r]?.label ?? `direction ${r}`;

  /** "<direction> @ <layer>: <value>", the cell's title and its readout. */
  function describe(r, col) {
    const column = model.get("heatmap")?.columns?.[col] ?? col;
    const v = values()[r]?.[col];
    const ok = v != null && Number.isFinite(v);
    return ok ? `${nameOf(r)} @ ${column}: ${Number(v.toPrecision(3))}` : `${nameOf(r)} @ ${column}: not applicable`;
  }

  function build() {
    const heatmap = model.get("heatmap") ?? {};
    const columns = heatmap.columns ?? [];
    const rows = values();
    const global = normalize.value === "global";
    const all = scaleOf(rows.flat());
    // A row with one layer only (a DCGAN's direction acts at z or at one feature map) has
    // no range of its own: it is coloured on the global scale, so rows still compare.
    const scales = global ? rows.map(() => all) : rows.map((row) => {
      const own = scaleOf(row);
      return own && own.span > 0 ? own : all;
    });
    const scale = SCALES[normalize.value];
    caption.textContent = rows.length
      ? `colour: ${heatmap.kind ?? ""}, ${scale.caption}`
      : "No heatmap yet: recompute.";
    legend.hidden = !all;
    readout.hidden = !all;
    if (all) {
      legendLow.textContent = global ? formatScore(all.lo) : "min";
      legendHigh.textContent = global ? formatScore(all.lo + all.span) : "max";
      legendNote.textContent = scale.legend;
    }
    const head = h("tr", {}, h("th", {}),
      ...columns.map((c) => h("th", { class: "sw-heat-col", scope: "col", title: c }, h("span", { text: abbreviate(c) }))));
    const body = rows.map((row, r) => h("tr", {},
      h("th", { class: "sw-heat-row", scope: "row", text: nameOf(r), title: nameOf(r) }),
      ...columns.map((c, col) => {
        const v = row[col];
        const ok = v != null && Number.isFinite(v);
        return h("td", {
          class: "sw-heat-cell", "data-testid": `heat-${r}-${col}`, "data-row": r, "data-col": col,
          "data-applicable": String(ok), tabindex: ok ? 0 : undefined,
          title: ok ? describe(r, col) : `${c}: not applicable`,
          style: ok ? `background-color: ${viridis(position(v, scales[r]))}` : undefined,
        });
      })));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
    showReadout(null);
    select();
  }

  function showReadout(td) {
    readout.textContent = td ? describe(Number(td.dataset.row), Number(td.dataset.col)) : "hover a cell for its value";
    readout.classList.toggle("sw-heat-readout-idle", !td);
  }

  function markPending(row) {
    pending.add(row);
    clearTimeout(pendingTimer);
    pendingTimer = setTimeout(clearPending, PENDING_MS);
    select();
  }

  /** The kernel answered (or never will): no row is waiting any more. */
  function clearPending() {
    clearTimeout(pendingTimer);
    pendingTimer = 0;
    if (pending.size === 0) return;
    pending.clear();
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
      if (pending.has(r)) td.setAttribute("data-pending", "true");
      else td.removeAttribute("data-pending");
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
    markPending(row);
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
    if (td) showReadout(td);
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

  // Leaving the table shows the focused cell again, if it has one.
  table.addEventListener("pointerleave", () => {
    const focused = table.contains(document.activeElement) ? document.activeElement : null;
    showReadout(cellOf(focused));
  });
  table.addEventListener("focusin", (e) => showReadout(cellOf(e.target)));
  table.addEventListener("focusout", () => showReadout(null));

  subs.on("change:heatmap", () => {
    clearPending();
    build();
  });
  subs.on("change:directions", build);
  subs.on("change:layers", () => {
    clearPending();
    select();
  });
  subs.on("change:error", clearPending);
  subs.on("change:attributes", showAttributes);
  showAttributes();
  build();
  return {
    el,
    /** Stop marking rows as waiting: for answers the heatmap cannot see, like an error event. */
    clearPending,
    destroy() {
      clearTimeout(pendingTimer);
      window.removeEventListener("pointerup", endBrush);
      window.removeEventListener("pointercancel", endBrush);
    },
  };
}
