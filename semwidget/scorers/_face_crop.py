"""Shared by the face scorers: optional imports, resizing, the face box, crops.

Generated faces fill the frame (aligned training crops), and face detectors fail
on 64-pixel images, so the face scorers use one fixed face box instead of a
detector: :data:`FACE_BOX`, in fractions of the (squared) image.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F

# (left, top, right, bottom) as fractions of the image side. The median of the boxes
# dlib's own HOG face detector finds on 128 digiface-dcgan samples (upscaled to 256 px;
# it found 97): generated faces sit low in the frame, the forehead cut by the top edge.
FACE_BOX: tuple[float, float, float, float] = (0.15, 0.25, 0.85, 0.95)


def require(module: str, package: str, scorer: str) -> ModuleType:
    """Import an optional dependency or say exactly what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{scorer} needs the `{package}` package, which is not installed ({exc}). "
            f"Install the face scorers' extra with `pip install 'semwidget[faces]'` "
            f"(or just `pip install {package}`)."
        ) from exc


def check_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    left, top, right, bottom = (float(v) for v in box)
    if not (left < right and top < bottom):
        raise ValueError(f"a face box is (left, top, right, bottom) with left < right and top < bottom; got {box}")
    return left, top, right, bottom


def batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images (n, 3, H, W) → (n, 3, size, size), float32 on the CPU, clamped to [-1, 1].

    Non-square images are padded to a square first (edges replicated), so faces keep
    their proportions; then resized with antialiasing (a 1024-pixel StyleGAN image
    would alias through a plain bilinear shrink).
    """
    x = images.detach().to("cpu", torch.float32)
    h, w = x.shape[-2:]
    if h != w:
        d = abs(h - w)
        pad = (d // 2, d - d // 2, 0, 0) if h > w else (0, 0, d // 2, d - d // 2)
        x = F.pad(x, pad, mode="replicate")
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(-1, 1)


def to_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """(n, 3, H, W) in [-1, 1] → C-contiguous uint8 (n, H, W, 3), what dlib reads."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())


def crop(images: torch.Tensor, centres: torch.Tensor, sides: torch.Tensor, size: int) -> torch.Tensor:
    """Axis-aligned square crops, resampled bilinearly to ``size`` × ``size``.

    Parameters
    ----------
    images : Tensor of shape (n, C, H, W)
        Square images.
    centres : Tensor of shape (n, 2)
        Crop centres (x, y) in fractions of the image side.
    sides : Tensor of shape (n,)
        Crop sides in fractions of the image side; a crop may extend past the
        image, whose edge pixels are then replicated (MediaPipe's BORDER_REPLICATE).

    Returns
    -------
    Tensor of shape (n, C, size, size)
    """
    n = images.shape[0]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = sides.float()
    theta[:, :, 2] = centres.float() * 2 - 1
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(images: torch.Tensor) -> torch.Tensor:
    """(n, 3, H, W) RGB → (n, 1, H, W) luma with ITU-R BT.601 weights (OpenCV's RGB2GRAY)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype).view(1, 3, 1, 1)
    return (images * w).sum(dim=1, keepdim=True)
