"""The loop re-scoring and attribute change share: circular scores change the short way round."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semwidget import edit, rescore
from semwidget.scorers import FunctionScorer, as_scorer
from semwidget.semantics._score_edits import circular_change, scorer_periods
from semwidget.world._predictor import FactorScorer
from semwidget.world._scene import HUES
from tests.analytic import basis, monotone_generator


def test_a_hue_change_is_wrapped_the_short_way_round():
    before = np.array([[350.0, 0.95, 350.0], [10.0, 0.05, 0.0], [0.0, 0.0, 180.0], [180.0, 0.5, 0.0]])
    after = np.array([[10.0, 0.05, 10.0], [350.0, 0.95, 0.0], [180.0, 0.5, 0.0], [0.0, 0.0, 0.0]])
    got = circular_change(after - before, np.array([360.0, 1.0, 0.0]))
    np.testing.assert_allclose(got[:, 0], [20.0, -20.0, 180.0, 180.0])  # into (-180, 180]
    np.testing.assert_allclose(got[:, 1], [0.1, -0.1, 0.5, 0.5], atol=1e-12)  # turns: into (-0.5, 0.5]
    np.testing.assert_array_equal(got[:, 2], [-340.0, 0.0, -180.0, 0.0])  # a linear column is left alone


def test_scorers_declare_their_circular_columns():
    assert scorer_periods(FactorScorer()).tolist() == [1.0 if n in HUES else 0.0 for n in FactorScorer.names]
    hue = FunctionScorer(lambda x: x.mean(dim=(1, 2, 3)), ["hue"], periods={"hue": 360})
    both = as_scorer([hue, as_scorer(lambda x: x.std(dim=(1, 2, 3)), names=["spread"])])
    assert dict(both.periods) == {"hue": 360.0} and scorer_periods(both).tolist() == [360.0, 0.0]
    with pytest.raises(ValueError, match="not a column"):
        FunctionScorer(lambda x: x, ["hue"], periods={"tint": 1.0})
    with pytest.raises(ValueError, match="positive number"):
        FunctionScorer(lambda x: x, ["hue"], periods={"hue": 0})


def test_rescoring_a_circular_score_equals_rescoring_its_unwrapped_value():
    """A score that wraps at P (a hue) re-scores like the same score never wrapped, as long
    as no edit moves it by half a period; read linearly, the wrap-arounds count as falls."""
    g = monotone_generator()
    up = basis(g, [[1, 0, 0, 0]], ["up"])

    def value(x: torch.Tensor) -> torch.Tensor:
        return 100 * x.mean(dim=(1, 2, 3))

    linear = rescore(g, up, as_scorer(value, names=["v"]), n_samples=24, signed=True, progress=False)
    lat = g.sample(24, seed=0)
    changes = value(g.synthesize(edit(lat, up, 2.0))) - value(g.synthesize(lat))
    assert changes.min() > 0 and np.isclose(changes.mean().item(), linear.delta_all[0, 0], rtol=1e-5)
    period = 2.2 * changes.max().item()  # every change is below half a period
    step = linear.delta_all[0, 0]

    def wrapped(x: torch.Tensor) -> torch.Tensor:
        return torch.remainder(value(x), period)

    kw = {"n_samples": 24, "signed": True, "progress": False}
    circular = rescore(g, up, FunctionScorer(wrapped, ["v"], periods={"v": period}), **kw)
    naive = rescore(g, up, FunctionScorer(wrapped, ["v"]), **kw)
    np.testing.assert_allclose(circular.delta_all, linear.delta_all, rtol=1e-4)
    assert naive.delta_all[0, 0] < 0.9 * step  # some samples crossed the wrap
    unsigned = rescore(g, up, FunctionScorer(wrapped, ["v"], periods={"v": period}), n_samples=24, progress=False)
    np.testing.assert_allclose(unsigned.delta_all, linear.delta_all, rtol=1e-4)
