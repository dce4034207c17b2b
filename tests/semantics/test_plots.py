"""Annotated heatmaps: what the figure holds (cells, labels, colours, colour bar) and the PNG a notebook shows."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from semwidget import plot_matrix
from semwidget.semantics._figure import DPI, png_bytes
from semwidget.semantics._plots import plot_matrices


def cells(ax) -> list[str]:
    """The text written in the cells of a heatmap, row by row."""
    return [t.get_text() for t in ax.texts]


def decode(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG")
    return Image.open(io.BytesIO(png)).convert("RGB")


def has_figure_size(image: Image.Image, figure: Figure, dpi: float = DPI) -> bool:
    """``image`` is ``figsize × dpi`` pixels (matplotlib may truncate a fraction of a pixel)."""
    width, height = figure.get_size_inches() * dpi
    return abs(image.width - width) < 1 and abs(image.height - height) < 1


def test_cells_hold_the_formatted_values_and_nan_reads_na():
    matrix = [[-1.0, -0.001, 1.0], [np.nan, 0.5, -0.5]]
    fig = plot_matrix(matrix, ["first", "second"], ["a", "b", "c"], title="test α Δ σ", fmt="{:.2f}")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the heatmap and its colour bar
    heat, bar = fig.axes
    assert cells(heat) == ["-1.00", "0.00", "1.00", "n/a", "0.50", "-0.50"]  # "-0.00" loses its sign
    assert [t.get_text() for t in heat.get_yticklabels()] == ["first", "second"]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["a", "b", "c"]
    assert heat.xaxis.get_ticks_position() == "top" and heat.get_xticklabels()[0].get_rotation() == 0
    assert fig.subfigs[0].get_suptitle() == "test α Δ σ"
    assert [t.get_text() for t in bar.get_yticklabels()] == ["-1.00", "0.00", "1.00"]
    # The NaN cell is masked, so it takes the colour map's grey "bad" colour.
    image = heat.get_images()[0]
    assert image.get_array().mask.tolist() == [[False, False, False], [True, False, False]]
    assert np.allclose(image.get_cmap().get_bad()[:3], 225 / 255)


def test_diverging_is_symmetric_about_zero_and_sequential_spans_the_data():
    matrix = np.array([[0.2, -0.5], [2.0, 1.0]])
    diverging = plot_matrix(matrix, ["x", "y"], ["a", "b"]).axes[0].get_images()[0]
    assert (diverging.norm.vmin, diverging.norm.vmax) == (-2.0, 2.0)
    blue, white, red = (diverging.get_cmap()(diverging.norm(v))[:3] for v in (-2.0, 0.0, 2.0))
    assert blue[2] > 2 * blue[0] and red[0] > 2 * red[2] and min(white) > 0.95
    sequential = plot_matrix(matrix, ["x", "y"], ["a", "b"], diverging=False).axes[0].get_images()[0]
    assert (sequential.norm.vmin, sequential.norm.vmax) == (-0.5, 2.0)
    low, high = (sequential.get_cmap()(sequential.norm(v))[:3] for v in (-0.5, 2.0))
    assert min(low) > 0.9 and high[0] > high[2] + 0.3  # white-ish to red
    # Text is white on the dark ends, dark on light cells.
    assert [t.get_color() for t in plot_matrix(matrix, ["x", "y"], ["a", "b"]).axes[0].texts][2] == "white"
    assert [t.get_color() for t in plot_matrix(matrix, ["x", "y"], ["a", "b"]).axes[0].texts][0] != "white"
    # A constant matrix still has a range to draw.
    flat = plot_matrix(np.zeros((1, 1)), ["x"], ["y"], diverging=False)
    assert cells(flat.axes[0]) == ["0.00"] and flat.axes[0].get_images()[0].norm.vmax == 1.0


def test_the_png_has_the_figure_size_and_the_cell_colours():
    matrix = [[-1.0, 0.0, 1.0], [np.nan, 0.5, -0.5]]
    fig = plot_matrix(matrix, ["first", "second"], ["a", "b", "a rather long column label"], title="test")
    assert fig.axes[0].get_xticklabels()[2].get_rotation() == 90  # too wide for its cell
    png = fig._repr_png_()
    image = decode(png)
    assert has_figure_size(image, fig) and 150 < image.width < 800 and 100 < image.height < 600
    assert has_figure_size(decode(png_bytes(fig, dpi=2 * DPI)), fig, 2 * DPI)
    # Each cell's colour is in the picture, over an area of at least a small cell.
    heat = fig.axes[0].get_images()[0]
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    for value in (-1.0, 0.5, np.nan):
        rgb = np.round(255 * np.array(heat.get_cmap()(heat.norm(value))[:3])).astype(int)
        assert (np.abs(pixels - rgb).max(axis=1) <= 2).sum() > 150, value
    assert ((pixels[:, 2] > 2 * pixels[:, 0]) & (pixels[:, 2] > 80)).sum() > 150  # the -1 cell is blue
    assert ((pixels[:, 0] > 2 * pixels[:, 2]) & (pixels[:, 0] > 80)).sum() > 150  # the +1 cell is red


def test_the_figure_grows_with_its_content_and_font():
    small = plot_matrix(np.ones((2, 2)), ["x", "y"], ["a", "b"])
    wide = plot_matrix(np.ones((2, 8)), ["x", "y"], list("abcdefgh"))
    tall = plot_matrix(np.ones((8, 2)), list("abcdefgh"), ["a", "b"])
    big = plot_matrix(np.ones((2, 2)), ["x", "y"], ["a", "b"], font_size=20)
    assert wide.get_size_inches()[0] > small.get_size_inches()[0] + 1
    assert tall.get_size_inches()[1] > small.get_size_inches()[1] + 0.5
    assert (big.get_size_inches() > 1.5 * small.get_size_inches()).all()
    assert big.axes[0].texts[0].get_fontsize() == 20


def test_labels_are_shortened_and_never_read_as_mathtext():
    long = "a label far longer than forty characters, which is shortened"
    fig = plot_matrix([[1.0]], ["cost in $ (or $\\frac"], [long], title="$\\unclosed")
    assert fig.axes[0].get_yticklabels()[0].get_text() == "cost in $ (or $\\frac"
    shortened = fig.axes[0].get_xticklabels()[0].get_text()
    assert len(shortened) == 40 and shortened.endswith("…") and long.startswith(shortened[:-1])
    assert has_figure_size(decode(png_bytes(fig)), fig)  # mathtext would fail to parse these


def test_several_matrices_stack_in_one_figure_each_on_its_own_scale():
    matrices = [np.array([[1.0, -2.0]]), np.array([[100.0, 50.0]]), np.array([[np.nan, 0.001]])]
    fig = plot_matrices(matrices, ["row"], ["a", "b"], titles=["one", "two", "three"], fmt="{:.3f}")
    assert len(fig.axes) == 6  # heatmap, colour bar, heatmap, colour bar, ...
    heats = fig.axes[::2]
    assert [cells(ax) for ax in heats] == [["1.000", "-2.000"], ["100.000", "50.000"], ["n/a", "0.001"]]
    assert [ax.get_images()[0].norm.vmax for ax in heats] == [2.0, 100.0, 0.001]
    assert [s.get_suptitle() for s in fig.subfigs] == ["one", "two", "three"]
    one = plot_matrix(matrices[0], ["row"], ["a", "b"], title="one", fmt="{:.3f}")
    assert fig.get_size_inches()[1] == pytest.approx(3 * one.get_size_inches()[1])
    assert has_figure_size(decode(fig._repr_png_()), fig)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="1 row and 2 column labels for a 2×2 matrix"):
        plot_matrix(np.zeros((2, 2)), ["x"], ["a", "b"])
    with pytest.raises(ValueError, match="non-empty matrix"):
        plot_matrix(np.zeros(3), ["x"], ["a"])
    with pytest.raises(ValueError, match="non-empty matrix"):
        plot_matrix(np.zeros((0, 2)), [], ["a", "b"])
    with pytest.raises(ValueError, match="matrices of one shape"):
        plot_matrices([np.zeros((1, 2)), np.zeros((2, 1))], ["x"], ["a", "b"])
    with pytest.raises(ValueError, match="2 titles for 1 matrices"):
        plot_matrices([np.zeros((1, 1))], ["x"], ["a"], titles=["a", "b"])
    with pytest.raises(ValueError, match="at least one matrix"):
        plot_matrices([], ["x"], ["a"])


def test_figures_stay_out_of_pyplot_and_matplotlib_loads_only_when_plotting():
    fig = plot_matrix([[1.0]], ["x"], ["y"])
    assert fig.canvas.manager is None  # not one of pyplot's figures, so nothing holds it but the caller
    code = "import sys, semwidget; assert 'matplotlib' not in sys.modules, 'import semwidget loaded matplotlib'"
    subprocess.run([sys.executable, "-c", code], check=True)
