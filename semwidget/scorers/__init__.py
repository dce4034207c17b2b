"""Scorers: a batch of images in, one score per attribute out."""

# The face scorers import their optional dependencies only when constructed
# (`pip install 'semwidget[faces]'`), so importing them here costs nothing.
from ._age_gender import AgeGender
from ._base import FunctionScorer, Scorer, ScorerSet, as_scorer
from ._expression import Expression
from ._face_mesh import FaceMesh
from ._image import Brightness, Contrast, HueHistogram, SaliencyPosition, Saturation

__all__ = [
    "AgeGender",
    "Brightness",
    "Contrast",
    "Expression",
    "FaceMesh",
    "FunctionScorer",
    "HueHistogram",
    "SaliencyPosition",
    "Saturation",
    "Scorer",
    "ScorerSet",
    "as_scorer",
]
