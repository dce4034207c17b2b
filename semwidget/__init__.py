"""semwidget: discover, explore and name interpretable directions in image generators.

The names a notebook user types::

    G = semwidget.load("digiface-dcgan")
    latents = G.sample(9, seed=0)
    sefa = semwidget.SeFa(n_directions=5).fit(G)
    images = G.synthesize(semwidget.edit(latents, sefa.directions_[0], alpha=3.0))
"""

from typing import Any

from .common import image_grid, to_pil, to_uint8
from .continuous import ContinuousFactor, measure_transform
from .directions import Directions, GANSpace, InterFaceGAN, SeFa, edit, jitter, project_out
from .distributed import distributed
from .files import FileFormatError, ModelMismatchError
from .generators import Generator, Latents, as_generator, supported_layouts
from .inversion import Inversion, invert
from .semantics import (
    AttributeChange,
    ProbeResult,
    Rescoring,
    attribute_change,
    direction_similarity,
    plot_matrix,
    probe,
    rescore,
)
from .zoo import ZooFetchError, available
from .zoo._load import load


def __getattr__(name: str) -> Any:
    # The widget (anywidget, ipywidgets, the JS bundle) loads only when it is used, so
    # scripts and training runs import semwidget without a notebook stack.
    if name == "Explorer":
        from .widget import Explorer

        return Explorer
    raise AttributeError(f"module 'semwidget' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "AttributeChange",
    "ContinuousFactor",
    "Directions",
    "Explorer",
    "FileFormatError",
    "GANSpace",
    "Generator",
    "InterFaceGAN",
    "Inversion",
    "Latents",
    "ModelMismatchError",
    "ProbeResult",
    "Rescoring",
    "SeFa",
    "ZooFetchError",
    "__version__",
    "as_generator",
    "attribute_change",
    "available",
    "direction_similarity",
    "distributed",
    "edit",
    "image_grid",
    "invert",
    "jitter",
    "load",
    "measure_transform",
    "plot_matrix",
    "probe",
    "project_out",
    "rescore",
    "supported_layouts",
    "to_pil",
    "to_uint8",
]
