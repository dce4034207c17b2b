"""Real images in the Explorer: files from the page or images from the notebook, inverted
into the generator's latent space and kept in the session as :class:`~._state.RealCell`.

Bytes from the page are not trusted: the image header is read first, and files that are
not images, or whose pixel count is beyond what :func:`semwidget.invert` accepts, are
refused before a pixel is decoded. Either every image of a request becomes a cell, or none
does: an error leaves the session as it was.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..common import png_bytes, to_uint8
from ..generators import Generator
from . import _state as st

MAX_PIXELS = 50_000_000  # as semwidget.invert: larger images are refused before decoding
_OWN_NOISE = (
    "the Explorer keeps one code per real image and synthesizes it with the model's fixed noise maps; "
    "an inversion with optimize_noise=True carries maps of its own: invert without it for the Explorer"
)


def open_image(data: bytes, name: str) -> Image.Image:
    """A decoded image from a file's bytes, its size checked from the header first."""
    try:
        with warnings.catch_warnings():
            # Our bound is below PIL's own: its warning would only repeat ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ValueError(f"{name!r} has far more pixels than the {MAX_PIXELS:,} accepted") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an image file PIL can read ({type(exc).__name__})") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValueError(f"{name!r} has {width}×{height} pixels; at most {MAX_PIXELS:,} are accepted")
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{name!r} could not be decoded: {exc}") from None
    return image


def check_generator(g: Generator) -> None:
    # A cell holds ws alone; a conditional model's samples carry a class beside them.
    if g.c_dim:
        raise ValueError(
            f"real images in the Explorer need an unconditional generator; {g.name} is conditional "
            "(invert with semwidget.invert(..., class_index=...) and edit the result in Python)"
        )


def check_invert_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The Explorer's ``invert_options``, refused up front if no inversion could become a cell."""
    options = dict(options or {})
    if options.get("optimize_noise"):
        raise ValueError(_OWN_NOISE)
    return options


def invert_cells(g: Generator, images: Any, names: Sequence[str] | None = None, **options: Any) -> list[st.RealCell]:
    """Invert ``images`` (anything :func:`semwidget.invert` accepts) into session cells."""
    from ..inversion import invert  # the optimiser and its losses load when first used

    check_generator(g)
    check_invert_options(options)
    count = len(images) if hasattr(images, "__len__") else None
    if count is not None and count > st.MAX_REALS:
        raise ValueError(f"the grid shows at most {st.MAX_REALS} real images; got {count}")
    return cells_of(g, invert(g, images, **options), names)


def cells_of(g: Generator, inversion: Any, names: Sequence[str] | None = None) -> list[st.RealCell]:
    """Session cells for the images of an :class:`~semwidget.Inversion` made on ``g``."""
    check_generator(g)
    if inversion.latents.model != g.fingerprint:
        raise ValueError(f"this Inversion was made on another generator than {g.name}")
    if inversion.latents.noise is not None:
        raise ValueError(_OWN_NOISE)
    ws = inversion.latents.ws
    if len(ws) > st.MAX_REALS:
        raise ValueError(f"the grid shows at most {st.MAX_REALS} real images; got {len(ws)}")
    names = list(names) if names is not None else [f"image {i + 1}" for i in range(len(ws))]
    if len(names) != len(ws):
        raise ValueError(f"{len(names)} names for {len(ws)} inverted images")
    targets = to_uint8(inversion.targets)
    return [st.new_real(name, ws[i], float(inversion.psnr[i]), png_bytes(targets[i])) for i, name in enumerate(names)]
