"""Labels, names and annotation files, as functions of a session.

A label is kept with the exact latent code that was on screen in its cell (the sample
with the edit applied), so a boundary trained from labels means what the user saw.
Files hold the same (:class:`semwidget.widget._annotations.Annotations`); files of the older
format, labelled by seed only, get the plain sample of each seed.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from ..common import png_bytes
from ..generators import Generator
from ._annotations import Annotations
from ._factor import factor_of
from ._rendering import Renderer
from ._state import Label, Session, code_bytes, code_key, factor_block, labelled, loaded, new_block, new_real


def cell_label(renderer: Renderer, s: Session, cell: int, value: int, seen: Session | None = None) -> Session:
    """``s`` with the image in ``cell`` of the session ``seen`` (the frame on screen;
    default ``s``) labelled ``value`` for the current attribute (0 clears)."""
    seen = s if seen is None else seen
    if not 0 <= cell < seen.n_cells:
        raise ValueError(f"label needs a cell in [0, {seen.n_cells}); got {cell}")
    ws = renderer.latents(seen).ws[cell]
    return labelled(s, Label.of(s.attribute, seen.cell_seed(cell), value, ws))


def cell_labels(renderer: Renderer, s: Session) -> list[int]:
    """Per grid cell, the label of the image on screen (0: none) for the current attribute."""
    if not any(x.attribute == s.attribute for x in s.labels):
        return [0] * s.n_cells
    ws = renderer.latents(s).ws
    return [s.label_of(s.cell_seed(i), code_key(code_bytes(ws[i]))) for i in range(s.n_cells)]


def to_annotations(g: Generator, s: Session, *, photos: bool = False) -> Annotations:
    """The session as a file's contents; real images by their latents, and with
    ``photos`` also the images they were fitted to (where the session still has them)."""
    codes = np.stack([x.array(g.num_ws, g.w_dim) for x in s.labels]) if s.labels else None
    real_codes = np.stack([r.array(g.num_ws, g.w_dim) for r in s.reals]) if s.reals else None
    kept = None
    if photos and s.reals:
        missing = [r.name for r in s.reals if r.original is None]
        if missing:
            raise ValueError(
                f"the photos of {missing} are not in this session (loaded without them); save without photos"
            )
        kept = np.stack([_decode_png(r.original) for r in s.reals if r.original is not None])
    return Annotations(
        model={"name": g.name, "fingerprint": g.fingerprint},
        blocks=[(b.directions, b.recipe) for b in s.blocks],
        layers=[[s.columns[c].name for c in cols] for cols in s.layers],
        notes=list(s.notes),
        labels=[(x.attribute, x.seed, x.value) for x in s.labels],
        codes=codes,
        reals=[(r.name, r.psnr) for r in s.reals],
        real_codes=real_codes,
        photos=kept,
        factors={b: block.factor.estimator for b, block in enumerate(s.blocks) if block.factor is not None},
        moves=_file_moves(s),
    )


def _file_moves(s: Session) -> list[tuple[str, int, float]]:
    """Per-cell moves as a file keeps them: real images by their place (uids are this
    process's), directions by index."""
    place = {f"real:{r.uid}": f"real:{i}" for i, r in enumerate(s.reals)}
    index = {d: i for i, d in enumerate(s.ids)}
    return [(place.get(m.cell, m.cell), index[m.direction], m.step) for m in s.moves]


def from_annotations(g: Generator, s: Session, annotations: Annotations) -> Session:
    """``s`` with the file's directions, layers, notes and labels (saved on this model)."""
    annotations.check_model(g.fingerprint, g.name)
    if annotations.codes is not None and annotations.codes.shape[1:] != (g.num_ws, g.w_dim):
        raise ValueError(
            f"label codes of shape {annotations.codes.shape[1:]} do not fit {g.name} ({g.num_ws}, {g.w_dim})"
        )
    blocks = []
    for b, (d, recipe) in enumerate(annotations.blocks):
        cf = annotations.factors.get(b)
        # A factor's block keeps its own (maybe renamed) direction; its g comes from the factor.
        blocks.append(new_block(g, d, recipe) if cf is None else factor_block(g, d, factor_of(g, cf), recipe))
    if annotations.codes is None:  # format 1: a label meant the plain sample of its seed
        seeds = [seed for _, seed, _ in annotations.labels]
        ws = g.sample(seeds=seeds).ws if seeds else torch.empty(0)
        codes = [ws[i] for i in range(len(seeds))]
    else:
        codes = [torch.from_numpy(c) for c in annotations.codes]
    labels = [Label.of(a, seed, v, code) for (a, seed, v), code in zip(annotations.labels, codes)]
    reals = []
    for i, (name, psnr) in enumerate(annotations.reals):
        photo = None if annotations.photos is None else png_bytes(annotations.photos[i])
        reals.append(new_real(name, torch.from_numpy(annotations.real_codes[i]), psnr, photo))  # type: ignore[index]
    return loaded(s, blocks, annotations.layers, annotations.notes, labels, g.num_ws, reals, annotations.moves)


def _decode_png(data: bytes) -> np.ndarray:
    # Our own PNGs (encode_png above, or the inversion's target), never the page's bytes.
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
