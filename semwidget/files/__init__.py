"""Files on disk: atomic writes, paired JSON + ``.npz`` saves (no pickle), and readers
that check headers and sizes before they allocate anything."""

from ._atomic import atomic_write, load_json_npz, save_json_npz, sweep
from ._errors import FileFormatError, MissingFileError, ModelMismatchError
from ._safe import ArraySpec, read_json, read_npz

__all__ = [
    "ArraySpec",
    "FileFormatError",
    "MissingFileError",
    "ModelMismatchError",
    "atomic_write",
    "load_json_npz",
    "read_json",
    "read_npz",
    "save_json_npz",
    "sweep",
]
