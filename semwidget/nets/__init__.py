"""Network definitions of our own: modules whose weights the zoo and checkpoints load."""

from ._dcgan import DCGAN, ConditionalDCGAN

__all__ = ["DCGAN", "ConditionalDCGAN"]
