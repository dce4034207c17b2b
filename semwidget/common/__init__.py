"""Leaves every other part uses: image conversion and grids, progress reporting."""

from ._images import image_grid, png_bytes, to_pil, to_uint8

__all__ = ["image_grid", "png_bytes", "to_pil", "to_uint8"]
