"""Reading ``torch.save`` checkpoints that may be hostile, before torch allocates anything.

:func:`inspect_checkpoint` opens the zip archive ``torch.save`` writes, checks every
member's CRC and that it lies inside the file, and reads ``data.pkl`` with a restricted
unpickler that builds no tensors: it returns the checkpoint's structure with a
:class:`TensorSpec` (shape, dtype, storage) in place of each tensor, after checking that
each storage's claimed size is exactly the bytes its record holds and every tensor lies
inside its storage. The legacy format (torch < 1.6, or ``_use_new_zipfile_serialization=False``:
a few pickles, then each storage as its element count and its bytes) is walked the same
way, storage by storage, without reading the data. Callers check keys, shapes and dtypes
against the architecture they expect (:func:`check_state`, or :func:`read_state` for both
steps), then :func:`load_checked` runs ``torch.load(weights_only=True)`` — which can then
allocate no more than the file holds — and refuses NaN or infinite weights.
"""

from __future__ import annotations

import argparse
import collections
import io
import math
import os
import pickle
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch

from ._errors import FileFormatError
from ._safe import ZIP_ERRORS, open_regular

#: What reading a damaged checkpoint may raise besides our own errors.
_READ_ERRORS: tuple[type[Exception], ...] = (pickle.UnpicklingError, *ZIP_ERRORS)

_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "UntypedStorage": torch.uint8,
}
_MAX_PICKLE_BYTES = 64 << 20
# float32 weights may be stored in half precision (one precision for the whole state dict).
_STORED_AS = {torch.float32: (torch.float32, torch.float16, torch.bfloat16)}
_LAYOUT = "a file written by torch.save (zip format, or the legacy format of torch < 1.6) holding tensors only"
# The legacy format opens with three pickles: this number, this protocol version, and a
# dict about the writer's machine (byte order, type sizes).
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


@dataclass(frozen=True)
class _Storage:
    dtype: torch.dtype
    key: str
    numel: int


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of a checkpoint, described but not built."""

    shape: torch.Size
    dtype: torch.dtype
    storage: _Storage

    @property
    def ndim(self) -> int:
        return len(self.shape)


class _Namespace:
    """Stands in for ``argparse.Namespace`` (rosinality's train.py saves its args)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Namespace:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> TensorSpec:
    if not isinstance(storage, _Storage):
        raise FileFormatError("a tensor refers to no storage")
    dims = (offset, *size, *stride)
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)) or not all(
        isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in dims
    ):
        raise FileFormatError(f"a tensor has a malformed shape {size!r:.80} / stride {stride!r:.80}")
    if math.prod(size) and offset + sum((s - 1) * st for s, st in zip(size, stride)) >= storage.numel:
        raise FileFormatError(f"a tensor of shape {size} reaches past its storage of {storage.numel} elements")
    return TensorSpec(torch.Size(size), storage.dtype, storage)


def _rebuild_parameter(data: Any, *rest: Any) -> Any:
    return data


class _SpecUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """The pure-Python unpickler (it reads lengths without allocating them first), with
    a fixed list of what it may name; nothing from the file is imported or called.

    ``legacy``: storages are referred to as the legacy format does, with a sixth entry
    (a view of another storage), which must be None: views are refused."""

    def __init__(self, file: Any, legacy: bool = False) -> None:
        super().__init__(file)
        self._legacy = legacy

    def find_class(self, module: str, name: str) -> Any:
        allowed: dict[tuple[str, str], Any] = {
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("argparse", "Namespace"): _Namespace,
        }
        if (module, name) in allowed:
            return allowed[module, name]
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise FileFormatError(f"holds a {module}.{name} object; expected {_LAYOUT}")

    def persistent_load(self, pid: Any) -> _Storage:
        if (
            not isinstance(pid, tuple)
            or len(pid) != (6 if self._legacy else 5)
            or (self._legacy and pid[5] is not None)
            or pid[0] not in ("storage", b"storage")
            or not isinstance(pid[1], torch.dtype)
            or not isinstance(pid[2], str)
            or not isinstance(pid[4], int)
            or pid[4] < 0
        ):
            raise FileFormatError(f"holds a malformed storage reference {pid!r:.120}")
        return _Storage(pid[1], pid[2], pid[4])


def inspect_checkpoint(path: str | os.PathLike[str], max_bytes: int | None = None) -> Any:
    """The structure of checkpoint ``path`` with a :class:`TensorSpec` per tensor;
    :class:`FileFormatError` for anything that is not a sound ``torch.save`` file (zip or
    legacy format), or for a file longer than ``max_bytes``."""
    path = Path(path)
    with open_regular(path, "a checkpoint", max_bytes) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            if f.read(1) == b"\x80":  # a pickle's PROTO opcode: the legacy format
                f.seek(0)
                return _inspect_legacy(f, size)
            f.seek(0)
            try:
                archive = zipfile.ZipFile(f)
            except ZIP_ERRORS as exc:
                raise FileFormatError(f"not a zip archive ({exc}); expected {_LAYOUT}") from None
            with archive:
                return _inspect(archive, size)
        except FileFormatError as exc:
            raise FileFormatError(f"could not read checkpoint {path}: {exc}") from None
        except _READ_ERRORS as exc:
            raise FileFormatError(
                f"could not read checkpoint {path}: {type(exc).__name__}: {str(exc)[:200]}; expected {_LAYOUT}"
            ) from None
        except (KeyError, IndexError, TypeError, AttributeError, RecursionError, MemoryError, struct.error) as exc:
            raise FileFormatError(
                f"could not read checkpoint {path}: a damaged pickle ({type(exc).__name__}); expected {_LAYOUT}"
            ) from None


def _inspect(archive: zipfile.ZipFile, size: int) -> Any:
    infos = archive.infolist()
    pkl = [i for i in infos if i.filename.endswith("/data.pkl") and i.filename.count("/") == 1]
    if len(pkl) != 1:
        raise FileFormatError(f"no single <name>/data.pkl in the archive; expected {_LAYOUT}")
    prefix = pkl[0].filename[: -len("data.pkl")]
    records = {}
    for info in infos:
        if not info.filename.startswith(prefix) or info.compress_type != zipfile.ZIP_STORED:
            raise FileFormatError(f"unexpected member {info.filename!r:.80} (torch.save stores members uncompressed)")
        if info.file_size != info.compress_size or info.header_offset + info.file_size > size:
            raise FileFormatError(f"member {info.filename!r:.80} claims bytes the file does not hold")
        records[info.filename[len(prefix) :]] = info
    bad = archive.testzip()  # reads every member in chunks and checks its CRC
    if bad is not None:
        raise FileFormatError(f"member {bad!r:.80} fails its CRC check (the file is damaged)")
    if pkl[0].file_size > _MAX_PICKLE_BYTES:
        raise FileFormatError(f"data.pkl is {pkl[0].file_size} bytes; at most {_MAX_PICKLE_BYTES}")
    data = archive.read(pkl[0])
    spec = _SpecUnpickler(io.BytesIO(data)).load()
    for st in _unique_storages(spec).values():
        record = records.get(f"data/{st.key}")
        nbytes = st.numel * st.dtype.itemsize
        if record is None or record.file_size != nbytes:
            have = "no record" if record is None else f"{record.file_size} bytes"
            raise FileFormatError(f"storage {st.key!r:.40} claims {nbytes} bytes; its record holds {have}")
    return spec


class _Bounded:
    """``read``/``readline`` of a file that never ask for more than its first ``limit``
    bytes hold: ``BufferedReader.read(n)`` allocates n bytes before it reads, so a
    pickle claiming a string of 2**63 bytes would otherwise be a MemoryError, or worse."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self._f, self._limit = f, limit

    def _left(self) -> int:
        return max(self._limit - self._f.tell(), 0)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(self._left() if n is None or n < 0 else min(n, self._left()))

    def readline(self, limit: int = -1) -> bytes:
        return self._f.readline(self._left() if limit is None or limit < 0 else min(limit, self._left()))


def _inspect_legacy(f: IO[bytes], size: int) -> Any:
    """The legacy format: magic number, protocol, system info, the object (storages as
    persistent ids), the storage keys in file order, then per key an int64 element count
    and the bytes. Each count must be the one its reference declares, and the storages
    must end exactly at the end of the file."""
    reader = _Bounded(f, min(size, _MAX_PICKLE_BYTES))
    if _SpecUnpickler(reader).load() != _LEGACY_MAGIC:
        raise FileFormatError(f"neither a zip archive nor a legacy torch.save file; expected {_LAYOUT}")
    protocol = _SpecUnpickler(reader).load()
    if protocol != _LEGACY_PROTOCOL:
        raise FileFormatError(f"legacy protocol {protocol!r:.40}; expected {_LEGACY_PROTOCOL}")
    info = _SpecUnpickler(reader).load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise FileFormatError(f"written on a machine described as {info!r:.120}; expected a little-endian one")
    spec = _SpecUnpickler(reader, legacy=True).load()
    keys = _SpecUnpickler(reader).load()
    storages = _unique_storages(spec)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages) or len(set(keys)) != len(keys):
        raise FileFormatError(f"its storage list {keys!r:.80} does not match the {len(storages)} storages it uses")
    offset = f.tell()
    for key in keys:
        st = storages[key]
        nbytes = st.numel * st.dtype.itemsize
        f.seek(offset)
        count = f.read(8)
        if len(count) < 8 or offset + 8 + nbytes > size:
            raise FileFormatError(f"storage {key!r:.40} of {nbytes} bytes is cut off (the file is truncated)")
        stored = int.from_bytes(count, "little", signed=True)
        if stored != st.numel:
            raise FileFormatError(f"storage {key!r:.40} holds {stored} elements; its tensors were told {st.numel}")
        offset += 8 + nbytes
    if offset != size:
        raise FileFormatError(f"{size - offset} bytes follow its last storage (expected none)")
    return spec


def _unique_storages(spec: Any) -> dict[str, _Storage]:
    storages: dict[str, _Storage] = {}
    for st in _storages(spec):
        if storages.setdefault(st.key, st) != st:
            raise FileFormatError(f"storage {st.key!r:.40} is declared twice with different sizes")
    return storages


def _storages(spec: Any) -> list[_Storage]:
    found, stack = [], [spec]
    while stack:
        x = stack.pop()
        if isinstance(x, TensorSpec):
            found.append(x.storage)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return found


def tensors(spec: Any, prefix: str = "") -> dict[str, TensorSpec]:
    """Every tensor in ``spec`` by its dotted path of keys."""
    out: dict[str, TensorSpec] = {}
    if isinstance(spec, TensorSpec):
        out[prefix] = spec
    elif isinstance(spec, dict):
        for k, v in spec.items():
            out.update(tensors(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def check_state(path: Path, state: dict[str, Any], expected: dict[str, torch.Tensor], layout: str) -> None:
    """Refuse a state dict whose keys, shapes or dtypes are not exactly ``expected``'s
    (the state dict of the architecture, built on the meta device)."""
    problems = []
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing:
        problems.append(f"missing {missing[:4]}{'...' if len(missing) > 4 else ''}")
    if extra:
        problems.append(f"unexpected {extra[:4]}{'...' if len(extra) > 4 else ''}")
    for key in sorted(set(state) & set(expected)):
        got, want = state[key], expected[key]
        if not isinstance(got, TensorSpec):
            problems.append(f"{key} is a {type(got).__name__}, not a tensor")
        elif tuple(got.shape) != tuple(want.shape) or got.dtype not in _STORED_AS.get(want.dtype, (want.dtype,)):
            problems.append(f"{key} is {got.dtype} {tuple(got.shape)}, expected {want.dtype} {tuple(want.shape)}")
        if len(problems) > 6:
            break
    floats = {v.dtype for v in state.values() if isinstance(v, TensorSpec) and v.dtype.is_floating_point}
    if len(floats) > 1:
        problems.append(f"its weights mix {sorted(map(str, floats))}; a checkpoint stores them in one precision")
    if problems:
        raise FileFormatError(f"{path} does not match {layout}: {'; '.join(problems)}")


def read_state(
    path: str | os.PathLike[str],
    expected: Mapping[str, torch.Tensor],
    layout: str,
    *,
    key: str | None = None,
    max_bytes: int | None = None,
) -> dict[str, torch.Tensor]:
    """The state dict stored in checkpoint ``path`` (under ``key`` when given), read only
    after its keys, shapes and dtypes were checked against ``expected`` (the state dict
    of the architecture, built on the meta device) without building a tensor.

    :class:`FileFormatError` naming the file and ``layout`` for anything else, or for a
    file longer than ``max_bytes``.
    """
    path = Path(path)
    spec = inspect_checkpoint(path, max_bytes)
    state = spec.get(key) if key is not None and isinstance(spec, dict) else spec
    if not isinstance(state, dict):
        where = f"'{key}' " if key is not None else ""
        found = type(spec).__name__ if not isinstance(spec, dict) else f"keys {sorted(map(str, spec))[:6]}"
        raise FileFormatError(f"{path}: {where}should be a state dict ({layout}); found {found}")
    check_state(path, state, dict(expected), layout)
    loaded = load_checked(path)
    return dict(loaded[key] if key is not None else loaded)


def load_checked(path: str | os.PathLike[str]) -> Any:
    """``torch.load(weights_only=True)`` of a file :func:`inspect_checkpoint` passed;
    refuses NaN or infinite floating-point values."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError, ...)
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise FileFormatError(f"could not read checkpoint {path}: {type(exc).__name__}: {first_line}") from None
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, torch.Tensor):
            if x.is_floating_point() and not torch.isfinite(x).all():
                raise FileFormatError(f"checkpoint {path} holds NaN or infinite weights")
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return value
