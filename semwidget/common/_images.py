"""Turning generator output (float tensors in [-1, 1]) into pictures."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(n, 3, H, W) in [-1, 1] → uint8 array of shape (n, H, W, 3)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (n, 3, H, W); got {tuple(images.shape)}")
    x = (images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """One PIL image per sample."""
    return [Image.fromarray(a) for a in to_uint8(images)]


def png_bytes(rgb: np.ndarray) -> bytes:
    """One uint8 (H, W, 3) image as PNG bytes."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(out, format="PNG")
    return out.getvalue()


def image_grid(images: torch.Tensor, ncols: int | None = None, pad: int = 2, scale: float = 1.0) -> Image.Image:
    """Tile images row by row (``ncols`` per row, default √n) with a white gap,
    enlarged ``scale`` times (small generators make small images)."""
    arr = to_uint8(images)
    n, h, w, _ = arr.shape
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    canvas = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad, 3), 255, np.uint8)
    for i, a in enumerate(arr):
        r, c = divmod(i, ncols)
        canvas[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = a
    grid = Image.fromarray(canvas)
    if scale != 1.0:
        grid = grid.resize((round(grid.width * scale), round(grid.height * scale)), Image.Resampling.LANCZOS)
    return grid
