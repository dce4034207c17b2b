"""semwidget: discover, explore and name interpretable directions in image generators.

The names a notebook user types::

    G = semwidget.load("digiface-dcgan")
    latents = G.sample(9, seed=0)
    sefa = semwidget.SeFa(n_directions=5).fit(G)
    images = G.synthesize(semwidget.edit(latents, sefa.directions_[0], alpha=3.0))
"""

from ._edits import edit, jitter
from ._entanglement import AttributeChange, attribute_change, direction_similarity
from ._images import image_grid, to_pil, to_uint8
from ._latents import Latents
from ._load import load
from ._plot import plot_matrix
from ._probe import ProbeResult, probe
from ._rescore import Rescoring, rescore
from .directions import Directions, GANSpace, InterFaceGAN, SeFa, project_out
from .generators import Generator, as_generator, supported_layouts
from .widget import Explorer
from .zoo import ZooFetchError, available

__version__ = "0.1.0"

__all__ = [
    "AttributeChange",
    "Directions",
    "Explorer",
    "GANSpace",
    "Generator",
    "InterFaceGAN",
    "Latents",
    "ProbeResult",
    "Rescoring",
    "SeFa",
    "ZooFetchError",
    "__version__",
    "as_generator",
    "attribute_change",
    "available",
    "direction_similarity",
    "edit",
    "image_grid",
    "jitter",
    "load",
    "plot_matrix",
    "probe",
    "project_out",
    "rescore",
    "supported_layouts",
    "to_pil",
    "to_uint8",
]
