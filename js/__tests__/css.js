// widget.css as the CSSOM sees it. happy-dom parses stylesheets but does no
// layout and ignores container queries when computing styles, so layout tests
// read the rules themselves: which declarations a selector gets, at the top
// level or inside one @container block.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// A path, not a URL: happy-dom replaces the global URL, which node:fs does not accept.
const CSS = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../widget.css"), "utf8");

function rules() {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  return [...sheet.cssRules];
}

/**
 * {property: value} that rules naming `selector` (one of a rule's comma-separated
 * selectors, exactly) declare; later rules win, as in the cascade. `container`:
 * the condition of the @container block to look in ("semwidget (min-width: 600px)"),
 * or null for the top level.
 */
export function declared(selector, container = null) {
  const scope = container === null
    ? rules()
    : rules().filter((r) => r.constructor.name === "CSSContainerRule" && r.cssText.startsWith(`@container ${container}`))
      .flatMap((r) => [...r.cssRules]);
  const out = {};
  for (const rule of scope) {
    if (!rule.selectorText?.split(",").map((s) => s.trim()).includes(selector)) continue;
    for (let i = 0; i < rule.style.length; i++) out[rule.style[i]] = rule.style.getPropertyValue(rule.style[i]);
  }
  return out;
}
