"""What a session looks like: the grid's samples, the edit applied, the images, the frame.

Everything here is a function of a :class:`~._state.Session`; the caches are keyed by
the session's content (:meth:`~._state.Session.render_key`), so an image can only be
reused for a session that shows exactly that image.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from ..directions._edits import edit
from ..generators import Generator
from ..generators._latents import Latents
from . import _frames
from ._content import with_moves
from ._state import Session


def edited(base: Latents, s: Session) -> Latents:
    """Every direction with a nonzero α, applied at its chosen columns (a joint edit),
    then the cells moved on their own along factors."""
    latents = base
    columns = s.columns
    for i, ((block, row), a) in enumerate(zip(s.directions, s.alphas)):
        cols = s.layers[i]
        if a == 0 or not cols:
            continue
        d = block.directions
        scale = "sigma" if d.sigmas is not None else "raw"
        if d.is_latent:
            ws = [columns[c].ws for c in cols]
            latents = edit(latents, d[row], a, layers=ws, scale=scale)  # type: ignore[arg-type]
        else:
            latents = edit(latents, d[row], a, scale=scale)
    return with_moves(latents, s)


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Any, make: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class Renderer:
    """Samples, edited latents, images and frames of sessions on one generator."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self._lock = threading.Lock()  # the caches are shared by the worker and the kernel's thread
        self._bases = _Lru(4)  # (seed, n) -> Latents: undo to the previous seeds costs nothing
        self._images = _Lru(2)  # render key -> images: a drag's final frame reuses its last move's

    def base(self, s: Session) -> Latents:
        """The unedited latents of the grid: the samples of its seeds, then the real images."""
        with self._lock:
            return self._bases.get_or(s.base_key(), lambda: self._base(s))

    def _base(self, s: Session) -> Latents:
        g = self.generator
        samples = g.sample(s.n_samples, seed=s.seed)
        if not s.reals:
            return samples
        ws = torch.from_numpy(np.stack([r.array(g.num_ws, g.w_dim) for r in s.reals])).to(g.device, g.dtype)
        return Latents.concat([samples, Latents(ws=ws, model=g.fingerprint, space=g.latent_space)])

    def latents(self, s: Session) -> Latents:
        return edited(self.base(s), s)

    def images(self, s: Session) -> torch.Tensor:
        key = s.render_key()
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        images = self.generator.synthesize(self.latents(s))
        with self._lock:
            return self._images.get_or(key, lambda: images)

    def frame(self, s: Session, columns: int, resolution: int, final: bool) -> _frames.Frame:
        return _frames.sprite(self.images(s), columns, resolution, final)
