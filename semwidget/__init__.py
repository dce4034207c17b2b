"""semwidget: discover, explore and name interpretable directions in image generators."""

from ._latents import Latents
from .generators import Generator, as_generator, supported_layouts

__version__ = "0.1.0"

__all__ = ["Generator", "Latents", "__version__", "as_generator", "supported_layouts"]
