"""Atomic file writes: a crash mid-write leaves the previous file intact."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, fsync it,
    then rename it over ``path`` (atomic on POSIX and Windows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_json_npz(path: str | os.PathLike[str], meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``<path>.json`` (``meta``) beside ``<path>.<digest>.npz`` (``arrays``).

    The arrays file is named by a digest of its content and written first; the
    JSON, which names it, replaces the old JSON atomically last. A crash at any
    point leaves either the old pair or the new pair complete: the old arrays
    file is removed only after the new JSON is in place. No pickle is involved.
    """
    json_path = _json_path(path)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    npz_path = json_path.with_name(f"{json_path.stem}.{hashlib.sha256(data).hexdigest()[:12]}.npz")
    previous = _arrays_name(json_path)
    atomic_write_bytes(npz_path, data)
    atomic_write_bytes(json_path, json.dumps({**meta, "arrays": npz_path.name}, indent=2).encode())
    if previous and previous != npz_path.name:
        (json_path.parent / previous).unlink(missing_ok=True)
    return json_path


def load_json_npz(path: str | os.PathLike[str], kind: str) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a pair written by :func:`save_json_npz`; ``kind`` names the file type in errors."""
    json_path = _json_path(path)
    try:
        meta = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no {kind} file at {json_path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{json_path} is not a {kind} file: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("arrays"), str):
        raise ValueError(f"{json_path} is not a {kind} file (no arrays named)")
    npz_path = json_path.parent / Path(meta["arrays"]).name
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"{json_path} refers to {npz_path}, which is missing") from None
    except (ValueError, OSError) as exc:
        raise ValueError(f"could not read the arrays of {json_path} from {npz_path}: {exc}") from None
    return meta, arrays


def _json_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.suffix in (".json", ".npz"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json")


def _arrays_name(json_path: Path) -> str | None:
    try:
        name = json.loads(json_path.read_text()).get("arrays")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(name).name if isinstance(name, str) else None
