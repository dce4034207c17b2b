// The model the widget talks to: anywidget's portable model interface, the
// synced traits it carries (listed by name in messages.js), and the one way
// components send requests.
import { REQUESTS } from "./messages.js";

/**
 * @typedef {{label: string, method: string, score: number | null, space: string,
 *   latent: boolean, sigma: number | null, extent: number, notes?: string}} Direction
 * @typedef {{columns: string[], values: (number | null)[][], kind: string}} Heatmap
 * @typedef {{label: string, value: number, total: number}} Progress
 * @typedef {{
 *   directions: Direction[], alphas: number[], active: number[], layers: number[][],
 *   pad: number[], seed: number, n_samples: number, columns: number, resolution: number,
 *   heatmap: Heatmap | {}, feature_layers: string[], render_seq: number,
 *   frame_checksum: number, error: string, busy: boolean, progress: Progress | {},
 *   can_undo: boolean, can_redo: boolean, attribute: string, cell_labels: number[],
 *   label_counts: {[attribute: string]: [number, number]}, attributes: string[],
 *   annotations_path: string,
 * }} Traits
 * @typedef {{
 *   get<K extends keyof Traits>(key: K): Traits[K],
 *   set(key: string, value: unknown): void,
 *   save_changes(): void,
 *   on(event: string, fn: Function): void,
 *   off(event: string, fn?: Function): void,
 *   send(content: object, callbacks?: unknown, buffers?: ArrayBuffer[]): void,
 * }} Model
 */

/** Send a request (with binary buffers, for the kinds that carry files); an unknown
 * kind is a bug in this front end, so fail loudly. */
export function send(model, kind, fields = {}, buffers = undefined) {
  if (!REQUESTS.includes(kind)) {
    throw new Error(`unknown request kind ${JSON.stringify(kind)}; expected one of ${REQUESTS.join(", ")}`);
  }
  if (buffers) model.send({ kind, ...fields }, undefined, buffers);
  else model.send({ kind, ...fields });
}

/**
 * Subscriptions that are all removed together when the view goes away, so a
 * re-displayed widget does not leave listeners behind on the shared model.
 */
export function subscriptions(model) {
  const offs = [];
  return {
    on(event, fn) {
      model.on(event, fn);
      offs.push(() => model.off(event, fn));
    },
    dispose() {
      for (const off of offs.splice(0)) off();
    },
  };
}

/** The directions trait, never undefined. */
export function directionsOf(model) {
  return model.get("directions") ?? [];
}

/** A direction's half-range for handles and the pad; 3 when the kernel gives none. */
export function extentOf(direction) {
  const e = Number(direction?.extent);
  return Number.isFinite(e) && e > 0 ? e : 3;
}
