"""The Explorer's wire protocol, validated against one schema file.

``_schema.json`` beside this module lists every request kind with its fields,
types and bounds, the events the kernel sends, and the synced traits (those the
page may write, with bounds, and those it only reads). This module checks every
message and trait write from the page against it; ``js/messages.js`` bundles the
same file, so the two sides cannot drift apart.

State that persists is a trait (synced both ways by ipywidgets; the page writes
only ``traits.writable``). Requests and events are custom messages
``{"kind": ..., ...}``; images travel as binary buffers beside a message.

Front end → kernel (requests)
-----------------------------
Every request may carry ``rid`` (int): the kernel answers ``ack {rid}`` as soon as
the request reaches its comm handler, before any work, so the page can tell a
kernel that is busy from one that never got the message (js/channel.js).

render       {seq, alphas: [float], ids: [int] | null, final: bool}
             Show the grid at these α (σ units for directions with a ``sigma``,
             raw otherwise). With ``ids`` (the ``id`` of each direction in the
             ``directions`` trait), α go to those directions and every other keeps
             its α, so a request made before directions were added or removed
             still means what the page meant; without, one α per direction.
             ``final``: a drag ended (PNG at rest, JPEG while moving).
set_active   {seq, active: [int]}                 directions with a handle
set_layers   {seq, direction: int, layers: [int]} heatmap columns a direction is applied at
set_pad      {pair: [int, int]}                   the two directions of the 2-D pad
new_seeds    {seq, seed: int | null}              null: the next n_samples seeds
undo, redo, reset  {seq}                          walk whole session states

Every request that changes the image carries a ``seq`` from the page's counter
("numbered" in the schema) and its frame comes back with that seq.

compute      {method, n_directions, feature_layer}  add directions from a finder (a job)
heatmap      {attribute: str | null}          recompute the layer heatmap (a job)
cancel       {}                               stop the running job and drop queued ones
export_png   {scale: int | null}              the grid at the model's resolution × scale
export_gif   {direction, frames, extent}      a traversal, each frame labelled with its α
copy_code    {}                               Python that reproduces the edit
set_attribute {name}                          the attribute cells are labelled for
label        {cell, value, seed}              1, -1 or 0 for the latent on screen in that cell
train        {}                               a boundary from the current attribute's labels
rename       {direction, label}; note {direction, text}
save, load   {path}                           a *name* inside the Explorer's annotations_dir
invert       {seq, names: [str]} + [bytes]    image files to invert and show after the samples
remove_image {seq, uid}                       take a real image off the grid
original     {uid}                            ask for the image a real cell was fitted to
shift_content {seq, cell, dx, dy, scope, final}  a drag inside a cell: the content moves dx image
             widths right and dy heights down (since the previous request), through the
             fitted shift_x / shift_y factors; scope "all" moves every cell (the factors'
             α), "cell" only this one (a per-cell move in the session)
turn_content {seq, cell, degrees, scope, final}  Shift+drag: turns it counter-clockwise (rotation)
zoom_content {seq, cell, ratio, scope, final}    the wheel: scales it by ratio (zoom)
fit_factor   {transform}                      fit a ContinuousFactor here (a job) and add it

Kernel → front end (events)
---------------------------
ack      {rid}
frame    {seq, version, seed, mime, width, height, cell, columns, count, checksum, reals} + [bytes]
         ``version``: the session state it shows; ``seed``: first seed of the grid;
         ``reals``: [{uid, name, psnr, original}] for the cells after the samples;
         ``amounts``: [{id, t, text}] per factor direction, its amount in the
         transformation's units ("+12 px", "×1.20", "+15°"; "· max" at the fitted end);
         ``cell_amounts``: [{cell, text}] for cells moved on their own.
error    {seq: int | null, message: str}      shown in the widget; it keeps working
file     {name, mime} + [bytes]               a download
code     {text: str}                          for the clipboard
original {uid} + [png bytes]                  the image a real cell was fitted to
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..common._checks import is_finite_number, is_int

SCHEMA: dict[str, Any] = json.loads((Path(__file__).with_name("_schema.json")).read_text(encoding="utf-8"))

REQUESTS: dict[str, dict[str, dict[str, Any]]] = {kind: spec["fields"] for kind, spec in SCHEMA["requests"].items()}
BUFFERS: dict[str, dict[str, int]] = {
    kind: spec["buffers"] for kind, spec in SCHEMA["requests"].items() if "buffers" in spec
}
NUMBERED: frozenset[str] = frozenset(kind for kind, spec in SCHEMA["requests"].items() if spec.get("numbered"))
EVENTS: tuple[str, ...] = tuple(SCHEMA["events"])
WRITABLE: dict[str, dict[str, Any]] = SCHEMA["traits"]["writable"]
TRAITS: tuple[str, ...] = tuple(WRITABLE) + tuple(SCHEMA["traits"]["readonly"])

MAX_TEXT: int = SCHEMA["limits"]["text"]  # characters in any string field (names, notes, paths)
RID_MAX: int = SCHEMA["limits"]["rid"]  # request ids are JavaScript numbers: integers up to this are exact
MAX_DIRECTIONS: int = SCHEMA["limits"]["directions"]


class ProtocolError(ValueError):
    """A request or trait write from the front end that does not fit the protocol."""


def request_id(content: object) -> int | None:
    """The ``rid`` of a request to acknowledge, or None when it has none (or a bad one)."""
    rid = content.get("rid") if isinstance(content, dict) else None
    if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= RID_MAX:
        return rid
    return None


def encodable(text: str) -> bool:
    """UTF-8 can carry it (no lone surrogates), so it can go back to the page and into files."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _in_bounds(v: float, spec: dict[str, Any]) -> bool:
    return spec.get("min", -math.inf) <= v <= spec.get("max", math.inf)


def _fits(value: object, spec: dict[str, Any]) -> bool:
    kind = spec["type"]
    if kind == "int":
        return is_int(value) and _in_bounds(value, spec)  # type: ignore[arg-type]
    if kind == "float":
        return is_finite_number(value) and _in_bounds(value, spec)  # type: ignore[arg-type]
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str) and len(value) <= MAX_TEXT and encodable(value)
    if kind == "enum":
        return isinstance(value, str) and value in spec["values"]
    if kind == "strs":
        return (
            isinstance(value, list)
            and len(value) <= spec["max_items"]
            and all(isinstance(x, str) and len(x) <= MAX_TEXT and encodable(x) for x in value)
        )
    if kind in ("ints", "floats"):
        item = is_int if kind == "ints" else is_finite_number
        return (
            isinstance(value, list)
            and len(value) <= spec.get("max_items", MAX_DIRECTIONS)
            and all(item(x) and _in_bounds(x, spec) for x in value)
        )
    raise AssertionError(f"_schema.json: unknown field type {kind!r}")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def describe(spec: dict[str, Any]) -> str:
    """A field's type and bounds in words, for error messages."""
    kind = spec["type"]
    if kind == "str":
        return f"a string (UTF-8 text, at most {MAX_TEXT} characters)"
    if kind == "enum":
        return f"one of {spec['values']}"
    if kind == "strs":
        return f"a list of at most {spec['max_items']} strings"
    bounds = f" in [{_number(spec['min'])}, {_number(spec['max'])}]" if "min" in spec else ""
    words = {"int": "an integer", "float": "a finite number", "bool": "true or false"}
    if kind in words:
        return words[kind] + bounds
    item = "integers" if kind == "ints" else "finite numbers"
    return f"a list of at most {spec.get('max_items', MAX_DIRECTIONS)} {item}{bounds}"


def check_field(where: str, field: str, spec: dict[str, Any], value: object) -> object:
    if value is None and spec.get("nullable"):
        return None
    if not _fits(value, spec):
        raise ProtocolError(
            f"{where}: field {field!r} must be {describe(spec)}{' or null' if spec.get('nullable') else ''}, "
            f"got {type(value).__name__} {ascii(value)[:60]}"
        )
    return value


def parse_request(content: object, buffers: Sequence[object] = ()) -> tuple[str, dict[str, object]]:
    """Validate a message from the front end and its binary buffers; returns (kind, fields),
    the fields including ``buffers`` (as ``bytes``) for the kinds that carry them."""
    if not isinstance(content, dict) or "kind" not in content:
        raise ProtocolError(f"a request must be an object with a 'kind'; got {ascii(content)[:80]}")
    kind = content["kind"]
    if not isinstance(kind, str) or kind not in REQUESTS:
        raise ProtocolError(f"unknown request kind {ascii(kind)[:40]}; expected one of {sorted(REQUESTS)}")
    fields = {}
    for field, spec in REQUESTS[kind].items():
        if field not in content and not spec.get("nullable"):
            raise ProtocolError(f"message {kind!r} lacks the field {field!r} ({describe(spec)})")
        fields[field] = check_field(f"message {kind!r}", field, spec, content.get(field))
    bounds = BUFFERS.get(kind, {"min": 0, "max": 0, "max_bytes": 0})
    if not bounds["min"] <= len(buffers) <= bounds["max"]:
        raise ProtocolError(
            f"message {kind!r} carries {len(buffers)} binary buffers; expected {bounds['min']} to {bounds['max']}"
        )
    data = [memoryview(b) for b in buffers if isinstance(b, (bytes, bytearray, memoryview))]
    if len(data) != len(buffers) or any(b.nbytes > bounds["max_bytes"] for b in data):
        raise ProtocolError(f"message {kind!r}: each buffer must be bytes of at most {bounds['max_bytes']} bytes")
    if kind in BUFFERS:
        fields["buffers"] = [b.tobytes() for b in data]
    return kind, fields


def check_trait_write(name: object, value: object) -> None:
    """A trait write from the page: only the writable traits, within their bounds."""
    if not isinstance(name, str) or name not in WRITABLE:
        raise ProtocolError(
            f"the page may set only the traits {sorted(WRITABLE)}; {ascii(name)[:40]} is the kernel's to set"
        )
    check_field("trait write", name, WRITABLE[name], value)
