"""Atomic file writes: a crash mid-write leaves the previous file intact, and no litter.

A write goes to ``.<name>.<pid>-<random>.tmp`` beside its target, is fsynced and renamed
over it. The temporary file is removed on any exception; one left by a killed process is
swept by the next write of the same target (when its process is gone, or after
:data:`STALE_AFTER_S` whatever its process).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._errors import FileFormatError, MissingFileError
from ._safe import ArraySpec, npz_bytes, read_json, read_npz

#: A temporary file older than this is swept even if its process id is still in use.
STALE_AFTER_S = 15 * 60
_TMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp")


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, fsync it,
    then rename it over ``path`` (atomic on POSIX and Windows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    def write(f: IO[bytes]) -> None:
        f.write(data)

    atomic_write(path, write)


def sweep(folder: str | os.PathLike[str], name: str | None = None, *, older_than_s: float = STALE_AFTER_S) -> int:
    """Remove the temporary files our writes left in ``folder`` (those of target ``name``,
    or of any target): a file whose process is gone, or any older than ``older_than_s``.
    Returns how many were removed."""
    removed, now = 0, time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        m = _TMP.fullmatch(entry.name)
        if not m or (name is not None and m["name"] != name):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > older_than_s
            if old or not _alive(int(m["pid"])):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass  # another sweeper got there first
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_json_npz(path: str | os.PathLike[str], meta: dict, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``<path>.json`` (``meta``) beside ``<path>.<digest>.npz`` (``arrays``).

    The arrays file is named by a digest of its content and written first; the
    JSON, which names it, replaces the old JSON atomically last. A crash at any
    point leaves either the old pair or the new pair complete. After the new JSON is
    in place, arrays files of this name other than the new one and the one the
    previous JSON named are removed (the previous one is kept, so a reader that read
    the old JSON an instant ago still finds its arrays). No pickle is involved.
    """
    json_path = _json_path(path)
    data = npz_bytes(arrays)
    npz_path = json_path.with_name(f"{json_path.stem}.{hashlib.sha256(data).hexdigest()[:12]}.npz")
    text = json.dumps({**meta, "arrays": npz_path.name}, indent=2, allow_nan=False)  # fails before writing
    json_path.parent.mkdir(parents=True, exist_ok=True)
    sweep(json_path.parent)
    previous = _arrays_name(json_path)
    atomic_write_bytes(npz_path, data)
    atomic_write_bytes(json_path, text.encode())
    keep = {npz_path.name, previous}
    pattern = re.compile(re.escape(json_path.stem) + r"\.[0-9a-f]{12}\.npz")
    for entry in os.scandir(json_path.parent):
        if pattern.fullmatch(entry.name) and entry.name not in keep:
            Path(entry.path).unlink(missing_ok=True)
    return json_path


def load_json_npz(
    path: str | os.PathLike[str],
    kind: str,
    expected: Callable[[dict[str, Any]], Mapping[str, ArraySpec]],
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a pair written by :func:`save_json_npz`; ``kind`` names the file type in
    errors and ``expected(meta)`` says which arrays the manifest promises.

    Raises :class:`FileFormatError` for anything malformed and :class:`MissingFileError`
    (a ``FileNotFoundError`` too) for a missing file. If a save replaced the pair while
    this read was under way, the read starts again from the new JSON.
    """
    json_path = _json_path(path)
    for attempt in range(5):
        meta = read_json(json_path, f"a {kind} file")
        name = meta.get("arrays")
        if not isinstance(name, str) or not _plain_name(name):
            raise FileFormatError(f"{json_path} is not a {kind} file (no arrays file named in its folder)")
        npz_path = json_path.parent / name
        try:
            if not os.path.lexists(npz_path):
                raise MissingFileError(name)
            specs = expected(meta)  # FileFormatError for a malformed manifest, naming it
            try:
                return meta, read_npz(npz_path, specs, f"the arrays of a {kind} file")
            except MissingFileError:
                raise
            except FileFormatError as exc:
                raise FileFormatError(f"could not read the arrays of {json_path}: {exc}") from None
        except MissingFileError:
            if attempt < 4 and _arrays_name(json_path) not in (None, name):
                continue  # a concurrent save moved on; read its new JSON
            raise MissingFileError(f"{json_path} refers to {npz_path}, which is missing") from None
    raise AssertionError("unreachable")


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _json_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.suffix in (".json", ".npz"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json")


def _arrays_name(json_path: Path) -> str | None:
    try:
        name = read_json(json_path, "a manifest").get("arrays")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) and _plain_name(name) else None
