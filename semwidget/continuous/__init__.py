"""Continuous factors of variation (Plumerault, Le Borgne & Hudelot, ICLR 2020).

``_transforms`` holds the transformations and their masks (and the sign convention),
``_monotone`` the monotone map g.
"""

from ._monotone import MonotoneMap, OutOfRangeWarning
from ._transforms import TRANSFORMS, CustomTransform, Transform, as_transform

__all__ = ["TRANSFORMS", "CustomTransform", "MonotoneMap", "OutOfRangeWarning", "Transform", "as_transform"]
