"""Type checks for values read from a file or a page message (JSON gives ints of any
size, floats including inf and NaN, and bools, which are ints to Python)."""

from __future__ import annotations

import math

import numpy as np


def is_int(x: object) -> bool:
    """An integer, not a bool (numpy integers included)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def is_finite_number(x: object) -> bool:
    """An int or float (not a bool) that is finite as a float. An int too large for a
    float is not: the loader fuzz found ``np.isfinite(10**400)`` raising TypeError, and
    ``math.isfinite`` raises OverflowError."""
    if not (is_int(x) or isinstance(x, (float, np.floating))):
        return False
    try:
        return math.isfinite(float(x))  # type: ignore[arg-type]
    except OverflowError:
        return False
