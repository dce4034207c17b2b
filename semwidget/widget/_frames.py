"""Encoding what the widget shows: grid sprites and PNG exports (GIF traversals: _jobs.gif)."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..common._images import image_grid, to_uint8


@dataclass(frozen=True)
class Frame:
    """One encoded sprite: ``count`` cells of ``cell``×``cell`` pixels, ``columns`` per row."""

    data: bytes
    mime: str
    cell: int
    columns: int
    count: int
    width: int
    height: int

    @property
    def checksum(self) -> int:
        return zlib.crc32(self.data)


def sprite(images: torch.Tensor, columns: int, cell: int, final: bool) -> Frame:
    """Tile images (n, 3, H, W) in [-1, 1] into one picture without gaps and encode it:
    JPEG while dragging (small, fast), lossless PNG at rest."""
    arr = to_uint8(images)
    n, h, w, _ = arr.shape
    rows = -(-n // columns)
    canvas = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i, a in enumerate(arr):
        r, c = divmod(i, columns)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = a
    picture = Image.fromarray(canvas)
    if h != cell:  # large generators are shown smaller; cells stay square
        picture = picture.resize((columns * cell, rows * cell), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    if final:
        picture.save(buffer, format="PNG", compress_level=1)
    else:
        picture.save(buffer, format="JPEG", quality=90)
    mime = "image/png" if final else "image/jpeg"
    return Frame(buffer.getvalue(), mime, cell, columns, n, picture.width, picture.height)


def png_grid(images: torch.Tensor, columns: int) -> bytes:
    buffer = io.BytesIO()
    image_grid(images, ncols=columns).save(buffer, format="PNG")
    return buffer.getvalue()
