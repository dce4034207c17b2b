"""The Explorer's slow work, each a function of a session (never of the widget):
the layer heatmap, finders, inverting real images, exports and training from labels.

Jobs run on the worker thread (:mod:`._worker`) and report through ``progress``,
which also raises :class:`Cancelled` once the user pressed cancel, so a finder stops
at its next step.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..common._images import image_grid
from ..common._progress import report_to
from ..directions import Directions, GANSpace, SeFa, boundary_from_labels
from ..generators import Generator
from ..generators._latents import Latents
from ..scorers import Scorer
from ..semantics._rescore import rescore
from . import _reals
from ._rendering import Renderer, edited
from ._state import RealCell, Session, clamped_alphas

Progress = Callable[[str, int, int], None]  # (label, done, total); raises Cancelled when asked to stop

# Below these, a boundary trained from a few labels is not to be trusted (the widget says so).
MIN_LABELS_PER_SIDE = 10
MIN_ACCURACY = 0.7


class Cancelled(Exception):
    """The user cancelled the job."""


# ---- heatmap ------------------------------------------------------------------------------


def image_change_heatmap(g: Generator, base: Latents, s: Session, progress: Progress) -> list[list[float | None]]:
    """Mean absolute image change (pixels in [0, 1]) when each direction moves half its
    handle's extent at one column alone; None where it cannot act."""
    reference = g.synthesize(base)
    k, m = len(s.alphas), len(s.columns)
    values: list[list[float | None]] = [[None] * m for _ in range(k)]
    cells = [(i, j) for i in range(k) for j in range(m) if s.applicable(i, j)]
    for done, (i, j) in enumerate(cells):
        alphas = [0.0] * k
        alphas[i] = 0.5 * s.extents[i]
        layers = tuple((j,) if r == i else () for r in range(k))
        probe = replace(s, alphas=tuple(alphas), active=(i,), layers=layers, pad=(), moves=())
        moved = g.synthesize(edited(base, probe))
        values[i][j] = float((moved - reference).abs().mean() / 2)
        progress("heatmap", done + 1, len(cells))
    return values


def heatmap(
    g: Generator, renderer: Renderer, s: Session, scorer: Scorer | None, attribute: str | None, progress: Progress
) -> dict[str, Any]:
    """The heatmap trait's value for ``s``: image change, or HiGAN's re-scoring Δ."""
    columns = [c.name for c in s.columns]
    with report_to(progress):
        if attribute is None or scorer is None:
            base = renderer.base(s)[: min(s.n_samples, 9)]
            values = image_change_heatmap(g, base, s, progress)
            kind = "mean image change"
        else:
            # HiGAN's re-scoring on the grid's own seeds (and more, for a steadier mean).
            latents = g.sample(max(32, s.n_samples), seed=s.seed)
            blocks = [b.directions for b in s.blocks]
            result = rescore(g, blocks, scorer, latents=latents, progress=False)
            if list(result.columns) != columns:
                raise RuntimeError(f"re-scoring columns {result.columns} differ from the heatmap's {columns}")
            grid = result.heatmap(attribute)
            values = [[None if v != v else float(v) for v in row] for row in grid]
            kind = f"re-scoring delta of {attribute} (HiGAN, step 2)"
    return {"columns": columns, "values": values, "kind": kind, "attribute": attribute}


# ---- finders ----------------------------------------------------------------------------


def finder(method: str, n_directions: int, feature_layer: str | None) -> SeFa | GANSpace:
    kwargs: dict[str, Any] = {"n_directions": n_directions, "feature_layer": feature_layer}
    if method == "ganspace":
        kwargs.update(n_samples=20_000, output="channels" if feature_layer else "latent")
        return GANSpace(**kwargs)
    return SeFa(**kwargs)


def find(g: Generator, found_by: SeFa | GANSpace, progress: Progress) -> Directions:
    with report_to(progress):
        return found_by.fit(g).directions_


def invert(
    g: Generator, images: list[Any], names: list[str], options: dict[str, Any], progress: Progress
) -> list[RealCell]:
    """Real images as session cells: one progress step (and chance to cancel) per optimiser step."""
    with report_to(progress):
        return _reals.invert_cells(g, images, names, **options)


def fit_factor(g: Generator, transform: str, options: dict[str, Any], progress: Progress) -> Any:
    """A :class:`~semwidget.ContinuousFactor` fitted on ``g``: one progress step (and chance
    to cancel) per optimiser step of its trajectories."""
    from ..continuous import ContinuousFactor  # the fit's machinery loads when first used

    with report_to(progress):
        return ContinuousFactor(transform, **{**options, "progress": True}).fit(g)


# ---- exports ------------------------------------------------------------------------------


def png(images: torch.Tensor, columns: int, scale: int) -> bytes:
    """The grid at the model's own resolution, enlarged ``scale`` times."""
    buffer = io.BytesIO()
    image_grid(images, ncols=columns, scale=float(scale)).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_frames(
    g: Generator, renderer: Renderer, s: Session, direction: int, frames: int, extent: float, progress: Progress
) -> list[tuple[float, torch.Tensor]]:
    """(α, images) for a traversal of one direction across ±extent, at its chosen layers
    (or its default ones if it is switched off), the other directions as they are."""
    cols = s.layers[direction] or s.default_layers(direction, g.num_ws)
    layers = tuple(cols if i == direction else c for i, c in enumerate(s.layers))
    base = renderer.base(s)
    out = []
    for f in range(frames):
        a = -extent + 2 * extent * f / (frames - 1)
        alphas = clamped_alphas(s, [a if i == direction else x for i, x in enumerate(s.alphas)])
        step = replace(s, alphas=alphas, layers=layers).check()
        out.append((alphas[direction], g.synthesize(edited(base, step))))
        progress("GIF", f + 1, frames)
    return out


def gif(
    frames: list[tuple[float, torch.Tensor]],
    columns: int,
    name: str,
    amount: Callable[[float], str] | None = None,
    duration_ms: int = 80,
) -> bytes:
    """An animated GIF that loops forth and back, each frame captioned with its α, or for a
    continuous factor with ``amount(α)``, the amount in the transformation's units."""

    def caption(a: float) -> str:
        return f"{name}  {amount(a)}" if amount is not None else f"{name}  α = {a:+.2f}"

    pictures = [_captioned(image_grid(images, ncols=columns), caption(a)) for a, images in frames]
    sequence = pictures + pictures[-2:0:-1]
    buffer = io.BytesIO()
    sequence[0].save(buffer, format="GIF", save_all=True, append_images=sequence[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def _captioned(picture: Image.Image, text: str) -> Image.Image:
    height = max(14, picture.height // 12)
    font = ImageFont.load_default(size=max(10, height - 4))
    out = Image.new("RGB", (picture.width, picture.height + height), "white")
    out.paste(picture, (0, height))
    ImageDraw.Draw(out).text((4, 1), text, fill="black", font=font)
    return out


# ---- labels ------------------------------------------------------------------------------


def train(g: Generator, s: Session, attribute: str) -> Directions:
    """A boundary from the latents labelled for ``attribute``, exactly as they were on
    screen; its notes carry a warning when there are too few labels or it generalises badly."""
    labels = [x for x in s.labels if x.attribute == attribute]
    if not attribute or not labels:
        raise ValueError(f"no labels for {attribute!r}: mark grid cells positive and negative first")
    # The code a latent edit acts on: layer-wise codes averaged over layers (one per layer
    # for a StyleGAN, all equal unless an edit touched some layers only).
    codes = np.stack([x.array(g.num_ws, g.w_dim).mean(axis=0) for x in labels])
    latents = Latents(
        ws=torch.from_numpy(codes.astype(np.float32))[:, None, :], model=g.fingerprint, space=g.latent_space
    )
    found = boundary_from_labels(latents, [x.value for x in labels], name=attribute)
    notes = found.notes
    worry = []
    if min(notes["positives"], notes["negatives"]) < MIN_LABELS_PER_SIDE:
        worry.append(
            f"only {notes['positives']} positive and {notes['negatives']} negative labels "
            f"(at least {MIN_LABELS_PER_SIDE} each make a trustworthy boundary)"
        )
    if notes["leave_one_out_accuracy"] < MIN_ACCURACY:
        worry.append(f"leave-one-out accuracy {notes['leave_one_out_accuracy']:.2f} is below {MIN_ACCURACY}")
    if worry:
        found = replace(found, notes={**notes, "warning": "; ".join(worry)})
    return found
