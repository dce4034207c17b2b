"""Where the page may read and write: names inside one folder, never paths.

The page sends a *name* for an annotations file; the kernel resolves it inside the
Explorer's ``annotations_dir`` and refuses anything that could land elsewhere: folder
separators, ``..``, hidden names, links (a ``<name>.json`` or ``.npz`` that is a symlink,
or a folder that resolves outside). Python code calling ``save_annotations(path)`` is
trusted and may write anywhere, as any Python can.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._protocol import ProtocolError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}")
_SUFFIXES = (".json", ".npz")


def annotation_file(folder: Path, name: str, *, create: bool) -> Path:
    """``folder / name`` (without suffix) after checking that ``name`` stays in ``folder``."""
    name = name.strip()
    if not _NAME.fullmatch(name) or ".." in name or name.endswith("."):
        raise ProtocolError(
            f"an annotations name is a file name inside {str(folder)!r}: letters, digits, spaces, "
            f"'.', '_' and '-', at most 100 characters, no folders; got {name!r:.60}"
        )
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        raise ProtocolError(f"the annotations folder {str(folder)!r} is a link; refusing to follow it")
    root = folder.resolve()
    target = root / name
    for suffix in _SUFFIXES:
        file = target.with_name(name + suffix)
        if file.is_symlink() or (file.exists() and file.resolve().parent != root):
            raise ProtocolError(f"{str(file)!r} is a link or leads out of {str(folder)!r}; refusing it")
    return target
