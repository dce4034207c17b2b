"""Files on disk: atomic writes and paired JSON + ``.npz`` saves (no pickle)."""

from ._atomic import atomic_write, load_json_npz, save_json_npz

__all__ = ["atomic_write", "load_json_npz", "save_json_npz"]
