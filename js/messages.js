// The Explorer's protocol, from the one schema file the kernel validates against
// (semwidget/widget/_schema.json, bundled here by esbuild): request kinds and their
// fields, the events the kernel sends, and the synced traits.
import schema from "../semwidget/widget/_schema.json";

export const SCHEMA = schema;

/** Requests the front end sends to the kernel. */
export const REQUESTS = Object.keys(schema.requests);

/** Requests that change the image: they carry a seq and their frame comes back with it. */
export const NUMBERED_KINDS = REQUESTS.filter((kind) => schema.requests[kind].numbered);

/** Events the kernel sends to the front end. */
export const EVENTS = [...schema.events];

/** Synced traits: those the page may write, then those it only reads. */
export const WRITABLE_TRAITS = Object.keys(schema.traits.writable);
export const TRAITS = [...WRITABLE_TRAITS, ...schema.traits.readonly];
