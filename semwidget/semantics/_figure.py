"""A matplotlib Figure that shows itself as a picture in a notebook.

semwidget makes its figures with ``Figure()`` rather than ``pyplot``: that touches no
global state, picks no GUI backend, and a figure nobody holds is simply garbage
collected (pyplot keeps every figure it makes until it is closed). The price is that
IPython shows a ``Figure`` as a picture only once pyplot has loaded the inline backend
(``%matplotlib inline``, or any ``import matplotlib.pyplot`` in a Jupyter kernel);
before that, a figure left as a cell's last expression prints as "<Figure size 640x480
with 1 Axes>". :class:`NotebookFigure` adds ``_repr_png_`` so it shows either way. Once
the inline backend is loaded, its formatter is registered for ``Figure`` itself and is
found before ``_repr_png_``, so a figure never shows twice.

This module imports matplotlib, so only the plotting functions import it, when called:
``import semwidget`` stays free of matplotlib.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

DPI = 100  # pixels per inch of the PNG a notebook shows; 10 pt text is then about 14 px


def png_bytes(figure: Figure, dpi: float = DPI) -> bytes:
    """PNG encoding of ``figure`` at its own size (``figsize × dpi`` pixels), on white."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


class NotebookFigure(Figure):
    """A plain :class:`matplotlib.figure.Figure` that IPython can show without pyplot."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)
