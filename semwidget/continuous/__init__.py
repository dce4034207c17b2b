"""Continuous factors of variation (Plumerault, Le Borgne & Hudelot, ICLR 2020).

    cf = semwidget.ContinuousFactor("shift_x").fit(G)     # a direction that moves content right
    G.synthesize(cf.edit(latents, 0.1))                   # a tenth of the width to the right
    semwidget.measure_transform(G, cf, "shift_x")         # how far it really moved

``_transforms`` holds the transformations and their masks (and the sign convention),
``_trajectories`` the warm-started inversions along the curriculum and their cache,
``_monotone`` the monotone map g, ``_direction`` the joint fit of v and g, ``_fit`` the
estimator, ``_measure`` the quantification, ``_files`` a fitted factor on disk
(:func:`save_factor`, :func:`load_factor`; the Explorer's annotations hold the same record).
"""

from ._files import load_factor, save_factor
from ._fit import ContinuousFactor, TrajectorySummary
from ._measure import Measured, TransformMeasurement, measure_transform
from ._monotone import MonotoneMap, OutOfRangeWarning
from ._trajectories import UsableSeedsWarning
from ._transforms import TRANSFORMS, CustomTransform, Transform, as_transform

__all__ = [
    "TRANSFORMS",
    "ContinuousFactor",
    "CustomTransform",
    "Measured",
    "MonotoneMap",
    "OutOfRangeWarning",
    "TrajectorySummary",
    "Transform",
    "TransformMeasurement",
    "UsableSeedsWarning",
    "as_transform",
    "load_factor",
    "measure_transform",
    "save_factor",
]
