"""A fitted continuous factor as the Explorer holds it: its monotone map g between the
transformation's amount t and the handle's α (α = step = g(t)), and t in the
transformation's own units for the handles ("+12 px", "×1.20", "+15°", "+0.10").

The session keeps only this immutable view (the knots of g, the transform's name, the
image size the pixels refer to) plus a private copy of the estimator, which the
annotations file writes. t outside the fitted range is clamped to it here, silently:
the clamp is shown on the page (the handle's text says "max" / "min"), not warned about.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..generators import Generator

#: What a content gesture moves: the transforms it drives.
GESTURES = {"shift": ("shift_x", "shift_y"), "turn": ("rotation",), "zoom": ("zoom",)}


@dataclass(frozen=True)
class Factor:
    """g as knots (t increasing, steps increasing, g(0) = 0), the transform's name, and the
    generator's image size (so shifts read in pixels)."""

    transform: str
    t: tuple[float, ...]
    step: tuple[float, ...]
    resolution: int
    estimator: Any = field(compare=False, repr=False)  # a private copy, for the annotations file

    @property
    def step_range(self) -> tuple[float, float]:
        return self.step[0], self.step[-1]

    @property
    def t_range(self) -> tuple[float, float]:
        return self.t[0], self.t[-1]

    @property
    def extent(self) -> float:
        """How far its handle reaches: the larger end of the fitted steps."""
        return float(max(abs(self.step[0]), abs(self.step[-1])))

    def step_of(self, t: float) -> float:
        """g(t), t clamped to the fitted range."""
        return float(np.interp(np.clip(t, self.t[0], self.t[-1]), self.t, self.step))

    def t_of(self, step: float) -> float:
        """g⁻¹(step), the step clamped to the fitted range."""
        return float(np.interp(np.clip(step, self.step[0], self.step[-1]), self.step, self.t))

    def clamp(self, step: float) -> float:
        return float(np.clip(step, self.step[0], self.step[-1]))

    def text(self, step: float) -> str:
        """The amount a step performs, in the transformation's units; "max"/"min" at the
        ends of the fitted range (where a further drag does nothing)."""
        t = self.t_of(step)
        if self.transform in ("shift_x", "shift_y"):
            px = t * self.resolution
            words = f"{px:+.0f} px" if abs(px) >= 9.95 else f"{px:+.1f} px"
        elif self.transform == "zoom":
            words = f"×{1 + t:.2f}"
        elif self.transform == "rotation":
            deg = 90 * t
            words = f"{deg:+.0f}°" if abs(deg) >= 9.95 else f"{deg:+.1f}°"
        elif self.transform == "brightness":
            words = f"{t:+.2f}"
        else:
            words = f"t {t:+.3g}"
        lo, hi = self.step_range
        if step >= hi - 1e-12 * max(1.0, abs(hi)):
            return f"{words} · max"
        if step <= lo + 1e-12 * max(1.0, abs(lo)):
            return f"{words} · min"
        return words


def factor_of(g: Generator, cf: Any) -> Factor:
    """The Explorer's view of a fitted :class:`~semwidget.ContinuousFactor` on ``g``."""
    from ..continuous import ContinuousFactor

    if not isinstance(cf, ContinuousFactor):
        raise TypeError(f"factors are fitted semwidget.ContinuousFactor objects; got {type(cf).__name__}")
    if not hasattr(cf, "direction_"):
        raise ValueError("this ContinuousFactor is not fitted; call fit(G) first, or give its transform's name")
    cf.direction_.check_model(g.fingerprint)
    own = copy.deepcopy(cf)  # later refits of the caller's object must not change the session
    name = str(own.direction_.notes.get("transform") or own.direction_.labels[0])
    return Factor(
        transform=name,
        t=tuple(float(x) for x in own.g_.t),
        step=tuple(float(x) for x in own.g_.step),
        resolution=int(g.img_resolution),
        estimator=own,
    )


def gesture_update(transform: str, t: float, amount: tuple[float, ...]) -> float:
    """The amount after a gesture's increment: shifts add image fractions (dx, dy), a
    turn adds degrees counter-clockwise (t is degrees / 90), a zoom multiplies the scale
    1 + t by a ratio."""
    if transform == "shift_x":
        return t + amount[0]
    if transform == "shift_y":
        return t + amount[1]
    if transform == "rotation":
        return t + amount[0] / 90.0
    if transform == "zoom":
        return (1.0 + t) * amount[0] - 1.0
    raise ValueError(f"no gesture drives the transform {transform!r}")
