"""Loaders refuse before they allocate, name the file and what was expected, and refuse
files made for another model."""

import io
import os
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import semwidget
from semwidget import Directions, FileFormatError, ModelMismatchError
from semwidget.files import ArraySpec, read_npz
from semwidget.widget._annotations import Annotations


def _npz_with_header(path, shape, dtype="<f8", payload=b"\0" * 64):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("vectors.npy", header.getvalue() + payload)


def test_a_huge_shape_in_a_tiny_file_is_refused_before_allocating(tmp_path):
    path = tmp_path / "x.npz"
    _npz_with_header(path, (200_000, 2_000))  # claims 3.2 GB in a file of ~300 bytes
    tracemalloc.start()
    with pytest.raises(FileFormatError, match=r"claims shape \(200000, 2000\).*stores 64 bytes"):
        read_npz(path, {"vectors": ArraySpec("<f8", (None, None))})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("dtype", "shape", "message"),
    [("|O", (2,), "no object"), ("<f4", (8,), "dtype <f4"), (">f8", (8,), "dtype >f8"), ("<f8", (4, 2), "shape")],
)
def test_dtypes_are_exact_and_shapes_as_expected(tmp_path, dtype, shape, message):
    path = tmp_path / "x.npz"
    _npz_with_header(path, shape, dtype)
    with pytest.raises(FileFormatError, match=message):
        read_npz(path, {"vectors": ArraySpec("<f8", (8,))})


def test_only_regular_files_inside_the_folder_are_read(tmp_path):
    d = Directions(vectors=np.eye(2), scores=[1, 0.5], space="w")
    json_path = d.save(tmp_path / "d")
    npz = next(tmp_path.glob("d.*.npz"))
    outside = tmp_path.parent / f"{tmp_path.name}-outside.npz"
    npz.rename(outside)
    npz.symlink_to(outside)
    with pytest.raises(FileFormatError, match="link out of its folder"):
        Directions.load(json_path)
    npz.unlink()
    os.mkfifo(npz)
    with pytest.raises(FileFormatError, match="not a regular file"):
        Directions.load(json_path)  # and does not block on the FIFO
    npz.unlink()
    npz.symlink_to("/dev/zero")
    with pytest.raises(FileFormatError, match="link out of its folder"):
        Directions.load(json_path)
    outside.unlink()


def test_non_finite_values_and_bad_labels_are_refused(tmp_path):
    path = Directions(vectors=np.eye(2), scores=[1, 0.5], space="w").save(tmp_path / "d")
    npz = next(tmp_path.glob("d.*.npz"))
    data = npz.read_bytes()
    npz.write_bytes(data.replace(struct.pack("<d", 0.5), struct.pack("<d", float("nan"))))
    with pytest.raises(FileFormatError, match="NaN|CRC|damaged"):
        Directions.load(path)
    with pytest.raises(ValueError, match="labels must be 1 or -1"):
        Annotations({"name": "m", "fingerprint": "f"}, labels=[("smile", 3, 2)])
    with pytest.raises(ValueError, match="seeds must be ints"):
        Annotations({"name": "m", "fingerprint": "f"}, labels=[("smile", -2, 1)])
    with pytest.raises(ValueError, match="seeds must be ints"):
        Annotations({"name": "m", "fingerprint": "f"}, labels=[("smile", 1.5, 1)])


def test_directions_of_another_model_are_refused_unless_allowed(tmp_path, tiny_dcgan, tiny_pggan):
    d = semwidget.SeFa(n_directions=2).fit(tiny_dcgan).directions_
    path = d.save(tmp_path / "d")
    assert Directions.load(path, tiny_dcgan).model == d.model
    with pytest.raises(ModelMismatchError, match="allow_other_model=True"):
        Directions.load(path, tiny_pggan)
    with pytest.raises(ModelMismatchError):
        Directions.load(path, tiny_pggan.fingerprint)
    if tiny_pggan.w_dim != d.dim:
        with pytest.warns(UserWarning), pytest.raises(ModelMismatchError, match="do not fit"):
            Directions.load(path, tiny_pggan, allow_other_model=True)
    fits = Directions(vectors=np.eye(tiny_pggan.w_dim)[:1], scores=[1], space="z", model=tiny_dcgan)
    with pytest.warns(UserWarning, match="found on model"):
        Directions.load(fits.save(tmp_path / "e"), tiny_pggan, allow_other_model=True)


def test_annotations_of_another_model_are_refused_unless_allowed(tmp_path, tiny_dcgan, tiny_pggan):
    codes = tiny_dcgan.sample(2, seed=0).ws.numpy()
    a = Annotations(
        {"name": tiny_dcgan.name, "fingerprint": tiny_dcgan.fingerprint},
        labels=[("x", 0, 1), ("x", 1, -1)],
        codes=codes,
    )
    path = a.save(tmp_path / "a")
    assert Annotations.load(path, tiny_dcgan).labels == a.labels
    with pytest.raises(ModelMismatchError, match="belong to model"):
        Annotations.load(path, tiny_pggan)
    with pytest.warns(UserWarning), pytest.raises(ModelMismatchError, match="label codes"):
        Annotations.load(path, tiny_pggan, allow_other_model=True)


def test_a_checkpoint_claiming_huge_storages_is_refused_before_torch_allocates(tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"main.0.weight": torch.ones(3, 4)}, path)
    with zipfile.ZipFile(path) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    pkl = next(k for k in members if k.endswith("data.pkl"))
    members[pkl] = members[pkl].replace(b"K\x0ct", b"J" + struct.pack("<i", 800_000_000) + b"t")
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    with pytest.raises(FileFormatError, match="claims 3200000000 bytes; its record holds 48 bytes"):
        semwidget.load(path)


def test_a_zip_needing_a_newer_zip_version_is_a_format_error(tmp_path):
    # Found by the loader fuzz: zipfile raises NotImplementedError ("zip file version 17.3")
    # for a "version needed to extract" it does not know, in the central directory.
    path = tmp_path / "x.npz"
    _npz_with_header(path, (8,))
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 6, 173)  # version needed to extract: 17.3
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="not a zip archive"):
        read_npz(path, {"vectors": ArraySpec("<f8", (8,))})


@pytest.mark.parametrize("value", [10**400, -(10**400), float("inf"), float("nan"), True, "1.0", None])
def test_numbers_read_from_json_must_be_finite_floats(value):
    # Found by the loader fuzz: np.isfinite(10**400) raises TypeError instead of refusing.
    from semwidget.common._checks import is_finite_number

    assert not is_finite_number(value)
    assert is_finite_number(10**300) and is_finite_number(np.float32(2.5)) and is_finite_number(-3)
