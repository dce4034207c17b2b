"""Scorers: a batch of images in, one score per attribute out."""

from ._base import FunctionScorer, Scorer, ScorerSet, as_scorer
from ._image import Brightness, Contrast, HueHistogram, SaliencyPosition, Saturation

__all__ = [
    "Brightness",
    "Contrast",
    "FunctionScorer",
    "HueHistogram",
    "SaliencyPosition",
    "Saturation",
    "Scorer",
    "ScorerSet",
    "as_scorer",
]
