"""The image transformations T_t a continuous factor is fitted to, each with its mask.

Every transformation takes images of shape (n, 3, H, W) in [-1, 1] and an amount ``t``
(one number, or one per image) and returns ``(images, mask)``: the transformed images
and a mask of shape (n, 1, H, W), 1 where the pixel is valid and 0 where it is not
(uncovered by a shift, a zoom out or a rotation; clipped by a brightness change).
Every loss sees only the valid pixels.

Sign convention (the same in the docstrings, the tests and the widget): positive ``t``

============  =====================================================================
shift_x       moves the content right by ``t`` image widths
shift_y       moves the content down by ``t`` image heights
zoom          zooms in, scaling about the centre by ``1 + t`` (``t > -1``)
rotation      turns the content counter-clockwise (as seen on screen) by
              ``90 · t`` degrees
brightness    adds ``t`` to every channel (images span [-1, 1], so ``t = 1`` is half
              the range), clipping to [-1, 1]
============  =====================================================================

Geometric transformations resample bilinearly; a pixel is valid only when its whole
bilinear footprint lies inside the source image. A brightness pixel is valid when no
channel was clipped.

Any callable ``(images, t) -> (images, mask)`` can stand in for these; it is called
with a float ``t`` and checked by :class:`CustomTransform`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: A mask value at or above this is a valid pixel (bilinear coverage is exactly 1 inside).
_FULL = 1 - 1e-4


def _amounts(t: float | torch.Tensor | np.ndarray, n: int) -> torch.Tensor:
    a = torch.as_tensor(np.asarray(t, dtype=np.float64) if not isinstance(t, torch.Tensor) else t)
    a = a.detach().to(torch.float64).reshape(-1)
    if a.numel() == 1:
        a = a.expand(n)
    if a.shape != (n,):
        raise ValueError(f"t must be one number or one per image ({n}); got {a.numel()} values")
    if not torch.isfinite(a).all():
        raise ValueError(f"t must be finite; got {a.tolist()}")
    return a


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"a transformation takes images of shape (n, 3, H, W) in [-1, 1]; got {shape}")
    return images


@dataclass(frozen=True)
class Transform:
    """A named transformation with its mask (see the module docstring).

    Attributes
    ----------
    name : str
    default_t_max : float
        The largest |t| a :class:`~semwidget.ContinuousFactor` asks for by default.
    t_low, t_high : float
        The amounts that make sense at all (zoom needs ``t > -1``); open bounds.
    """

    name: str
    default_t_max: float
    t_low: float = -math.inf
    t_high: float = math.inf

    @property
    def identity(self) -> str:
        """What makes two transformations the same for a trajectory cache."""
        return f"builtin:{self.name}"

    def __call__(self, images: torch.Tensor, t: float | torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        images = _check_images(images)
        a = _amounts(t, images.shape[0])
        bad = a[(a <= self.t_low) | (a >= self.t_high)]
        if bad.numel():
            raise ValueError(f"{self.name} takes t in ({self.t_low:g}, {self.t_high:g}); got {bad.tolist()}")
        return self._apply(images, a)

    def _apply(self, images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def displacement(self, t: float, resolution: int) -> float | None:
        """How far (in pixels) the amount ``t`` moves the content at most, at this
        resolution; None for transformations that move nothing (brightness)."""
        return None


def _affine(images: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample ``images`` where ``theta`` (n, 2, 3) maps output to source coordinates
    (x right, y down, both in [-1, 1]); the mask is the full-coverage region."""
    x = images.float()
    theta = theta.to(x.device, torch.float32)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    ones = torch.ones(x.shape[0], 1, *x.shape[2:], device=x.device)
    cover = F.grid_sample(ones, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out, (cover >= _FULL).float()


def _theta(a11: torch.Tensor, a12: torch.Tensor, a21: torch.Tensor, a22: torch.Tensor, bx, by) -> torch.Tensor:  # type: ignore[no-untyped-def]
    row0 = torch.stack([a11, a12, torch.as_tensor(bx, dtype=a11.dtype).expand_as(a11)], dim=1)
    row1 = torch.stack([a21, a22, torch.as_tensor(by, dtype=a11.dtype).expand_as(a11)], dim=1)
    return torch.stack([row0, row1], dim=1)


class Shift(Transform):
    """Move the content by ``t`` image widths (``axis="x"``, right) or heights (``"y"``, down)."""

    def __init__(self, axis: str) -> None:
        super().__init__(name=f"shift_{axis}", default_t_max=0.15, t_low=-1.0, t_high=1.0)

    def _apply(self, images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        one, zero = torch.ones_like(t), torch.zeros_like(t)
        # The output pixel at x shows the source pixel at x - shift (coordinates span 2).
        if self.name == "shift_x":
            theta = _theta(one, zero, zero, one, -2 * t, zero)
        else:
            theta = _theta(one, zero, zero, one, zero, -2 * t)
        return _affine(images, theta)

    def displacement(self, t: float, resolution: int) -> float:
        return abs(t) * resolution


class Zoom(Transform):
    """Scale the content about the image centre by ``1 + t`` (t > 0 zooms in)."""

    def __init__(self) -> None:
        super().__init__(name="zoom", default_t_max=0.25, t_low=-1.0)

    def _apply(self, images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv, zero = 1 / (1 + t), torch.zeros_like(t)
        return _affine(images, _theta(inv, zero, zero, inv, zero, zero))

    def displacement(self, t: float, resolution: int) -> float:
        # A corner moves the most: its distance from the centre times |t|.
        return abs(t) * resolution / math.sqrt(2)


class Rotation(Transform):
    """Turn the content counter-clockwise on screen by ``90 · t`` degrees about the centre."""

    def __init__(self) -> None:
        super().__init__(name="rotation", default_t_max=0.25)

    def _apply(self, images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = t * (math.pi / 2)
        c, s = torch.cos(a), torch.sin(a)
        # y points down: a counter-clockwise turn on screen reads source (c·x − s·y, s·x + c·y).
        return _affine(images, _theta(c, -s, s, c, torch.zeros_like(t), torch.zeros_like(t)))

    def displacement(self, t: float, resolution: int) -> float:
        return abs(t) * (math.pi / 2) * resolution / math.sqrt(2)


class Brightness(Transform):
    """Add ``t`` to every channel of images in [-1, 1], clipping; clipped pixels are invalid."""

    def __init__(self) -> None:
        super().__init__(name="brightness", default_t_max=0.4, t_low=-2.0, t_high=2.0)

    def _apply(self, images: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.float()
        raw = x + t.to(x.device, torch.float32).view(-1, 1, 1, 1)
        inside = ((raw >= -1) & (raw <= 1)).all(dim=1, keepdim=True)
        return raw.clamp(-1, 1), inside.float()


#: The transformations known by name.
TRANSFORMS: dict[str, Transform] = {t.name: t for t in (Shift("x"), Shift("y"), Zoom(), Rotation(), Brightness())}


class CustomTransform(Transform):
    """A caller's ``fn(images, t) -> (images, mask)``, its every result checked.

    ``fn`` is called with a float ``t`` and must return the transformed images (the
    input's shape, finite) and a mask of weights in [0, 1] of shape (H, W), (n, H, W)
    or (n, 1, H, W). A trajectory cache knows ``fn`` by its module and qualified name
    (or ``name``): change the function's body and use a new cache.
    """

    def __init__(self, fn: Callable[..., object], name: str | None = None, t_max: float = 0.15) -> None:
        label = name or getattr(fn, "__qualname__", None) or type(fn).__qualname__
        super().__init__(name=str(label), default_t_max=t_max)
        object.__setattr__(self, "fn", fn)

    @property
    def identity(self) -> str:
        fn = self.fn  # type: ignore[attr-defined]
        return f"callable:{getattr(fn, '__module__', '?')}.{self.name}"

    def __call__(self, images: torch.Tensor, t: float | torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        images = _check_images(images)
        a = _amounts(t, images.shape[0])
        if a.numel() and not bool((a == a[0]).all()):
            outs = [self(images[i : i + 1], float(a[i])) for i in range(images.shape[0])]
            return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
        value = float(a[0]) if a.numel() else 0.0
        return self._checked(self.fn(images, value), images, value)  # type: ignore[attr-defined]

    def _checked(self, result: object, images: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = images.shape
        what = f"the transform {self.name!r}"
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            kind = type(result).__name__
            raise ValueError(
                f"{what} returned a {kind}; expected a pair (images, mask): the transformed images of shape "
                f"{tuple(images.shape)} and a mask of valid pixels (pass an all-ones mask if every pixel is valid)"
            )
        out, mask = result
        if mask is None:
            raise ValueError(
                f"{what} returned no mask; expected (images, mask) with a mask of weights in [0, 1] of shape "
                f"({h}, {w}), ({n}, {h}, {w}) or ({n}, 1, {h}, {w}) (all ones if every pixel is valid)"
            )
        out = torch.as_tensor(out)
        if out.shape != images.shape:
            got, want = tuple(out.shape), tuple(images.shape)
            raise ValueError(f"{what} returned images of shape {got} at t={t:g}; expected {want}")
        if not torch.isfinite(out).all():
            raise ValueError(f"{what} returned NaN or infinite pixels at t={t:g}")
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).float()
        if m.shape == (h, w):
            m = m.expand(n, 1, h, w)
        elif m.shape == (n, h, w):
            m = m.unsqueeze(1)
        if m.shape != (n, 1, h, w):
            raise ValueError(
                f"{what} returned a mask of shape {tuple(m.shape)} at t={t:g}; expected ({h}, {w}), "
                f"({n}, {h}, {w}) or ({n}, 1, {h}, {w})"
            )
        if not torch.isfinite(m).all() or bool((m < 0).any()) or bool((m > 1).any()):
            raise ValueError(f"{what} returned a mask with values outside [0, 1] at t={t:g}")
        return out.to(images.device, torch.float32), m.to(images.device).contiguous()


def as_transform(transform: object) -> Transform:
    """A :class:`Transform` from a name in :data:`TRANSFORMS`, a Transform, or a callable."""
    if isinstance(transform, Transform):
        return transform
    if isinstance(transform, str):
        if transform not in TRANSFORMS:
            raise ValueError(
                f"unknown transform {transform!r}; expected one of {sorted(TRANSFORMS)} "
                f"or a callable (images, t) -> (images, valid_mask)"
            )
        return TRANSFORMS[transform]
    if callable(transform):
        return CustomTransform(transform)
    raise TypeError(
        f"transform must be one of {sorted(TRANSFORMS)} or a callable (images, t) -> (images, valid_mask); "
        f"got {type(transform).__name__}"
    )
