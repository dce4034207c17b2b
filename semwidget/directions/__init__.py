"""Direction finders (scikit-learn shaped: ``fit`` returns self, results end in ``_``)
and the ``Directions`` value they produce."""

from ._directions import Directions, fix_signs
from ._ganspace import GANSpace
from ._interfacegan import InterFaceGAN, boundary_from_labels, project_out
from ._sefa import SeFa, factorize

__all__ = [
    "Directions",
    "GANSpace",
    "InterFaceGAN",
    "SeFa",
    "boundary_from_labels",
    "factorize",
    "fix_signs",
    "project_out",
]
