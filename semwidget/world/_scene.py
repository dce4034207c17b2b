"""A procedural 64×64 scene world with known factors, in the spirit of 3D Shapes.

A floor and a wall meet at a horizon; one object (cube, cylinder, sphere or cone)
stands on the floor. Nine factors decide everything in the image, and
:func:`render` draws a whole batch at once with array operations over a shared
pixel grid (one masked pass per shape class, no per-image Python loop), so images
can be made on the fly inside a training loop.

Coordinates: ``x`` and ``y`` are pixel centres in [0, 1], ``y`` growing downwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

RESOLUTION = 64


@dataclass(frozen=True)
class Factor:
    """One generative factor: a continuous range, or ``categories`` integer classes.

    ``level`` is ``"layout"``, ``"object"`` or ``"attribute"``. A categorical factor
    takes the values 0 .. categories-1 (``low`` is 0, ``high`` is categories-1).
    """

    name: str
    level: str
    low: float
    high: float
    categories: int = 0


FACTORS: tuple[Factor, ...] = (
    Factor("horizon", "layout", 0.35, 0.75),  # height of the floor/wall boundary; larger = lower
    Factor("view", "layout", -1.0, 1.0),  # camera yaw: skews the boundary, shifts the scene
    Factor("shape", "object", 0.0, 3.0, categories=4),  # see SHAPES
    Factor("scale", "object", 0.6, 1.3),
    Factor("position", "object", -0.6, 0.6),  # horizontal
    Factor("floor_hue", "attribute", 0.0, 1.0),  # hue in turns, [0, 1)
    Factor("wall_hue", "attribute", 0.0, 1.0),
    Factor("object_hue", "attribute", 0.0, 1.0),
    Factor("lighting", "attribute", -1.0, 1.0),  # light from the left (-1) to the right (+1), dim to bright
)
FACTOR_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS)
SHAPES: tuple[str, ...] = ("cube", "cylinder", "sphere", "cone")
HUES: tuple[str, ...] = ("floor_hue", "wall_hue", "object_hue")
_INDEX = {f.name: i for i, f in enumerate(FACTORS)}


def _target_names() -> tuple[str, ...]:
    names: list[str] = []
    for f in FACTORS:
        if f.categories:
            names += [f"{f.name}_{c}" for c in SHAPES]
        elif f.name in HUES:
            names += [f"{f.name}_cos", f"{f.name}_sin"]
        else:
            names.append(f.name)
    return tuple(names)


TARGET_NAMES: tuple[str, ...] = _target_names()
"""Columns of :func:`factor_targets`, in ``FACTORS`` order: a continuous factor scaled
to [-1, 1]; a hue as (cos 2πh, sin 2πh); ``shape`` one-hot over :data:`SHAPES`::

    horizon, view, shape_cube, shape_cylinder, shape_sphere, shape_cone, scale, position,
    floor_hue_cos, floor_hue_sin, wall_hue_cos, wall_hue_sin, object_hue_cos, object_hue_sin,
    lighting
"""


def sample_factors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Factors drawn uniformly over each range: ndarray of shape (n, len(FACTORS)), float32.

    Hues are uniform in [0, 1); ``shape`` is a uniform integer class stored as a float.
    """
    out = np.empty((n, len(FACTORS)), dtype=np.float32)
    for j, f in enumerate(FACTORS):
        if f.categories:
            out[:, j] = rng.integers(0, f.categories, size=n)
        else:
            out[:, j] = rng.uniform(f.low, f.high, size=n)
    return out


def factor_targets(factors: np.ndarray) -> np.ndarray:
    """Regression targets for ``factors`` of shape (n, len(FACTORS)): ndarray (n, len(TARGET_NAMES)).

    Column layout in :data:`TARGET_NAMES`.
    """
    factors = _check(factors)
    cols: list[np.ndarray] = []
    for j, f in enumerate(FACTORS):
        v = factors[:, j].astype(np.float64)
        if f.categories:
            cols.append(np.eye(f.categories)[np.clip(np.rint(v), 0, f.categories - 1).astype(int)])
        elif f.name in HUES:
            a = 2 * np.pi * v
            cols.append(np.stack([np.cos(a), np.sin(a)], axis=1))
        else:
            cols.append((2 * (v - f.low) / (f.high - f.low) - 1)[:, None])
    return np.concatenate(cols, axis=1).astype(np.float32)


def _check(factors: np.ndarray) -> np.ndarray:
    factors = np.asarray(factors, dtype=np.float32)
    if factors.ndim != 2 or factors.shape[1] != len(FACTORS):
        raise ValueError(
            f"expected factors of shape (n, {len(FACTORS)}) with columns {list(FACTOR_NAMES)}; got {factors.shape}"
        )
    return factors


def _hsv(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """RGB in [0, 1] of shape (n, 3) for hues ``h`` (n,) at a fixed saturation and value."""
    k = (np.array([5.0, 3.0, 1.0], dtype=np.float32) + 6 * (h[:, None] % 1.0)) % 6
    return (v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)).astype(np.float32)


# The pixel grid, shared by every batch: (1, H, W) each.
_c = (np.arange(RESOLUTION, dtype=np.float32) + 0.5) / RESOLUTION
_Y, _X = _c[None, :, None], _c[None, None, :]


def render(factors: np.ndarray) -> np.ndarray:
    """Images for ``factors`` of shape (n, len(FACTORS)): ndarray (n, 64, 64, 3), uint8.

    Deterministic: the same factors always give the same pixels.
    """
    f = _check(factors)
    if len(f) > _CHUNK:  # small batches stay in cache: several times faster than one big one
        return np.concatenate([_render(f[i : i + _CHUNK]) for i in range(0, len(f), _CHUNK)])
    return _render(f)


_CHUNK = 256


def _render(f: np.ndarray) -> np.ndarray:
    n = len(f)
    col = {name: f[:, i][:, None, None] for name, i in _INDEX.items()}  # (n, 1, 1) each
    horizon, view, scale, position, light = (col[k] for k in ("horizon", "view", "scale", "position", "lighting"))
    X, Y = _X, _Y

    # Layout: a boundary row skewed by the view; the floor darkens towards it.
    boundary = horizon + 0.22 * view * (X - 0.5)  # (n, 1, W)
    floor = Y > boundary  # (n, H, W)
    brightness = 0.85 + 0.12 * light  # overall level
    across = 1.0 + 0.22 * light * (2 * X - 1)  # brighter on the side the light comes from
    depth = np.clip((Y - boundary) / (1.0 - boundary + 1e-3), 0, 1)
    shade = brightness * across * np.where(floor, 0.7 + 0.3 * depth, 1.0 - 0.15 * Y)  # (n, H, W)

    # Object: grounded on the floor, half way between the boundary and the bottom edge.
    xc = 0.5 + 0.3 * position - 0.08 * view
    base = horizon + 0.22 * view * (xc - 0.5) + 0.5 * (1.0 - horizon) + 0.02
    s = 0.11 * scale * (0.8 + 0.5 * (base - 0.5))  # half width, a little larger when nearer
    u = (X - xc) / s  # object-centred coordinates in half widths
    v = (base - Y) / s  # height above the base, in half widths

    # Soft shadow on the floor, cast away from the light.
    d2 = ((u + 0.9 * light) / 1.5) ** 2 + ((v + 0.05) / 0.35) ** 2
    shade = shade * np.where(floor, 1.0 - 0.45 * np.exp(-d2 * d2), 1.0)

    obj = np.zeros((n, RESOLUTION, RESOLUTION), dtype=bool)
    oshade = np.ones((n, RESOLUTION, RESOLUTION), dtype=np.float32)
    lit = 0.8 + 0.2 * light  # object level
    shape = np.rint(f[:, _INDEX["shape"]]).astype(int)
    for k in range(len(SHAPES)):  # one vectorised pass per class
        idx = np.nonzero(shape == k)[0]
        if len(idx) == 0:
            continue
        uk, vk, lk, Lk = u[idx], v[idx], lit[idx], light[idx]
        if SHAPES[k] == "cube":  # front face, and a lighter top face leaning right
            front = (np.abs(uk) < 1) & (vk > 0) & (vk < 2)
            t = (vk - 2) / 0.6
            top = (t >= 0) & (t < 1) & (np.abs(uk - 0.5 * t) < 1)
            m = front | top
            sh = np.where(top, 1.15, 0.85 + 0.08 * Lk * uk)
        elif SHAPES[k] == "cylinder":  # body with rounded base, elliptic lighter top
            body = (np.abs(uk) < 1) & (vk > 0) & (vk < 2.2)
            bottom = uk**2 + (vk / 0.35) ** 2 < 1
            top = uk**2 + ((vk - 2.2) / 0.35) ** 2 < 1
            m = body | bottom | top
            sh = np.where(top, 1.15, 0.8 + 0.2 * np.sqrt(np.clip(1 - uk**2, 0, 1)) + 0.2 * Lk * uk)
        elif SHAPES[k] == "sphere":  # a disc shaded by a light from above and to the side
            r = 1.2
            du, dv = uk / r, (vk - r) / r
            rr = du**2 + dv**2
            m = rr < 1
            nz = np.sqrt(np.clip(1 - rr, 0, 1))
            sh = 0.45 + 0.6 * np.clip(0.6 * nz + 0.5 * dv + 0.55 * Lk * du, 0, 1)
        else:  # cone: a triangle with a rounded base, shaded across
            h = 2.6
            tri = (vk > 0) & (vk < h) & (np.abs(uk) < 1 - vk / h)
            bottom = uk**2 + (vk / 0.3) ** 2 < 1
            m = tri | bottom
            w = np.clip(uk / np.maximum(1 - vk / h, 1e-3), -1, 1)
            sh = 0.8 + 0.15 * np.sqrt(np.clip(1 - w**2, 0, 1)) + 0.25 * Lk * w
        obj[idx] = m
        oshade[idx] = lk * sh

    floor_rgb = _hsv(f[:, _INDEX["floor_hue"]], 0.6, 0.8)[:, None, None, :]
    wall_rgb = _hsv(f[:, _INDEX["wall_hue"]], 0.35, 0.95)[:, None, None, :]
    obj_rgb = _hsv(f[:, _INDEX["object_hue"]], 0.85, 1.0)[:, None, None, :]
    img = np.where(floor[..., None], floor_rgb, wall_rgb) * shade[..., None]
    img = np.where(obj[..., None], obj_rgb * oshade[..., None], img)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (n, H, W, 3) as a float tensor (n, 3, H, W) in [-1, 1]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (n, H, W, 3); got {images.dtype} {images.shape}")
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0).contiguous()


class WorldDataset(torch.utils.data.IterableDataset):
    """Endless ``(images, factors)`` batches rendered on the fly, for training loops.

    Each item is a whole batch: images of shape (batch_size, 3, 64, 64) in [-1, 1] and
    factors of shape (batch_size, len(FACTORS)), float32. Use it with
    ``DataLoader(WorldDataset(64, seed=0), batch_size=None)``; each worker draws from
    its own stream (``seed``, worker id), so workers never repeat each other.
    """

    def __init__(self, batch_size: int, seed: int = 0) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    def __iter__(self):  # type: ignore[no-untyped-def]
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, 0 if info is None else info.id])
        while True:
            factors = sample_factors(self.batch_size, rng)
            yield to_tensor(render(factors)), torch.from_numpy(factors)
