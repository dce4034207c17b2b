"""Network definitions of our own: modules whose weights the zoo and checkpoints load."""

from ._dcgan import DCGAN, ConditionalDCGAN
from ._stylegan2 import StyleGAN2

__all__ = ["DCGAN", "ConditionalDCGAN", "StyleGAN2"]
