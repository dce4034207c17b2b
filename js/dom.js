// A tiny element builder, so components read as a layout instead of a list of
// createElement/setAttribute calls.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "readOnly", "tabIndex"]);

/**
 * h("button", {class: "x", "data-testid": "undo", onclick: fn, text: "Undo"}, ...children)
 * `on*` keys add listeners, `text` sets textContent, a few keys are DOM
 * properties (value, checked, disabled, ...), everything else is an attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, String(value));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Clamp x into [lo, hi]. */
export function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}

/** Fraction (0..1) of a pointer position across an element, clamped. */
export function fractionAcross(el, event) {
  const rect = el.getBoundingClientRect();
  // Knobs are placed in the padding box (inside any border): measure the same box.
  const width = el.clientWidth || rect.width;
  const height = el.clientHeight || rect.height;
  const left = rect.left + (el.clientWidth ? el.clientLeft : 0);
  const top = rect.top + (el.clientHeight ? el.clientTop : 0);
  const fx = width > 0 ? (event.clientX - left) / width : 0.5;
  const fy = height > 0 ? (event.clientY - top) / height : 0.5;
  return [clamp(fx, 0, 1), clamp(fy, 0, 1)];
}
