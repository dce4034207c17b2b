"""Direction finders (scikit-learn shaped: ``fit`` returns self, results end in ``_``),
the ``Directions`` value they produce, and edits along them."""

from ._directions import Directions, fix_signs
from ._edits import edit, jitter
from ._ganspace import GANSpace
from ._interfacegan import InterFaceGAN, boundary_from_labels, project_out
from ._sefa import SeFa, factorize

__all__ = [
    "Directions",
    "GANSpace",
    "InterFaceGAN",
    "SeFa",
    "boundary_from_labels",
    "edit",
    "factorize",
    "fix_signs",
    "jitter",
    "project_out",
]
