"""The shipped factor predictor: it loads, its hash matches, and it reads fresh renders back."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from semwidget import FileFormatError
from semwidget.world import FACTOR_NAMES, SHAPES, FactorScorer, load_predictor, render, sample_factors, to_tensor
from semwidget.world._predictor import (
    PREDICTOR_SHA256,
    SCORE_NAMES,
    WEIGHTS,
    FactorNet,
    decode,
    max_predictor_bytes,
    save_predictor,
)

# Held-out MAE measured on 2000 renders (weights/README.md), with a margin for 256 samples.
MAE_BOUNDS = {
    "horizon": 0.01,
    "view": 0.07,
    "scale": 0.045,
    "position": 0.045,
    "floor_hue": 0.008,  # turns
    "wall_hue": 0.008,
    "object_hue": 0.018,
    "lighting": 0.03,
}


@pytest.fixture(scope="module")
def scorer() -> FactorScorer:
    return FactorScorer()


@pytest.fixture(scope="module")
def fresh() -> np.ndarray:
    return sample_factors(256, np.random.default_rng(2024))


def test_weights_are_small_and_match_their_hash():
    data = WEIGHTS.read_bytes()
    assert len(data) < 1_000_000
    assert hashlib.sha256(data).hexdigest() == PREDICTOR_SHA256
    state = torch.load(WEIGHTS, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert PREDICTOR_SHA256 in (WEIGHTS.parent / "README.md").read_text()


def test_a_wrong_hash_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        load_predictor(sha256="0" * 64)
    path = tmp_path / "mine.pt"
    digest = save_predictor(FactorNet(), path)
    assert load_predictor(path, sha256=None) is not None
    assert FactorScorer(path, sha256=digest).sha256 == digest
    with pytest.raises(ValueError, match="sha256"):
        FactorScorer(path, sha256="1" * 64)


def test_scorer_columns(scorer, fresh):
    assert scorer.names == SCORE_NAMES == tuple(n for n in FACTOR_NAMES if n != "shape") + ("shape",)
    assert PREDICTOR_SHA256 in scorer.identity
    out = scorer(to_tensor(render(fresh[:5])))
    assert out.shape == (5, 9)
    assert set(out[:, -1]) <= set(range(len(SHAPES)))
    assert (out[:, 4:7] >= 0).all() and (out[:, 4:7] < 1).all()
    # Other sizes are resized to 64×64 first.
    big = torch.nn.functional.interpolate(to_tensor(render(fresh[:5])), scale_factor=2, mode="nearest")
    assert np.abs(scorer(big)[:, -1] - out[:, -1]).max() == 0


def test_reads_factors_back_from_fresh_renders(scorer, fresh):
    pred = scorer(to_tensor(render(fresh)))
    for j, name in enumerate(SCORE_NAMES[:-1]):
        truth = fresh[:, FACTOR_NAMES.index(name)]
        err = np.abs(pred[:, j] - truth)
        if name.endswith("_hue"):
            err = np.minimum(err, 1 - err)
        assert err.mean() < MAE_BOUNDS[name], (name, err.mean())
    accuracy = (pred[:, -1] == fresh[:, FACTOR_NAMES.index("shape")]).mean()
    assert accuracy > 0.9


def test_decode_inverts_targets():
    from semwidget.world import factor_targets

    f = sample_factors(50, np.random.default_rng(0))
    np.testing.assert_allclose(decode(factor_targets(f)), f, atol=1e-5)


# ---- the weights file through the bounded readers ----------------------------------------


def _copy(tmp_path, data: bytes):
    path = tmp_path / "predictor.pt"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[: len(d) // 2], "could not read checkpoint"),
        (lambda d: d[:2000] + bytes(100) + d[2100:], "CRC|could not read checkpoint"),
        (lambda d: b"", "could not read checkpoint"),
    ],
)
def test_a_damaged_predictor_file_is_refused_naming_it(tmp_path, damage, message):
    path = _copy(tmp_path, damage(WEIGHTS.read_bytes()))
    with pytest.raises(FileFormatError, match=message) as info:
        load_predictor(path, sha256=None)
    assert str(path) in str(info.value)
    with pytest.raises(FileFormatError, match="sha256"):  # and the shipped hash catches it first
        load_predictor(path)


def test_an_oversized_predictor_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "predictor.pt"
    with open(path, "wb") as f:
        f.truncate(4 << 30)  # 4 GB, sparse: nothing is written, and nothing may be read
    with pytest.raises(FileFormatError, match=rf"{path} is 4294967296 bytes; .* at most {max_predictor_bytes()}"):
        load_predictor(path, sha256=None)


def test_weights_of_another_architecture_are_refused_before_loading(tmp_path):
    path = tmp_path / "narrow.pt"
    save_predictor(FactorNet(width=16), path)
    with pytest.raises(FileFormatError, match=rf"{path} does not match a FactorNet state dict.*features.0.weight"):
        load_predictor(path, sha256=None)


def test_non_finite_weights_are_refused_and_legacy_files_load(tmp_path):
    state = FactorNet().state_dict()
    state["head.bias"][0] = float("inf")
    torch.save(state, tmp_path / "inf.pt")
    with pytest.raises(FileFormatError, match="NaN or infinite"):
        load_predictor(tmp_path / "inf.pt", sha256=None)
    shipped = load_predictor()
    torch.save(shipped.state_dict(), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    again = load_predictor(tmp_path / "legacy.pt", sha256=None)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), shipped.state_dict().values()))
