"""Reading files that may be hostile: headers and sizes are checked before anything is
allocated, only regular files inside their folder are opened, dtypes are exact and
float values finite.

An ``.npz`` is read member by member through :mod:`zipfile`: each ``.npy`` header is
parsed first, and an array is allocated only once its shape times its item size equals
the bytes the member actually stores (and the member lies inside the archive), so a
1 MB file cannot make the reader allocate gigabytes. ``np.load`` is never called.
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npformat

from ._errors import FileFormatError, MissingFileError

#: The largest JSON manifest read (directions and annotations manifests are kilobytes).
MAX_JSON_BYTES = 64 << 20
_MAX_MEMBERS = 4096
_CHUNK = 1 << 20


def open_regular(path: str | os.PathLike[str], what: str, max_bytes: int | None = None) -> IO[bytes]:
    """Open ``path`` for reading if it is a regular file (a symlink only to a file in
    the same folder), at most ``max_bytes`` long; else :class:`FileFormatError`."""
    path = Path(path)
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if target.parent != path.parent.resolve():
                raise FileFormatError(f"{path} is a link out of its folder (to {target}); {what} must be a plain file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise MissingFileError(f"no {what} at {path}") from None
    except (NotADirectoryError, IsADirectoryError, PermissionError, OSError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"cannot open {path} as {what}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise FileFormatError(f"{path} is not a regular file (a device, FIFO, socket or folder); expected {what}")
    if max_bytes is not None and st.st_size > max_bytes:
        os.close(fd)
        raise FileFormatError(f"{path} is {st.st_size} bytes; {what} is at most {max_bytes} bytes")
    return os.fdopen(fd, "rb")


def read_json(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A JSON object from ``path``: UTF-8, no NaN/Infinity, at most :data:`MAX_JSON_BYTES`."""
    with open_regular(path, what, MAX_JSON_BYTES) as f:
        # read(n) allocates n bytes up front: ask for what the file holds, not the cap.
        data = f.read(os.fstat(f.fileno()).st_size + 1)
    if len(data) > MAX_JSON_BYTES:
        raise FileFormatError(f"{path} grew past {MAX_JSON_BYTES} bytes while it was read; expected {what}")
    return parse_json(data, str(path), what)


def parse_json(data: bytes | str, where: str, what: str) -> dict[str, Any]:
    """A JSON object from ``data`` (UTF-8, no NaN/Infinity), read from ``where``; else
    :class:`FileFormatError` naming ``where`` and ``what`` it should be."""
    if len(data) > MAX_JSON_BYTES:
        raise FileFormatError(f"{where} holds {len(data)} bytes of JSON; {what} has at most {MAX_JSON_BYTES}")
    try:
        value = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileFormatError(f"{where} is not {what}: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise FileFormatError(f"{where} is not {what}: expected a JSON object, found {type(value).__name__}")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(frozen=True)
class ArraySpec:
    """What one array of an ``.npz`` must be: an exact dtype and a shape whose ``None``
    entries may be any size. ``required=False`` lets the member be absent. A string
    dtype without a length (``"<U"``, ``"|S"``) takes strings of any length."""

    dtype: np.dtype | str
    shape: tuple[int | None, ...]
    required: bool = True
    finite: bool = True

    @property
    def any_length(self) -> bool:
        want = np.dtype(self.dtype)
        return want.kind in "SU" and want.itemsize == 0

    def accepts(self, dtype: np.dtype) -> bool:
        want = np.dtype(self.dtype)
        if self.any_length:
            return dtype.kind == want.kind and dtype.str[:2] == want.str[:2]
        return dtype == want and dtype.str == want.str

    def describe(self) -> str:
        dims = ", ".join("any" if d is None else str(d) for d in self.shape)
        kind = f"{np.dtype(self.dtype).str[:2]} strings of any length" if self.any_length else np.dtype(self.dtype).str
        return f"{kind} of shape ({dims}{',' if len(self.shape) == 1 else ''})"


#: What zipfile raises on a damaged or unsupported archive (NotImplementedError: a "version
#: needed to extract" beyond the module's, found by the loader fuzz; RuntimeError: encrypted).
ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    ValueError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)
#: Besides, what reading an array's .npy header may raise on garbage.
_MEMBER_ERRORS: tuple[type[Exception], ...] = (*ZIP_ERRORS, KeyError, SyntaxError, TypeError)


def read_npz(
    path: str | os.PathLike[str], expected: Mapping[str, ArraySpec | None], what: str = "an arrays file"
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` written by ``np.savez``, each checked against ``expected``
    before it is allocated; members not in ``expected`` are refused. A member whose spec
    is None may be there but is not read (a first pass that reads only a header array,
    whose content says what the others must be)."""
    path = Path(path)
    with open_regular(path, what) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            archive = zipfile.ZipFile(f)
        except ZIP_ERRORS as exc:
            raise FileFormatError(f"{path} is not {what} (not a zip archive: {exc})") from None
        with archive:
            infos = archive.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise FileFormatError(f"{path} has {len(infos)} members; {what} has at most {_MAX_MEMBERS}")
            names = [i.filename for i in infos]
            unknown = sorted({n.removesuffix(".npy") for n in names} - set(expected))
            if unknown or len(set(names)) != len(names) or not all(n.endswith(".npy") for n in names):
                raise FileFormatError(
                    f"{path} holds arrays {sorted(names)[:8]}; {what} holds only {sorted(expected)}"
                    + (f" (unexpected: {unknown[:4]})" if unknown else "")
                )
            arrays = {}
            for info in infos:
                key = info.filename.removesuffix(".npy")
                spec = expected[key]
                if spec is not None:
                    arrays[key] = _read_member(path, archive, info, spec, size)
    missing = [k for k, spec in expected.items() if spec is not None and spec.required and k not in arrays]
    if missing:
        raise FileFormatError(f"{path} lacks the arrays {missing}; {what} holds {sorted(expected)}")
    return arrays


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, spec: ArraySpec, size: int) -> np.ndarray:
    where = f"{path}: array {info.filename.removesuffix('.npy')!r}"
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size or info.header_offset + info.file_size > size:
            raise FileFormatError(f"{where} claims {info.file_size} bytes that the file does not hold")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        limit = _spec_bytes(spec)
        if limit is not None and info.file_size > limit + 4096:
            raise FileFormatError(f"{where} unpacks to {info.file_size} bytes; expected {spec.describe()}")
        if info.file_size > 64 * max(info.compress_size, 1):
            raise FileFormatError(f"{where} unpacks to {info.file_size} bytes from {info.compress_size}")
    else:
        raise FileFormatError(f"{where} uses zip compression {info.compress_type}; expected stored or deflated")
    try:
        with archive.open(info) as member:
            version = npformat.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = npformat.read_array_header_2_0(member)
            else:
                raise FileFormatError(f"{where} has .npy format version {version}; expected 1.0 or 2.0")
            _check_header(where, shape, dtype, spec)
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes != info.file_size - member.tell():
                raise FileFormatError(
                    f"{where} claims shape {shape} ({nbytes} bytes) but stores {info.file_size - member.tell()} bytes"
                )
            buffer = bytearray(nbytes)
            view = memoryview(buffer)
            done = 0
            while done < nbytes:
                chunk = member.read(min(_CHUNK, nbytes - done))  # at most what is left: never past the array
                if not chunk:
                    raise FileFormatError(f"{where} is truncated ({done} of {nbytes} bytes)")
                view[done : done + len(chunk)] = chunk
                done += len(chunk)
            if member.read(1):
                raise FileFormatError(f"{where} has bytes after its data")
    except FileFormatError:
        raise
    except _MEMBER_ERRORS as exc:
        raise FileFormatError(f"{where} is damaged: {type(exc).__name__}: {str(exc)[:200]}") from None
    array = np.frombuffer(buffer, dtype=dtype)
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    if spec.finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise FileFormatError(f"{where} holds NaN or infinite values")
    return array


def _check_header(where: str, shape: Any, dtype: np.dtype, spec: ArraySpec) -> None:
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise FileFormatError(f"{where} has dtype {dtype}; expected {spec.describe()} (no object or record arrays)")
    if not spec.accepts(dtype):
        raise FileFormatError(f"{where} has dtype {dtype.str}; expected {spec.describe()}")
    if (
        not isinstance(shape, tuple)
        or len(shape) != len(spec.shape)
        or any(not isinstance(d, int) or d < 0 for d in shape)
        or any(e is not None and d != e for d, e in zip(shape, spec.shape))
    ):
        raise FileFormatError(f"{where} has shape {shape}; expected {spec.describe()}")


def _spec_bytes(spec: ArraySpec) -> int | None:
    if any(d is None for d in spec.shape) or spec.any_length:
        return None
    return math.prod(spec.shape) * np.dtype(spec.dtype).itemsize  # type: ignore[arg-type]


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """``np.savez`` of ``arrays`` into bytes (no pickle: object arrays are refused)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype.hasobject:
            raise TypeError(f"array {key!r} has dtype object; only numeric arrays are written")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()
