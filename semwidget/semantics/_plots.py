"""Annotated heatmaps as matplotlib figures.

:func:`plot_matrix` draws a matrix as coloured cells with the value written in each,
row labels on the left, column labels on top (turned upright when they are too wide
for a cell), a title and a colour bar on the right. NaN cells are grey and marked
"n/a" (for example where a direction cannot act at a layer). :func:`plot_matrices`
puts several such matrices one under another in one figure, each on its own colour
scale (re-scoring draws one per attribute, and attributes have different units).

The figures are :class:`~semwidget.semantics._figure.NotebookFigure` s: plain
matplotlib figures made without pyplot, which show as a PNG in a notebook.
matplotlib is imported when a figure is made, not when semwidget is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

_NAN = "#e1e1e1"  # the grey of a cell without a value
_NAN_INK = "#828282"  # "n/a" in it: readable, yet quieter than a value
_INK = "#141414"
_EDGE = "#c8c8c8"
_MAX_LABEL = 40  # characters; longer labels are shortened with an ellipsis
# Blue (negative), white (0), red (positive); white to red when sequential. The ends
# of both are dark enough that text on them is written in white (see _ink_on).
_DIVERGING, _SEQUENTIAL = "RdBu_r", "Reds"


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _format(fmt: str, value: float) -> str:
    """``value`` formatted, "n/a" for NaN, and no sign on a value that rounds to 0 ("-0.00")."""
    if not np.isfinite(value):
        return "n/a"
    text, zero = fmt.format(value), fmt.format(0.0)
    return zero if text == "-" + zero.lstrip("+") else text


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


def _ink_on(rgba: Sequence[float]) -> str:
    """Dark text on light cells, white on dark ones (Rec. 601 luma)."""
    luma = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
    return "white" if luma < 0.55 else _INK


def _width(texts: Sequence[str], font_size: float) -> float:
    """Width in inches of the widest of ``texts`` at ``font_size`` points, as matplotlib sets it."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    font = FontProperties(size=font_size)
    return max((text_to_path.get_text_width_height_descent(t, font, ismath=False)[0] for t in texts), default=0.0) / 72


@dataclass(frozen=True)
class _Layout:
    """Sizes in inches of one panel, measured from its texts, so the figure fits them.

    The figure is sized from these and constrained layout places the parts; the cells
    then come out about as measured, not squeezed or stretched to a default figure size.
    """

    width: float
    height: float
    grid: float  # width of the cells together
    bar: float  # width of the colour bar
    upright: bool  # column labels turned to read bottom to top

    @classmethod
    def measure(
        cls,
        texts: list[str],
        rlabels: list[str],
        clabels: list[str],
        ticks: list[str],
        titles: list[str],
        font_size: float,
    ) -> _Layout:
        em = font_size / 72
        cell_w = max(_width(texts, font_size) + 0.8 * em, 2.8 * em)
        cell_h = 1.9 * em
        rows, cols = len(rlabels), len(clabels)
        upright = _width(clabels, font_size) > cell_w - 0.3 * em
        header = (_width(clabels, font_size) if upright else em) + 0.8 * em
        row_w = _width(rlabels, font_size) + 0.6 * em
        grid_h = max(rows * cell_h, 3.5 * em)  # room for the colour bar's three ticks
        bar_w, bar_labels = 1.2 * em, 0.8 * em + _width(ticks, font_size)
        margin = 0.25  # constrained layout's pads, and the space between grid and bar
        around = row_w + bar_w + bar_labels + margin
        width = max(around + cols * cell_w, _width(titles, font_size) + margin)  # the cells widen for a long title
        title_h = 1.8 * em if any(titles) else 0.0
        height = title_h + header + grid_h + 0.9 * em + margin
        return cls(width=width, height=height, grid=width - around, bar=bar_w, upright=upright)


def _check(matrices: Sequence[Any], row_labels: Sequence[object], col_labels: Sequence[object]) -> list[np.ndarray]:
    if not len(matrices):
        raise ValueError("plot_matrices needs at least one matrix")
    values = [np.asarray(m, dtype=np.float64) for m in matrices]
    for v in values:
        if v.ndim != 2 or 0 in v.shape:
            raise ValueError(f"plot_matrix needs a non-empty matrix of shape (rows, cols); got {v.shape}")
    if len({v.shape for v in values}) > 1:
        raise ValueError(f"plot_matrices needs matrices of one shape; got {[v.shape for v in values]}")
    rows, cols = values[0].shape
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(f"{len(row_labels)} row and {len(col_labels)} column labels for a {rows}×{cols} matrix")
    return values


def plot_matrices(
    matrices: Sequence[np.ndarray | Sequence[Sequence[float]]],
    row_labels: Sequence[object],
    col_labels: Sequence[object],
    *,
    titles: Sequence[str] | None = None,
    fmt: str = "{:.2f}",
    diverging: bool = True,
    font_size: float = 10,
) -> Figure:
    """Several annotated heatmaps of one shape, one under another, each with its own colour bar.

    Parameters
    ----------
    matrices : sequence of arrays of shape (rows, cols)
        NaN cells are drawn grey and marked "n/a".
    row_labels : sequence of length rows
    col_labels : sequence of length cols
    titles : sequence of str, one per matrix, optional
    fmt, diverging, font_size
        As for :func:`plot_matrix`.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes per matrix, in order: the heatmap, then its colour bar.
    """
    from ._figure import NotebookFigure

    values = _check(matrices, row_labels, col_labels)
    titles = [""] * len(values) if titles is None else [str(t) for t in titles]
    if len(titles) != len(values):
        raise ValueError(f"{len(titles)} titles for {len(values)} matrices")
    rlabels, clabels = [_short(x) for x in row_labels], [_short(x) for x in col_labels]
    scales = [_scale(v, diverging) for v in values]
    texts = [[[_format(fmt, x) for x in row] for row in v] for v in values]
    ticks = [_format(fmt, t) for low, high in scales for t in (low, (low + high) / 2, high)]
    layout = _Layout.measure([t for m in texts for row in m for t in row], rlabels, clabels, ticks, titles, font_size)
    figure = NotebookFigure(figsize=(layout.width, layout.height * len(values)), layout="constrained")
    # One subfigure per matrix: its title is the subfigure's, so a title wider than
    # the grid takes room above it rather than pushing the colour bar aside.
    for panel, v, text, scale, title in zip(
        figure.subfigures(len(values), 1, squeeze=False)[:, 0], values, texts, scales, titles
    ):
        ax, bar = panel.subplots(1, 2, width_ratios=(layout.grid, layout.bar))
        _heatmap(ax, bar, v, text, rlabels, clabels, scale, fmt, diverging, font_size, layout.upright)
        if title:
            panel.suptitle(title, x=0.05 / layout.width, ha="left", fontsize=font_size, color=_INK, parse_math=False)
    return figure


def plot_matrix(
    matrix: np.ndarray | Sequence[Sequence[float]],
    row_labels: Sequence[object],
    col_labels: Sequence[object],
    *,
    title: str = "",
    fmt: str = "{:.2f}",
    diverging: bool = True,
    font_size: float = 10,
) -> Figure:
    """Draw an annotated heatmap.

    Parameters
    ----------
    matrix : array of shape (rows, cols)
        NaN cells are drawn grey and marked "n/a".
    row_labels : sequence of length rows
    col_labels : sequence of length cols
    title : str
    fmt : str
        Format of the value written in each cell (and of the colour bar's ticks).
    diverging : bool
        Blue (negative), white (0), red (positive), scaled to the largest
        magnitude; otherwise white (smallest value) to red (largest).
    font_size : float
        Size of all text in points; the cells and the figure are sized to fit it.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the heatmap (its ``texts`` are the cells' values, row by row) and
        the colour bar. In a notebook it shows as a PNG; ``fig.savefig`` writes it.
    """
    return plot_matrices(
        [matrix], row_labels, col_labels, titles=[title], fmt=fmt, diverging=diverging, font_size=font_size
    )


def _colormap(diverging: bool) -> Colormap:
    from matplotlib import colormaps

    return colormaps[_DIVERGING if diverging else _SEQUENTIAL].with_extremes(bad=_NAN)


def _heatmap(
    ax: Axes,
    bar: Axes,
    values: np.ndarray,
    texts: list[list[str]],
    rlabels: list[str],
    clabels: list[str],
    scale: tuple[float, float],
    fmt: str,
    diverging: bool,
    font_size: float,
    upright: bool,
) -> None:
    """One heatmap on ``ax``, its colour bar on ``bar``."""
    from matplotlib.colors import Normalize

    cmap, norm = _colormap(diverging), Normalize(*scale)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    # parse_math=False everywhere: labels are the user's text, and a "$" in one must
    # not switch matplotlib to mathtext (or fail to parse as it).
    for (i, j), value in np.ndenumerate(values):
        ink = _ink_on(cmap(norm(value))) if np.isfinite(value) else _NAN_INK
        ax.text(j, i, texts[i][j], ha="center", va="center", color=ink, fontsize=font_size, parse_math=False)
    rows, cols = values.shape
    ax.set_xticks(range(cols), clabels, rotation=90 if upright else 0, parse_math=False)
    ax.set_yticks(range(rows), rlabels, parse_math=False)
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=font_size, colors=_INK)
    # Thin white lines between cells, drawn as the minor grid so they sit over the image.
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.grid(which="major", visible=False)
    for spine in ax.spines.values():
        spine.set_edgecolor(_EDGE)
    colour_bar = ax.figure.colorbar(image, cax=bar)
    low, high = scale
    ticks = [low, (low + high) / 2, high]
    colour_bar.set_ticks(ticks, labels=[_format(fmt, t) for t in ticks])
    bar.tick_params(labelsize=font_size, colors=_INK)
    colour_bar.outline.set_edgecolor(_EDGE)
