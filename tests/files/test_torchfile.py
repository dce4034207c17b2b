"""Checkpoints in torch's legacy format (no zip, no CRCs) are walked storage by storage
before torch.load, as zip checkpoints are; read_state checks a state dict against an
architecture before loading it."""

import io
import pickle
import struct
import tracemalloc

import pytest
import torch

import semwidget
from semwidget import FileFormatError
from semwidget.files._torchfile import TensorSpec, inspect_checkpoint, read_state
from semwidget.nets import DCGAN


def _legacy(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return DCGAN(z_dim=8, ngf=2).state_dict()


def _expected() -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return DCGAN(z_dim=8, ngf=2).state_dict()


def test_a_legacy_checkpoint_is_described_without_reading_its_storages(tmp_path):
    path = tmp_path / "g.pth"
    path.write_bytes(_legacy({"w": torch.ones(3, 4), "h": torch.zeros(2, dtype=torch.float16), "n": torch.tensor(7)}))
    spec = inspect_checkpoint(path)
    assert {k: (tuple(v.shape), v.dtype) for k, v in spec.items()} == {
        "w": ((3, 4), torch.float32),
        "h": ((2,), torch.float16),
        "n": ((), torch.int64),
    }
    assert all(isinstance(v, TensorSpec) for v in spec.values())


def test_a_legacy_dcgan_loads_like_its_zip_twin(tmp_path):
    state = _tiny_state()
    (tmp_path / "legacy.pt").write_bytes(_legacy({"netG_state_dict": state}))
    torch.save({"netG_state_dict": state}, tmp_path / "zip.pt")
    legacy = semwidget.load(tmp_path / "legacy.pt", device="cpu")
    twin = semwidget.load(tmp_path / "zip.pt", device="cpu")
    assert legacy.fingerprint == twin.fingerprint
    loaded = read_state(tmp_path / "legacy.pt", _expected(), "a tiny DCGAN", key="netG_state_dict")
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def _with_numel(data: bytes, old: int, new: int) -> bytes:
    """The legacy pickle with one storage's declared element count (a BININT2, then None) made ``new``."""
    before = b"M" + struct.pack("<H", old) + b"N"
    assert data.count(before) == 1
    return data.replace(before, b"J" + struct.pack("<i", new) + b"N")


def test_a_legacy_storage_claiming_gigabytes_is_refused_before_torch_allocates(tmp_path):
    path = tmp_path / "g.pth"
    path.write_bytes(_with_numel(_legacy({"w": torch.ones(300)}), 300, 800_000_000))
    tracemalloc.start()
    with pytest.raises(FileFormatError, match=rf"{path}.*cut off"):
        semwidget.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[: len(d) - 5], "cut off"),
        (lambda d: d + b"\0" * 9, "9 bytes follow its last storage"),
        (lambda d: d[:-1208] + struct.pack("<q", 301) + d[-1200:], "holds 301 elements"),
        (lambda d: d.replace(b"torch._utils\n_rebuild_tensor_v2", b"os\nsystem"), "os.system"),
        (lambda d: d.replace(b"little_endianq\x02\x88", b"little_endianq\x02\x89"), "little-endian"),
        (lambda d: d[:2] + b"\xff" + d[3:], "a damaged pickle"),
        (lambda d: d[:5] + b"\0" + d[6:], "neither a zip archive nor a legacy torch.save file"),
        (lambda d: b"\x80\x02X" + struct.pack("<I", 2**31) + b"abc", "not enough data|truncated|damaged"),
    ],
)
def test_damaged_legacy_checkpoints_are_refused_naming_the_file(tmp_path, damage, message):
    data = _legacy({"a": torch.ones(300)})  # ends with the storage: its count (8 bytes), 1200 bytes of floats
    path = tmp_path / "g.pth"
    path.write_bytes(damage(data))
    with pytest.raises(FileFormatError, match=message) as info:
        inspect_checkpoint(path)
    assert str(path) in str(info.value)


def test_read_state_names_the_file_the_layout_and_the_differences(tmp_path):
    path = tmp_path / "g.pt"
    state = _tiny_state()
    state["main.0.weight"] = torch.zeros(8, 16, 3, 3)
    torch.save(state, path)
    with pytest.raises(FileFormatError, match=rf"{path} does not match a tiny DCGAN: main.0.weight is"):
        read_state(path, _expected(), "a tiny DCGAN")
    with pytest.raises(FileFormatError, match="'netG_state_dict' should be a state dict"):
        read_state(path, _expected(), "a tiny DCGAN", key="netG_state_dict")
    with pytest.raises(FileFormatError, match="at most 1000 bytes"):
        read_state(path, _expected(), "a tiny DCGAN", max_bytes=1000)


def test_a_pickle_claiming_a_huge_string_reads_no_more_than_the_file(tmp_path):
    path = tmp_path / "g.pth"
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    path.write_bytes(magic[:-1] + b"X" + struct.pack("<I", 2**32 - 1) + b"abc")
    tracemalloc.start()
    with pytest.raises(FileFormatError, match=str(path)):
        inspect_checkpoint(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
