"""semwidget.inversion._schedule: the learning-rate and noise ramps, and our Adam."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semwidget.inversion import Schedule
from semwidget.inversion._schedule import Adam


def test_learning_rate_warms_up_holds_and_ramps_down():
    s = Schedule(lr=0.2, warmup=0.1, rampdown=0.25)
    assert s.lr_at(0.0) == 0.0
    assert s.lr_at(0.05) == pytest.approx(0.1)
    assert s.lr_at(0.1) == s.lr_at(0.5) == s.lr_at(0.75) == pytest.approx(0.2)
    assert s.lr_at(0.875) == pytest.approx(0.1)  # half way down the half cosine
    assert s.lr_at(1.0) == pytest.approx(0.0)
    assert Schedule(lr=0.3, warmup=0, rampdown=0).lr_at(0.0) == 0.3


def test_noise_decays_quadratically_to_zero():
    s = Schedule(noise=0.4, noise_ramp=0.5)
    assert s.noise_at(0.0) == pytest.approx(0.4)
    assert s.noise_at(0.25) == pytest.approx(0.1)
    assert s.noise_at(0.5) == s.noise_at(0.9) == 0.0
    assert Schedule(noise=0.4, noise_ramp=0).noise_at(0.0) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup": 1.5}, r"Schedule.warmup is a fraction of the run in \[0, 1\]"),
        ({"lr": 0.0}, "Schedule.lr must be a positive number"),
        ({"noise": -1.0}, "Schedule.noise must be a number >= 0"),
        ({"noise": math.nan}, "Schedule.noise must be a number >= 0"),
    ],
)
def test_bad_schedules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)


def test_adam_is_kingma_and_ba():
    """Three steps against the update written out in numpy."""
    p = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = Adam(p, betas=(0.9, 0.99), eps=1e-8)
    x, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, lr in enumerate((0.1, 0.05, 0.2), start=1):
        p.grad = None
        (p**3).sum().backward()
        opt.step(lr)
        g = 3 * x**2
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g**2
        x = x - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        assert np.allclose(p.detach().numpy(), x, atol=1e-6)
