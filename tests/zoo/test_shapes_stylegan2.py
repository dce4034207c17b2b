"""shapes-stylegan2: our StyleGAN2 trained on semwidget.world, shipped inside the package."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semwidget
from semwidget.generators import RosinalityStyleGAN
from semwidget.world import SHAPES, FactorScorer
from semwidget.zoo import CATALOG, ZooFetchError, describe
from semwidget.zoo._catalog import SHAPES_STYLEGAN2_SHA256


@pytest.fixture(scope="module")
def shapes():
    return semwidget.load("shapes-stylegan2", device="cpu")


def test_the_bundled_file_matches_its_sha256():
    from semwidget.files._atomic import sha256_file

    path = CATALOG["shapes-stylegan2"].path
    assert path.is_file() and path.stat().st_size <= 20e6
    assert sha256_file(path) == SHAPES_STYLEGAN2_SHA256


def test_it_is_a_layer_wise_stylegan2_of_64_px_scenes(shapes):
    assert isinstance(shapes, RosinalityStyleGAN) and shapes.name == "shapes-stylegan2"
    assert describe("shapes-stylegan2").differences(shapes) == []  # 64×64, 10 layer-wise latents in w
    images = shapes.synthesize(shapes.sample(8, seed=0))
    assert images.shape == (8, 3, 64, 64) and torch.isfinite(images).all()
    assert images.std() > 0.1  # scenes, not a flat colour


def test_samples_show_every_shape(shapes):
    """No mode collapse: the factor predictor finds each of the four shapes among 400 samples."""
    scores = FactorScorer()(shapes.synthesize(shapes.sample(400, seed=0)))
    counts = np.bincount(scores[:, -1].astype(int), minlength=len(SHAPES))
    assert (counts >= 20).all(), dict(zip(SHAPES, counts.tolist()))


def test_a_file_with_another_sha256_is_refused(tmp_path):
    bad = tmp_path / "shapes-stylegan2.pt"
    data = bytearray(CATALOG["shapes-stylegan2"].path.read_bytes())
    data[-1] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(ZooFetchError, match="sha256"):
        semwidget.load("shapes-stylegan2", weights=bad)
    with pytest.raises(FileNotFoundError, match="no weight file"):
        semwidget.load("shapes-stylegan2", weights=tmp_path / "missing.pt")


def test_available_lists_it_as_bundled():
    assert "bundled with semwidget" in semwidget.available()["shapes-stylegan2"]
