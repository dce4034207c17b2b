"""Fixtures for semwidget.continuous."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

import semwidget
from semwidget.continuous import ContinuousFactor
from tests.continuous.blobs import SMALL, blob


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Small tensors gain nothing from threads, and lose much when the cores are busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def fitted() -> tuple[semwidget.Generator, ContinuousFactor]:
    """The blob generator and a shift_x factor fitted on it with :data:`SMALL`."""
    g = blob()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return g, ContinuousFactor("shift_x", **SMALL).fit(g)
    finally:
        torch.set_num_threads(before)
