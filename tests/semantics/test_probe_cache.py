"""The probe cache is read through the bounded readers: a damaged, oversized or foreign
file is refused naming the file, before anything large is allocated, and left as it is
(never recomputed over: it may be someone's data at a mistyped path)."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import semwidget
from semwidget import FileFormatError, ModelMismatchError
from semwidget.scorers import FunctionScorer


def _stats(images: torch.Tensor) -> np.ndarray:
    return torch.stack([images.mean(dim=(1, 2, 3)), images.amax(dim=(1, 2, 3))], dim=1).numpy()


def scorer() -> FunctionScorer:
    return FunctionScorer(_stats, names=("mean", "max"))


@pytest.fixture
def cache(tiny_dcgan, tmp_path):
    path = tmp_path / "probe.npz"
    semwidget.probe(tiny_dcgan, scorer(), n_samples=6, batch_size=4, cache=path, progress=False)
    return path


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _rewrite(path, **changes) -> None:
    arrays = _arrays(path) | changes
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in arrays.items() if v is not None})
    path.write_bytes(buffer.getvalue())


def _probe(g, path, n=6):
    return semwidget.probe(g, scorer(), n_samples=n, batch_size=4, cache=path, progress=False)


def _meta(path) -> dict:
    return json.loads(str(_arrays(path)["meta"]))


def test_a_sound_cache_is_read_back(tiny_dcgan, cache):
    again = _probe(tiny_dcgan, cache, n=6)
    assert again.scores.shape == (6, 2) and np.isfinite(again.scores).all()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:300]), "not a zip archive|damaged|truncated"),
        (lambda p: p.write_bytes(b""), "not a zip archive"),
        (lambda p: _rewrite(p, scores=np.full((6, 2), np.nan)), "NaN"),
        (lambda p: _rewrite(p, w=np.zeros((6, 3), np.float32)), r"'w' has shape \(6, 3\); expected <f4 of shape"),
        (lambda p: _rewrite(p, w=np.zeros((6, 8), np.float64)), "dtype <f8"),
        (lambda p: _rewrite(p, seeds=np.arange(1, 7)), "damaged: 6 seeds that should run from 0"),
        (lambda p: _rewrite(p, scores=np.zeros((4, 2))), "4 rows of scores"),
        (lambda p: _rewrite(p, extra=np.zeros(3)), "unexpected: \\['extra'\\]"),
        (lambda p: _rewrite(p, w=None), r"lacks the arrays \['w'\]"),
        (lambda p: _rewrite(p, meta=np.array("{not json")), "its metadata is not the JSON"),
        (lambda p: _rewrite(p, meta=np.array('{"format": "semwidget-probe", "seed": NaN}')), "NaN is not a JSON"),
        (lambda p: _rewrite(p, meta=np.array(json.dumps({"format": "other"}))), "its format is 'other'"),
        (lambda p: _rewrite(p, meta=np.zeros(3)), "'meta' has dtype <f8"),
        (lambda p: _rewrite(p, meta=np.array(b"bytes, not text")), "'meta' has dtype |S15"),
    ],
)
def test_a_damaged_cache_is_refused_and_left_alone(tiny_dcgan, cache, damage, message):
    damage(cache)
    before = cache.read_bytes()
    with pytest.raises(FileFormatError, match=message) as info:
        _probe(tiny_dcgan, cache)
    assert str(cache) in str(info.value) and "delete the file (it is left untouched)" in str(info.value)
    assert cache.read_bytes() == before


def test_another_probes_metadata_is_a_mismatch_whatever_its_fields_hold(tiny_dcgan, cache):
    for field, value in (("generator", [1, 2]), ("scorers", "x"), ("seed", {"a": 1}), ("truncation", 2**70)):
        meta = _meta(cache) | {field: value}
        _rewrite(cache, meta=np.array(json.dumps(meta)))
        with pytest.raises(ModelMismatchError, match=f"{cache} was made with"):
            _probe(tiny_dcgan, cache)


def test_a_huge_shape_in_a_small_cache_is_refused_before_allocating(tiny_dcgan, cache):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 2)})
    with zipfile.ZipFile(cache) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["scores.npy"] = header.getvalue() + bytes(96)
    with zipfile.ZipFile(cache, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    tracemalloc.start()
    with pytest.raises(FileFormatError, match=r"claims shape \(1000000000, 2\) .* but stores 96 bytes"):
        _probe(tiny_dcgan, cache)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20


def test_a_huge_metadata_string_is_refused_before_allocating(tiny_dcgan, cache):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<U100000000", "fortran_order": False, "shape": ()})
    with zipfile.ZipFile(cache) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["meta.npy"] = header.getvalue() + b"{}"
    with zipfile.ZipFile(cache, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    tracemalloc.start()
    with pytest.raises(FileFormatError, match="claims shape"):
        _probe(tiny_dcgan, cache)
    assert tracemalloc.get_traced_memory()[1] < 4 << 20
    tracemalloc.stop()


def test_a_link_or_folder_in_place_of_the_cache_is_refused(tiny_dcgan, tmp_path):
    folder = tmp_path / "probe.npz"
    folder.mkdir()
    with pytest.raises(FileFormatError, match="not a regular file|cannot open"):
        _probe(tiny_dcgan, folder)
