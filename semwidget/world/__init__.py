"""A procedural scene world with known factors, and a predictor that reads them back.

The names a training loop or a probe uses::

    from semwidget.world import FACTORS, sample_factors, render, to_tensor, WorldDataset
    factors = sample_factors(16, np.random.default_rng(0))   # (16, 9) float32
    images = to_tensor(render(factors))                      # (16, 3, 64, 64) in [-1, 1]
    scores = FactorScorer()(images)                          # (16, 9): the factors read back
"""

from ._predictor import FactorScorer, evaluate, load_predictor, train_predictor
from ._scene import (
    FACTOR_NAMES,
    FACTORS,
    RESOLUTION,
    SHAPES,
    TARGET_NAMES,
    Factor,
    WorldDataset,
    factor_targets,
    render,
    sample_factors,
    to_tensor,
)

__all__ = [
    "FACTORS",
    "FACTOR_NAMES",
    "RESOLUTION",
    "SHAPES",
    "TARGET_NAMES",
    "Factor",
    "FactorScorer",
    "WorldDataset",
    "evaluate",
    "factor_targets",
    "load_predictor",
    "render",
    "sample_factors",
    "to_tensor",
    "train_predictor",
]
