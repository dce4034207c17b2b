"""Annotated heatmaps drawn with PIL alone, so results show in a notebook without matplotlib.

:func:`plot_matrix` draws a matrix as coloured cells with the value written in each,
row labels on the left, column labels on top (turned upright when they are too
wide for a cell), a title and a colour scale on the right. NaN cells are grey
and marked "n/a" (for example where a direction cannot act at a layer). PIL's
bundled font has Latin glyphs only (no Greek), so titles here spell out "alpha".
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Ends of a blue-white-red diverging map (ColorBrewer RdBu): far enough from
# white that text on them needs white ink, close enough to print legibly.
_BLUE = np.array([33.0, 102.0, 172.0])
_WHITE = np.array([255.0, 255.0, 255.0])
_RED = np.array([178.0, 24.0, 43.0])
_NAN = (225, 225, 225)
_GRID = (200, 200, 200)
_INK = (20, 20, 20)
_MAX_LABEL = 40  # characters; longer labels are shortened with an ellipsis

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=8)
def _font(size: int) -> Font:
    """PIL's bundled font at ``size`` pixels; the fixed-size bitmap font without FreeType."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or built without FreeType
        return ImageFont.load_default()


def _text_width(font: Font, text: str) -> int:
    box = font.getbbox(text)
    return int(box[2] - box[0])


def _line_height(font: Font) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return int(font.getbbox("Hg")[3]) + 2


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _format(fmt: str, value: float) -> str:
    """``value`` formatted, "n/a" for NaN, and no sign on a value that rounds to 0 ("-0.00")."""
    if not np.isfinite(value):
        return "n/a"
    text, zero = fmt.format(value), fmt.format(0.0)
    return zero if text == "-" + zero.lstrip("+") else text


def colour(value: float, vmin: float, vmax: float, diverging: bool) -> tuple[int, int, int]:
    """The cell colour of ``value``: blue-white-red around 0 when ``diverging``, else white to red."""
    if not np.isfinite(value):
        return _NAN
    if diverging:
        t = float(np.clip(value / vmax, -1.0, 1.0))
        end = _RED if t >= 0 else _BLUE
        rgb = _WHITE + abs(t) * (end - _WHITE)
    else:
        t = float(np.clip((value - vmin) / (vmax - vmin), 0.0, 1.0))
        rgb = _WHITE + t * (_RED - _WHITE)
    return tuple(int(round(c)) for c in rgb)  # type: ignore[return-value]


def _ink_on(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black text on light cells, white on dark ones (Rec. 601 luma)."""
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (255, 255, 255) if luma < 140 else _INK


def _scale(values: np.ndarray, diverging: bool) -> tuple[float, float]:
    """The colour range: symmetric about 0 when diverging, else the data's own range."""
    finite = values[np.isfinite(values)]
    if diverging:
        top = float(np.abs(finite).max()) if finite.size else 0.0
        top = top if top > 0 else 1.0
        return -top, top
    if not finite.size:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)


def _upright(text: str, font: Font) -> Image.Image:
    """``text`` turned to read bottom to top, as a mask (L mode)."""
    w, h = _text_width(font, text) + 2, _line_height(font)
    strip = Image.new("L", (w, h), 0)
    ImageDraw.Draw(strip).text((1, 0), text, font=font, fill=255)
    return strip.rotate(90, expand=True)


def plot_matrix(
    matrix: np.ndarray | Sequence[Sequence[float]],
    row_labels: Sequence[object],
    col_labels: Sequence[object],
    *,
    title: str = "",
    fmt: str = "{:.2f}",
    diverging: bool = True,
    font_size: int = 13,
) -> Image.Image:
    """Draw an annotated heatmap.

    Parameters
    ----------
    matrix : array of shape (rows, cols)
        NaN cells are drawn grey and marked "n/a".
    row_labels : sequence of length rows
    col_labels : sequence of length cols
    title : str
    fmt : str
        Format of the value written in each cell.
    diverging : bool
        Blue (negative), white (0), red (positive), scaled to the largest
        magnitude; otherwise white (smallest value) to red (largest).
    font_size : int
        Pixel size of the text; every other length follows from it.

    Returns
    -------
    PIL.Image.Image in RGB mode, sized to fit labels, values and colour scale.
    """
    values = np.asarray(matrix, dtype=np.float64)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"plot_matrix needs a non-empty matrix of shape (rows, cols); got {values.shape}")
    rows, cols = values.shape
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(f"{len(row_labels)} row and {len(col_labels)} column labels for a {rows}×{cols} matrix")
    font = _font(int(font_size))
    line = _line_height(font)
    pad = max(3, line // 3)
    vmin, vmax = _scale(values, diverging)
    texts = [[_format(fmt, v) for v in row] for row in values]
    rlabels, clabels = [_short(x) for x in row_labels], [_short(x) for x in col_labels]

    cell_w = max(max(_text_width(font, t) for row in texts for t in row) + 2 * pad, int(2.5 * line))
    cell_h = line + 2 * pad
    label_w = max(_text_width(font, t) for t in rlabels) + 2 * pad
    upright = any(_text_width(font, t) > cell_w - pad for t in clabels)
    header_h = (max(_text_width(font, t) for t in clabels) + 2 if upright else line) + pad
    ticks = [_format(fmt, v) for v in (vmax, (vmin + vmax) / 2, vmin)]
    bar_w = line + pad + max(_text_width(font, t) for t in ticks)
    title_h = line + 2 * pad if title else 0
    grid_w, grid_h = cols * cell_w, rows * cell_h
    left, top = pad + label_w, pad + title_h + header_h
    width = max(left + grid_w + 3 * pad + bar_w + pad, _text_width(font, title) + 2 * pad)
    height = top + max(grid_h, 3 * line) + 2 * pad

    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((pad, pad), title, font=font, fill=_INK)
    for j, text in enumerate(clabels):
        x0 = left + j * cell_w
        if upright:
            mask = _upright(text, font)
            x = x0 + (cell_w - mask.width) // 2
            image.paste(Image.new("RGB", mask.size, _INK), (x, top - pad // 2 - mask.height), mask)
        else:
            x = x0 + (cell_w - _text_width(font, text)) // 2
            draw.text((x, top - pad // 2 - line), text, font=font, fill=_INK)
    for i, text in enumerate(rlabels):
        y = top + i * cell_h + pad
        draw.text((left - pad - _text_width(font, text), y), text, font=font, fill=_INK)
        for j in range(cols):
            x0, y0 = left + j * cell_w, top + i * cell_h
            fill = colour(values[i, j], vmin, vmax, diverging)
            draw.rectangle([x0, y0, x0 + cell_w - 1, y0 + cell_h - 1], fill=fill, outline=_GRID)
            t = texts[i][j]
            ink = (130, 130, 130) if not np.isfinite(values[i, j]) else _ink_on(fill)
            draw.text((x0 + (cell_w - _text_width(font, t)) // 2, y0 + pad), t, font=font, fill=ink)
    _colour_bar(draw, font, (left + grid_w + 3 * pad, top), line, max(grid_h, 3 * line), (vmin, vmax), ticks, diverging)
    return image


def _colour_bar(
    draw: ImageDraw.ImageDraw,
    font: Font,
    origin: tuple[int, int],
    bar: int,
    height: int,
    scale: tuple[float, float],
    ticks: list[str],
    diverging: bool,
) -> None:
    """A vertical scale from ``scale[1]`` (top) to ``scale[0]`` (bottom), with three ticks."""
    x, y = origin
    vmin, vmax = scale
    for row in range(height):
        value = vmax - (vmax - vmin) * row / max(height - 1, 1)
        draw.line([x, y + row, x + bar - 1, y + row], fill=colour(value, vmin, vmax, diverging))
    draw.rectangle([x, y, x + bar - 1, y + height - 1], outline=_GRID)
    line = _line_height(font)
    for k, text in enumerate(ticks):
        ty = y + k * (height - 1) // 2 - line // 2
        ty = min(max(ty, y - line // 2), y + height - line)
        draw.text((x + bar + 3, ty), text, font=font, fill=_INK)


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding of ``image``, for ``_repr_png_``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def stack(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Images one under another on white, left-aligned."""
    width = max(im.width for im in images)
    height = sum(im.height for im in images) + gap * (len(images) - 1)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    y = 0
    for im in images:
        canvas.paste(im, (0, y))
        y += im.height + gap
    return canvas
