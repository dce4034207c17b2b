"""Images to invert: whatever the caller has, as float tensors at the model's resolution.

Accepted, one batch or a list mixing them:

* a float tensor of shape (N, C, H, W) or (C, H, W) in [-1, 1] (C = 1, 3 or 4);
* a uint8 array or tensor of shape (H, W), (H, W, C) or (N, H, W, C);
* PIL images (RGB, grey, RGBA, grey + alpha, CMYK, ...);
* paths of image files.

Every image is centre-cropped to a square (the largest one in its middle), then
resized to ``resolution × resolution`` (antialiased). Grey images get three equal
channels; an alpha channel is composited over white. Files are checked before they
are decoded: anything over :data:`MAX_PIXELS` is refused from its header alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

#: The largest image accepted, in pixels (width × height); larger files are refused
#: from their header, before any pixel is decoded.
MAX_PIXELS = 50_000_000
#: The smallest side accepted, in pixels: below this there is nothing to reconstruct.
MIN_SIDE = 8
#: Colour modes converted to RGB; the others (palette, 16-bit, 32-bit, float) are refused.
_CONVERTIBLE = {"RGB", "RGBA", "L", "LA", "1", "CMYK", "YCbCr", "RGBX", "RGBa", "La", "LAB", "HSV"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTH = 24  # offset of the bit depth: signature (8), chunk length (4), "IHDR" (4), width, height (8)
_ACCEPTED = (
    "a float tensor (N, C, H, W) in [-1, 1], a uint8 array (H, W[, C]) or (N, H, W, C), PIL images or image file paths"
)


def _name(index: int, source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"image {index} ({os.fspath(source)})"
    return f"image {index}"


def _check_size(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{what} is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
            f"images up to {MAX_PIXELS / 1e6:.0f} megapixels are accepted (downscale it first)"
        )
    if min(width, height) < MIN_SIDE:
        raise ValueError(f"{what} is {width}×{height} pixels; expected at least {MIN_SIDE}×{MIN_SIDE}")


def _square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the largest centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def _from_pil(image: Image.Image, resolution: int, what: str, *, own: bool) -> torch.Tensor:
    """A PIL image (not yet decoded, for files) → (3, R, R) float in [-1, 1].

    ``own``: the image was opened here, so it may be decoded at a reduced scale in place.
    """
    width, height = image.size
    _check_size(width, height, what)
    mode = image.mode
    if mode == "P" or mode == "PA":
        raise ValueError(
            f"{what} is a palette image (mode {mode!r}); expected RGB, RGBA or grey "
            "(convert it with image.convert('RGBA') first)"
        )
    if mode not in _CONVERTIBLE:
        raise ValueError(
            f"{what} has colour mode {mode!r} (16-bit, 32-bit or floating-point pixels); "
            "expected 8-bit RGB, RGBA or grey (convert or rescale it to 8 bits first)"
        )
    try:
        if own:
            # JPEG: decode at a reduced scale straight away when the file is much larger.
            image.draft("RGB", (resolution, resolution))
            image.load()
        else:
            image = image.copy()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{what} could not be decoded: {exc}") from exc
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    image = image.convert("RGB")
    box = _square_box(*image.size)
    if image.size != (resolution, resolution) or box != (0, 0, *image.size):
        image = image.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box)
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 127.5 - 1


def _open(path: str | os.PathLike[str], what: str) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such image file")
    with path.open("rb") as f:
        head = f.read(_PNG_DEPTH + 1)
    # PIL silently reads a 16-bit RGB PNG as 8-bit: look at the header's bit depth.
    if head.startswith(_PNG_SIGNATURE) and len(head) > _PNG_DEPTH and head[_PNG_DEPTH] == 16:
        raise ValueError(f"{what} is a 16-bit PNG; expected 8 bits per channel (convert it to 8-bit RGB first)")
    try:
        # Reads the header only: the size is checked before any pixel is decoded.
        return Image.open(path)
    except UnidentifiedImageError as exc:
        raise ValueError(f"{what} is not an image file PIL can read; expected PNG, JPEG, ...") from exc
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{what} is over {MAX_PIXELS / 1e6:.0f} megapixels ({exc}); downscale it first") from exc


def _uint8_to_float(array: np.ndarray, what: str) -> torch.Tensor:
    """(H, W), (H, W, C) or (N, H, W, C) uint8 → (N, C, H, W) float in [-1, 1]."""
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{what}: a uint8 array of shape {array.shape}; "
            "expected (H, W), (H, W, C) or (N, H, W, C) with C in 1, 3, 4"
        )
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _check_float(t: torch.Tensor, what: str) -> torch.Tensor:
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[1] not in (1, 3, 4):
        raise ValueError(f"{what}: a float tensor of shape {tuple(t.shape)}; expected (N, C, H, W) with C in 1, 3, 4")
    t = t.detach().to("cpu", torch.float32)
    bad = ~torch.isfinite(t)
    if bad.any():
        raise ValueError(f"{what} holds {int(bad.sum())} NaN or infinite values; expected finite values in [-1, 1]")
    lo, hi = (float(t.min()), float(t.max())) if t.numel() else (0.0, 0.0)
    if lo < -1.001 or hi > 1.001:
        raise ValueError(
            f"{what} has values in [{lo:.3g}, {hi:.3g}]; expected floats in [-1, 1] "
            "(pass 0-255 pixels as a uint8 array)"
        )
    return t.clamp(-1, 1)


def _tensor_to_rgb(t: torch.Tensor, resolution: int, what: str) -> torch.Tensor:
    """(N, C, H, W) float in [-1, 1] → (N, 3, R, R): alpha over white, grey to RGB, crop, resize."""
    n, c, height, width = t.shape
    _check_size(width, height, what)
    if c == 4:
        alpha = (t[:, -1:] + 1) / 2
        t = t[:, :-1] * alpha + (1 - alpha)  # over white (1 in [-1, 1])
    if t.shape[1] == 1:
        t = t.expand(-1, 3, -1, -1)
    left, top, right, bottom = _square_box(width, height)
    t = t[:, :, top:bottom, left:right]
    if t.shape[-1] != resolution:
        mode = "area" if t.shape[-1] % resolution == 0 else "bicubic"
        kwargs: dict[str, Any] = {} if mode == "area" else {"antialias": True, "align_corners": False}
        t = F.interpolate(t, size=(resolution, resolution), mode=mode, **kwargs).clamp(-1, 1)
    return t.contiguous()


def _one(source: object, index: int, resolution: int) -> torch.Tensor:
    """One entry of a list → (k, 3, R, R)."""
    what = _name(index, source)
    if isinstance(source, (str, os.PathLike)):
        with _open(source, what) as image:
            return _from_pil(image, resolution, what, own=True)[None]
    if isinstance(source, Image.Image):
        return _from_pil(source, resolution, what, own=False)[None]
    if isinstance(source, torch.Tensor):
        if source.dtype == torch.uint8:
            return _tensor_to_rgb(_uint8_to_float(source.cpu().numpy(), what), resolution, what)
        if not source.is_floating_point():
            raise ValueError(f"{what}: a {source.dtype} tensor; expected float in [-1, 1] or uint8")
        return _tensor_to_rgb(_check_float(source, what), resolution, what)
    if isinstance(source, np.ndarray):
        if source.dtype == np.uint8:
            return _tensor_to_rgb(_uint8_to_float(source, what), resolution, what)
        if source.dtype in (np.uint16, np.int32, np.uint32, np.int64):
            raise ValueError(f"{what}: a {source.dtype} array ({source.dtype.itemsize * 8}-bit pixels); expected uint8")
        raise ValueError(
            f"{what}: a {source.dtype} numpy array; expected uint8 (H, W[, C]); "
            "pass floats as a torch tensor (N, C, H, W) in [-1, 1]"
        )
    raise TypeError(f"{what} is a {type(source).__name__}; expected {_ACCEPTED}")


def prepare_images(images: object, resolution: int) -> torch.Tensor:
    """Images as a float32 CPU tensor of shape (N, 3, resolution, resolution) in [-1, 1].

    Raises ``ValueError`` (or ``TypeError``, ``FileNotFoundError``) naming the image and
    what was expected: no images, images smaller than :data:`MIN_SIDE` or larger than
    :data:`MAX_PIXELS`, palette or 16-bit images, files that are not images, NaNs.
    """
    batch: list[object]
    if isinstance(images, (torch.Tensor, np.ndarray)) and not (
        isinstance(images, np.ndarray) and images.dtype == object
    ):
        batch = [images]
    elif isinstance(images, (str, os.PathLike, Image.Image)):
        batch = [images]
    elif isinstance(images, Sequence) or isinstance(images, np.ndarray):
        batch = list(images)
    else:
        raise TypeError(f"images is a {type(images).__name__}; expected {_ACCEPTED}")
    parts = [_one(source, i, resolution) for i, source in enumerate(batch)]
    out = torch.cat(parts) if parts else torch.empty(0, 3, resolution, resolution)
    if len(out) == 0:
        raise ValueError(f"no images to invert; expected at least one: {_ACCEPTED}")
    return out


def input_size(images: object) -> tuple[int, int] | None:
    """(H, W) shared by all of ``images`` when it is one tensor or array, else None
    (a mask at this size is cropped and resized like the images)."""
    if isinstance(images, torch.Tensor) and images.ndim in (3, 4):
        return int(images.shape[-2]), int(images.shape[-1])
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim in (2, 3, 4):
        return (images.shape[0], images.shape[1]) if images.ndim in (2, 3) else (images.shape[1], images.shape[2])
    return None


def prepare_mask(mask: object, n: int, resolution: int, size: tuple[int, int] | None = None) -> torch.Tensor | None:
    """A mask of weights in [0, 1] as a float tensor (N, 1, R, R), or None.

    Accepted shapes: (R, R), (1 or N, R, R) and (1 or N, 1, R, R) at the model's
    resolution R, or the same at the input images' own size ``size`` (then cropped
    and resized like the images). Booleans are fine; 1 keeps a pixel, 0 ignores it.
    """
    if mask is None:
        return None
    if isinstance(mask, np.ndarray):
        mask = torch.from_numpy(np.asarray(mask))
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask is a {type(mask).__name__}; expected a tensor or array of weights in [0, 1]")
    m = mask.detach().to("cpu", torch.float32)
    shapes = f"({resolution}, {resolution}), ({n}, {resolution}, {resolution}) or ({n}, 1, {resolution}, {resolution})"
    if size is not None and size != (resolution, resolution):
        shapes += f", or the same at the images' own size {size}"
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[:, None]
    spatial = tuple(m.shape[-2:])
    if m.ndim != 4 or m.shape[1] != 1 or m.shape[0] not in (1, n) or spatial not in {(resolution, resolution), size}:
        raise ValueError(f"mask has shape {tuple(mask.shape)}; expected {shapes}")
    if not torch.isfinite(m).all() or float(m.min()) < 0 or float(m.max()) > 1:
        raise ValueError("mask values must be finite weights in [0, 1] (1 keeps a pixel, 0 ignores it)")
    if spatial != (resolution, resolution):
        left, top, right, bottom = _square_box(spatial[1], spatial[0])
        m = m[:, :, top:bottom, left:right]
        m = F.interpolate(m, size=(resolution, resolution), mode="area").clamp(0, 1)
    m = m.expand(n, -1, -1, -1).contiguous()
    empty = (m.flatten(1).sum(1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"the mask selects no pixel of image(s) {empty}; expected some weight > 0 in each")
    return m
