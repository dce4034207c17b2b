// The Explorer's message kinds; must match semwidget/widget/_protocol.py
// (tests/widget/test_protocol.py checks that the two lists agree).

/** Requests the front end sends to the kernel. */
export const REQUESTS = [
  "render",
  "set_active",
  "set_layers",
  "set_pad",
  "new_seeds",
  "undo",
  "redo",
  "reset",
  "compute",
  "heatmap",
  "export_png",
  "export_gif",
  "copy_code",
  "set_attribute",
  "label",
  "train",
  "rename",
  "note",
  "save",
  "load",
];

/** Events the kernel sends to the front end. */
export const EVENTS = ["ack", "frame", "error", "file", "code"];

/** Synced traits the front end reads. */
export const TRAITS = [
  "directions",
  "alphas",
  "active",
  "layers",
  "pad",
  "seed",
  "n_samples",
  "columns",
  "resolution",
  "heatmap",
  "feature_layers",
  "render_seq",
  "frame_checksum",
  "error",
  "busy",
  "progress",
  "can_undo",
  "can_redo",
  "attribute",
  "cell_labels",
  "label_counts",
  "attributes",
  "annotations_path",
  "comm_id",
];
