"""What a page does to the kernel side, through the real path: a comm message handed to
the widget's comm as the kernel would (ipywidgets unpacks it from there), and what the
kernel should show for a session, computed afresh from the public API."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import torch

import semwidget
from semwidget import Latents
from semwidget.widget import _frames
from semwidget.widget._rendering import edited


def deliver(ex: Any, data: Any, buffers: list[bytes] | None = None) -> None:
    """A comm message from the page, with ``data`` as its content's data."""
    ex.comm.handle_msg({"content": {"comm_id": ex.comm.comm_id, "data": data}, "buffers": buffers or []})


def request(ex: Any, content: Any) -> None:
    deliver(ex, {"method": "custom", "content": content})


def write_traits(ex: Any, state: Any) -> None:
    deliver(ex, {"method": "update", "state": state, "buffer_paths": []})


def frames(ex: Any) -> list[tuple[dict, list[bytes]]]:
    return [(c, b) for c, b in ex.sent if isinstance(c, dict) and c.get("kind") == "frame"]


def expected_frame(ex: Any, final: bool) -> bytes:
    """The frame of the current session, rendered from scratch (no cache, no widget)."""
    s = ex.state
    g = ex.generator
    base = g.sample(s.n_samples, seed=s.seed)
    if s.reals:  # real images: their inverted codes, after the samples
        ws = torch.from_numpy(np.stack([r.array(g.num_ws, g.w_dim) for r in s.reals]))
        base = Latents.concat([base, Latents(ws=ws.to(g.device), model=g.fingerprint, space=g.latent_space)])
    latents = moved_cells(g, s, edited(base, replace(s, moves=())))
    images = g.synthesize(latents)
    return _frames.sprite(images, ex.columns, ex.resolution, final).data


def moved_cells(g: Any, s: Any, latents: Latents) -> Latents:
    """``latents`` with the session's per-cell moves applied one cell at a time through
    ``semwidget.edit`` (apart from the widget's own code): each cell shown that has a move
    goes to α + its step, clamped to the factor's fitted steps."""
    cells = [latents[i] for i in range(len(latents))]
    keys = [f"seed:{s.seed + i}" for i in range(s.n_samples)] + [f"real:{r.uid}" for r in s.reals]
    for m in s.moves:
        if m.cell not in keys:
            continue
        i = list(s.ids).index(m.direction)
        block, row = s.directions[i]
        lo, hi = block.factor.step_range
        extra = min(max(s.alphas[i] + m.step, lo), hi) - s.alphas[i]
        c = keys.index(m.cell)
        ws = [s.columns[j].ws for j in s.layers[i]]
        if not ws:
            continue
        cells[c] = semwidget.edit(cells[c], block.directions[row], extra, layers=ws)
    return Latents.concat(cells)


class Escaped(logging.Handler):
    """Collects what would reach the user as a traceback instead of the widget's error:
    ipywidgets and the comm layer log those."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Escaped:
        for name in ("", "traitlets", "comm", "ipywidgets"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("", "traitlets", "comm", "ipywidgets"):
            logging.getLogger(name).removeHandler(self)
