"""Scorers: a batch of images in, one score per attribute out."""

from ._base import FunctionScorer, Scorer, ScorerSet, as_scorer

__all__ = ["FunctionScorer", "Scorer", "ScorerSet", "as_scorer"]
