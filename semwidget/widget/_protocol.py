"""The Explorer's wire protocol: synced traits and message kinds.

State that persists is a trait (synced both ways by ipywidgets). Requests and
events are custom messages ``{"kind": ..., ...}``; images travel as binary
buffers beside a message, never as base64 traits. ``js/messages.js`` lists the
same kinds; ``tests/widget/test_protocol.py`` checks that the two agree.

Front end → kernel (requests)
-----------------------------
Every request may carry ``rid`` (int): the kernel answers ``ack {rid}`` as soon as
the request reaches its comm handler, before any work, so the page can tell a
kernel that is busy from one that never got the message (js/channel.js).

render       {seq: int, alphas: [float], final: bool}
             Show the grid at these α (one per direction, in the direction's
             units: σ for directions with a ``sigma``, raw otherwise; a handle's
             track spans ±``extent``). ``final`` is true
             when a drag ends: the frame then comes as PNG, else as JPEG.
             Newest wins: a request superseded before it is rendered is dropped.
set_active   {seq, active: [int]}                 directions with a handle
set_layers   {seq, direction: int, layers: [int]} heatmap columns a direction is applied at
set_pad      {pair: [int, int]}                   the two directions of the 2-D pad
new_seeds    {seq, seed: int | null}              null: the next n_samples seeds
undo, redo, reset  {seq}

Every request that changes the image carries a ``seq`` from the same counter as
``render``, and its frame comes back with that seq: the front end numbers all
requests, so the newest frame always has the highest number.
compute      {method: "sefa" | "ganspace", n_directions: int,
              feature_layer: str | null}    add directions from a finder
heatmap      (see below)                      recompute the layer heatmap
export_png   {}                               the grid as PNG
export_gif   {direction: int, frames: int, extent: float}
copy_code    {}                               Python that reproduces the edit

Labelling and naming (annotations)
set_attribute {name: str}                     the attribute cells are labelled for
label        {cell: int, value: int, seed: int | null}
                                              1 positive, -1 negative, 0 none, for the
                                              sample in that cell of the grid whose first
                                              seed is ``seed`` (the frame on screen; null:
                                              the kernel's current grid); stored by seed
train        {}                               fit a boundary from the current attribute's
                                              labels (at least 4 + 4) and add it as a direction
rename       {direction: int, label: str}
note         {direction: int, text: str}
save         {path: str}                      annotations → <name>.json + .npz (atomic); ``path`` is a
                                              name inside the Explorer's annotations_dir, nothing else
load         {path: str}                      annotations saved on the same model, by name likewise
heatmap      {attribute: str | null}          null: mean image change; else HiGAN's
                                              re-scoring Δ of that scorer attribute

Kernel → front end (events)
---------------------------
ack      {rid: int}                           the request numbered ``rid`` arrived
frame    {seq, seed, mime, width, height, cell, columns, count, checksum} + [image bytes]
         One sprite holding ``count`` cells of ``cell``×``cell`` pixels,
         ``columns`` per row; ``checksum`` is the CRC-32 of the bytes; ``seed``
         is the first seed of the grid it shows.
error    {seq: int | null, message: str}      shown in the widget; it keeps working
file     {name, mime} + [bytes]               a download (PNG grid, GIF traversal)
code     {text: str}                          for the clipboard
"""

from __future__ import annotations

REQUESTS: dict[str, dict[str, str]] = {
    "render": {"seq": "int", "alphas": "floats", "final": "bool"},
    "set_active": {"seq": "int", "active": "ints"},
    "set_layers": {"seq": "int", "direction": "int", "layers": "ints"},
    "set_pad": {"pair": "ints"},
    "new_seeds": {"seq": "int", "seed": "int?"},
    "undo": {"seq": "int"},
    "redo": {"seq": "int"},
    "reset": {"seq": "int"},
    "compute": {"method": "str", "n_directions": "int", "feature_layer": "str?"},
    "heatmap": {"attribute": "str?"},
    "export_png": {},
    "export_gif": {"direction": "int", "frames": "int", "extent": "float"},
    "copy_code": {},
    "set_attribute": {"name": "str"},
    "label": {"cell": "int", "value": "int", "seed": "int?"},
    "train": {},
    "rename": {"direction": "int", "label": "str"},
    "note": {"direction": "int", "text": "str"},
    "save": {"path": "str"},
    "load": {"path": "str"},
}

EVENTS: tuple[str, ...] = ("ack", "frame", "error", "file", "code")

# Traits the front end reads (and, for the first group, writes through requests only).
TRAITS: tuple[str, ...] = (
    "directions",  # [{label, method, score, space, latent, sigma, extent, notes}] one per direction
    "alphas",  # [float] α per direction at the newest final render (drag end, key press, undo...)
    "active",  # [int] directions with a handle
    "layers",  # [[int]] per direction: columns of the heatmap it is applied at
    "pad",  # [int, int] or []: the directions of the 2-D pad
    "seed",  # int: first seed of the grid
    "n_samples",  # int: grid cells
    "columns",  # int: grid columns
    "resolution",  # int: pixels per cell side as sent
    "heatmap",  # {columns: [str], values: [[float|null]], kind: str}
    "feature_layers",  # [str]: feature layers a finder can run on
    "render_seq",  # int: seq of the newest frame sent
    "frame_checksum",  # int: CRC-32 of the newest frame's bytes
    "error",  # str: the newest error, "" when none
    "busy",  # bool: the kernel is working on a slow request
    "progress",  # {label: str, value: int, total: int} or {}
    "can_undo",  # bool
    "can_redo",  # bool
    "attribute",  # str: the attribute being labelled ("" before one is named)
    "cell_labels",  # [int] per grid cell: 1, -1 or 0 for the current attribute
    "label_counts",  # {attribute: [positives, negatives]} over all seeds labelled
    "attributes",  # [str]: scorer attributes the heatmap can re-score (empty without scorers)
    "annotations_path",  # str: where annotations were last saved or loaded from
    "comm_id",  # str: the widget's comm id (js/channel.js checks that comm's kernel subshell)
)

MAX_TEXT = 10_000  # characters in any string field (names, notes, paths)
RID_MAX = 2**53 - 1  # request ids are JavaScript numbers: integers up to this are exact


def request_id(content: object) -> int | None:
    """The ``rid`` of a request to acknowledge, or None when it has none (or a bad one)."""
    rid = content.get("rid") if isinstance(content, dict) else None
    if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= RID_MAX:
        return rid
    return None


def _encodable(text: str) -> bool:
    """UTF-8 can carry it (no lone surrogates), so it can go back to the page and into files."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ProtocolError(ValueError):
    """A request from the front end that does not fit the protocol."""


def _check(kind: str, field: str, spec: str, value: object) -> object:
    optional = spec.endswith("?")
    spec = spec.rstrip("?")
    if value is None and optional:
        return None
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str) and len(v) <= MAX_TEXT and _encodable(v),
        "ints": lambda v: isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v),
        "floats": lambda v: (
            isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        ),
    }[spec](value)
    if not ok:
        what = f"{spec} (UTF-8 text, at most {MAX_TEXT} characters)" if spec == "str" else spec
        raise ProtocolError(
            f"message {kind!r}: field {field!r} must be {what}{' or null' if optional else ''}, "
            f"got {type(value).__name__} {ascii(value)[:60]}"
        )
    return value


def parse_request(content: object) -> tuple[str, dict[str, object]]:
    """Validate a message from the front end; returns (kind, fields)."""
    if not isinstance(content, dict) or "kind" not in content:
        raise ProtocolError(f"a request must be an object with a 'kind'; got {content!r:.80}")
    kind = content["kind"]
    if kind not in REQUESTS:
        raise ProtocolError(f"unknown request kind {kind!r}; expected one of {sorted(REQUESTS)}")
    fields = {}
    for field, spec in REQUESTS[kind].items():
        if field not in content and not spec.endswith("?"):
            raise ProtocolError(f"message {kind!r} lacks the field {field!r} ({spec})")
        fields[field] = _check(kind, field, spec, content.get(field))
    return kind, fields
