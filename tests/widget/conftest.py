"""The Explorer on the tiny DCGAN, with what it sends recorded in ``ex.sent`` as (content, buffers)."""

import pytest

from semwidget import Explorer


@pytest.fixture
def explorer(tiny_dcgan):
    ex = Explorer(tiny_dcgan, n_samples=4, seed=3)
    assert ex.wait_idle()
    ex.sent = []
    ex.send = lambda content, buffers=None: ex.sent.append((content, buffers or []))
    yield ex
    ex.close()
