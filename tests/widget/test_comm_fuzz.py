"""Fuzz the Explorer's comm with malformed messages and trait writes, as a hostile or
buggy page would send them: every one is refused with an error in the widget, nothing
escapes, nothing is allocated from an unchecked size, and the widget keeps working."""

from __future__ import annotations

import io
import json
import math

import numpy as np
from PIL import Image

from semwidget import Explorer
from semwidget.widget._protocol import REQUESTS
from tests.widget.factors import planted
from tests.widget.page import Escaped, deliver, expected_frame, frames, request, write_traits

N_MESSAGES = 10_000

_JUNK = [
    None,
    True,
    -1,
    0,
    2**53,
    2**64,
    -(2**63),
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "x" * 10_001,
    "\ud800",
    "../../etc/passwd",
    "main.5",
    [],
    [1] * 2000,
    [math.nan],
    ["a"],
    [[1]],
    {},
    {"kind": "render"},
    b"bytes",
]


def _png_bytes() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((12, 12, 3), 200, np.uint8)).save(out, format="PNG")
    return out.getvalue()


_PNG = _png_bytes()


def _junk(rng: np.random.Generator) -> object:
    return _JUNK[rng.integers(len(_JUNK))]


def _valid_field(spec: dict, rng: np.random.Generator) -> object:
    kind = spec["type"]
    lo, hi = spec.get("min", 0), spec.get("max", 3)
    if kind == "int":
        return int(rng.integers(lo, min(hi, lo + 5) + 1))
    if kind == "float":
        return float(rng.uniform(lo, min(hi, lo + 5)))
    if kind == "bool":
        return bool(rng.integers(2))
    if kind == "str":
        return "smile"
    if kind == "enum":
        return spec["values"][rng.integers(len(spec["values"]))]
    if kind == "strs":
        return ["photo.png"]
    return [int(lo)] if kind == "ints" else [float(lo)]


def _buffers(rng: np.random.Generator) -> list[bytes]:
    """Binary buffers beside a request: an image, junk, none, or too many."""
    return [[], [_PNG], [b"\x00" * 100], [_PNG] * 9, [b"GIF89a" + b"\xff" * 20]][rng.integers(5)]


def _malformed(rng: np.random.Generator) -> tuple[str, object]:
    """One page message: ('custom', content), ('update', state) or ('raw', data)."""
    roll = rng.random()
    if roll < 0.1:  # the envelope itself
        return "raw", [
            None,
            5,
            "update",
            {"method": "explode"},
            {"method": "update", "state": 3},
            {"method": "update", "state": {}, "buffer_paths": [["columns"]]},
            {"nomethod": 1},
            {"method": "custom"},
        ][rng.integers(8)]
    if roll < 0.3:  # trait writes: unknown, read-only, out of bounds, wrong type
        name = ["columns", "resolution", "alphas", "seed", "n_samples", "error", "comm_id", "_esm", "nope"][
            rng.integers(9)
        ]
        value = _junk(rng) if rng.random() < 0.7 else 10 ** int(rng.integers(1, 7))
        return "update", {name: value}
    kind = list(REQUESTS)[rng.integers(len(REQUESTS))]
    fields = {name: _valid_field(spec, rng) for name, spec in REQUESTS[kind].items()}
    content: object = {"kind": kind, **fields}
    how = rng.integers(5)
    if how == 0 and fields:  # one field of the wrong type or out of bounds
        name = list(fields)[rng.integers(len(fields))]
        content = {**content, name: _junk(rng)}  # type: ignore[dict-item]
    elif how == 1 and fields:  # a required field missing
        name = list(fields)[rng.integers(len(fields))]
        content = {k: v for k, v in content.items() if k != name}  # type: ignore[union-attr]
    elif how == 2:  # an unknown kind, or no kind
        content = {**fields, "kind": _junk(rng)} if rng.random() < 0.5 else fields
    elif how == 3:
        content = _junk(rng)
    else:  # extra fields and a bad rid: ignored / not acknowledged, the rest must still hold
        content = {**content, "rid": _junk(rng), "extra": _junk(rng)}  # type: ignore[dict-item]
    return "custom", content


def test_ten_thousand_malformed_messages_and_trait_writes(tiny_dcgan, tmp_path):
    # Images dropped by the fuzz are inverted in two steps: what matters is the path.
    invert_options = {"steps": 2, "init": "random"}
    # Factors for the content gestures, and fits from the page kept to a few steps.
    factors = [planted(tiny_dcgan, "shift_x", 0), planted(tiny_dcgan, "zoom", 1)]
    ex = Explorer(
        tiny_dcgan,
        n_samples=4,
        seed=3,
        annotations_dir=tmp_path / "ann",
        invert_options=invert_options,
        factors=factors,
        factor_options={"n_trajectories": 2, "t_steps": 1, "steps_per_target": 1},
    )
    assert ex.wait_idle()
    ex.sent = []
    ex.send = lambda content, buffers=None: ex.sent.append((content, buffers or []))
    rng = np.random.default_rng(20261201)
    refused = 0
    with Escaped() as escaped:
        for i in range(N_MESSAGES):
            where, payload = _malformed(rng)
            ex.error = ""
            if where == "custom":
                deliver(ex, {"method": "custom", "content": payload}, _buffers(rng) if rng.random() < 0.3 else [])
            elif where == "update":
                write_traits(ex, payload)
            else:
                deliver(ex, payload)
            refused += bool(ex.error)
            if i % 500 == 0:
                assert ex.wait_idle(120)
        assert ex.wait_idle(300)
        assert not escaped.records, [r.getMessage() for r in escaped.records[:5]]
    assert ex.worker_alive
    assert refused > 0.8 * N_MESSAGES, f"only {refused} of {N_MESSAGES} refused"
    # Everything the kernel sent back is JSON the page can read (no NaN, no lone surrogates).
    for content, _ in ex.sent:
        json.dumps(content, allow_nan=False).encode("utf-8")
    # Nothing was written outside the annotations folder, and the session is whole.
    assert {p.parent for p in tmp_path.rglob("*.json")} <= {tmp_path / "ann"}
    ex.state.check()
    assert 1 <= ex.columns <= 8 and 8 <= ex.resolution <= 32
    # And the widget still works: a drag shows exactly the edit it asks for.
    alphas = [0.5] + [0.0] * (len(ex.state.alphas) - 1)
    request(ex, {"kind": "render", "seq": 10**9, "alphas": alphas, "ids": list(ex.state.ids), "final": True})
    assert ex.wait_idle(60) and not ex.error, ex.error
    meta, (data,) = frames(ex)[-1]
    assert meta["seq"] == 10**9 and data == expected_frame(ex, final=True)
    ex.close()
