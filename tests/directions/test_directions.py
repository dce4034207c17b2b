import json

import numpy as np
import pytest

from semwidget import Directions, SeFa


def test_rows_are_normalised_and_validated():
    d = Directions(vectors=[[3.0, 4.0]], scores=[1.0], space="w")
    assert np.allclose(d.vectors, [[0.6, 0.8]])
    with pytest.raises(ValueError, match="zero row"):
        Directions(vectors=[[0.0, 0.0]], scores=[1.0], space="w")
    with pytest.raises(ValueError, match="NaN"):
        Directions(vectors=[[np.nan, 1.0]], scores=[1.0], space="w")
    with pytest.raises(ValueError, match=r"scores must have shape \(1,\)"):
        Directions(vectors=[[1.0, 1.0]], scores=[1.0, 2.0], space="w")


def _arrays_file(json_path):
    return json_path.parent / json.loads(json_path.read_text())["arrays"]


def test_save_load_round_trip_without_pickle(tmp_path, tiny_dcgan):
    d = SeFa(n_directions=3).fit(tiny_dcgan).directions_.rename(0, "smile").with_layers([0])
    path = d.save(tmp_path / "faces" / "sefa")
    assert path.name == "sefa.json" and _arrays_file(path).suffix == ".npz"
    meta = json.loads(path.read_text())
    assert meta["model"]["fingerprint"] == tiny_dcgan.fingerprint and meta["labels"][0] == "smile"
    with np.load(_arrays_file(path), allow_pickle=False) as data:
        assert data["vectors"].dtype == np.float64
    back = Directions.load(tmp_path / "faces" / "sefa.json")
    assert np.array_equal(back.vectors, d.vectors) and back.labels == d.labels
    assert back.layers == (0,) and back.space == d.space and back.model == d.model


def test_corrupt_or_foreign_files_are_refused(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a semwidget directions file"):
        Directions.load(tmp_path / "x")
    (tmp_path / "y.json").write_text("not json")
    with pytest.raises(ValueError, match="not a semwidget directions file"):
        Directions.load(tmp_path / "y")
    d = Directions(vectors=np.eye(2), scores=[1, 0.5], space="w")
    path = d.save(tmp_path / "d")
    _arrays_file(path).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="could not read the arrays"):
        Directions.load(tmp_path / "d")
    _arrays_file(path).unlink()
    with pytest.raises(FileNotFoundError, match="which is missing"):
        Directions.load(tmp_path / "d")


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    d = Directions(vectors=np.eye(2), scores=[1, 0.5], space="w", labels=("a", "b"))
    d.save(tmp_path / "d")
    bad = Directions(vectors=np.eye(2), scores=[1, 0.5], space="w", notes={"oops": object()})
    with pytest.raises(TypeError):
        bad.save(tmp_path / "d")
    assert Directions.load(tmp_path / "d").labels == ("a", "b")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_between_the_two_files_loses_nothing(tmp_path, monkeypatch):
    from semwidget.files import _atomic as _io

    Directions(vectors=np.eye(2), scores=[1, 0.5], space="w", labels=("old", "pair")).save(tmp_path / "d")
    real = _io.atomic_write_bytes

    def crash_on_json(path, data):
        if str(path).endswith(".json"):
            raise KeyboardInterrupt("killed mid-save")
        real(path, data)

    monkeypatch.setattr(_io, "atomic_write_bytes", crash_on_json)
    new = Directions(vectors=np.eye(2)[::-1], scores=[1, 0.5], space="w", labels=("new", "pair"))
    with pytest.raises(KeyboardInterrupt):
        new.save(tmp_path / "d")
    monkeypatch.undo()
    back = Directions.load(tmp_path / "d")
    assert back.labels == ("old", "pair") and np.array_equal(back.vectors, np.eye(2))
    new.save(tmp_path / "d")  # the next save succeeds and cleans up after itself
    assert Directions.load(tmp_path / "d").labels == ("new", "pair")
    assert len(list(tmp_path.glob("d.*.npz"))) <= 2


def test_indexing_and_concat():
    d = Directions(vectors=np.eye(3), scores=[3, 2, 1], space="w", sigmas=[1, 2, 3])
    assert len(d[1]) == 1 and d[1].sigmas.tolist() == [2.0]
    both = Directions.concat([d[0], d[2]])
    assert both.labels == (d.labels[0], d.labels[2])
    with pytest.raises(ValueError, match="cannot join"):
        Directions.concat([d, Directions(vectors=np.eye(2), scores=[1, 1], space="w")])


def test_with_measured_sigmas_is_the_spread_of_sampled_codes(tiny_dcgan):
    d = SeFa(n_directions=3).fit(tiny_dcgan).directions_
    measured = d.with_measured_sigmas(tiny_dcgan, n=500, seed=7)
    z = tiny_dcgan.sample(500, seed=7).ws[:, 0].double().numpy()
    np.testing.assert_allclose(measured.sigmas, (z @ d.vectors.T).std(axis=0))
    assert np.array_equal(measured.vectors, d.vectors) and measured.labels == d.labels
    with pytest.raises(ValueError, match="dimension 2 do not fit codes"):
        Directions(vectors=[[1.0, 0.0]], scores=[1.0], space="z").with_measured_sigmas(tiny_dcgan)
    with pytest.raises(ValueError, match="need latent directions"):
        Directions(vectors=[[1.0, 0.0]], scores=[1.0], space="main.3").with_measured_sigmas(tiny_dcgan)
