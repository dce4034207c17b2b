"""Where finished shards are kept: one ``.npz`` per shard in the call's cache folder.

A shard's file is named by its kind, its seed range and two keys, one for the model
(generator and scorers) and one for the call's other parameters::

    probe.0-1024.5f1c0e9a2b7d.03aa41c8e2f1.npz

and holds the same identity as JSON in its ``meta`` member, beside the shard's arrays.
It is written atomically (:func:`semwidget.files.atomic_write`) and read through the
bounded readers (:func:`semwidget.files.read_npz`). A damaged shard file is computed
again and replaced; a folder holding shards of the same kind made by another model or
scorer set is refused (:class:`~semwidget.ModelMismatchError`) and left as it is. Shards
of other parameters (another seed, step, direction) live side by side in one folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..files._atomic import atomic_write
from ..files._errors import FileFormatError, MissingFileError, ModelMismatchError
from ..files._safe import ArraySpec, parse_json, read_npz
from ._plan import Shard

log = logging.getLogger(__name__)

_FORMAT = "semwidget-shard"
_VERSION = 1
_NAME = re.compile(
    r"(?P<kind>[a-z][a-z0-9-]*)\.(?P<start>-?\d+)-(?P<stop>-?\d+)\.(?P<model>[0-9a-f]{12})\.(?P<params>[0-9a-f]{12})\.npz"
)
_FIX = "use another cache folder or delete those files (they are left untouched)"


class ShardStore:
    """What the shard map asks of a cache; this base keeps nothing.

    ``get`` gives a finished shard's arrays (``None``: compute it), ``put`` keeps the
    arrays of a shard just finished (called in the calling process, in the order shards
    finish), ``put_batch`` the rows of one batch of a shard computed in this process
    (``offset`` rows into the shard), so a store can save work finer than a shard.
    """

    def get(self, shard: Shard) -> dict[str, np.ndarray] | None:
        return None

    def put(self, shard: Shard, arrays: Mapping[str, np.ndarray]) -> None:
        pass

    def put_batch(self, shard: Shard, offset: int, arrays: Mapping[str, np.ndarray]) -> None:
        pass


def identity_key(value: Mapping[str, Any]) -> str:
    """A short sha256 of a JSON-able mapping, independent of key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ShardCache(ShardStore):
    """Shard files of one kind of call in ``folder``.

    Parameters
    ----------
    folder : path
        Created on the first write.
    kind : str
        What computed the shards (``"probe"``, ``"score-changes"``, ...): lower case,
        digits and dashes.
    model : mapping
        JSON-able identity of the generator and scorers (fingerprints, sha256s); a
        folder with shards of this kind made by another model is refused.
    params : mapping
        JSON-able identity of everything else the arrays depend on.
    arrays : callable
        ``arrays(shard)`` gives the :class:`~semwidget.files.ArraySpec` of each array
        a shard's file holds, checked before anything is allocated.

    Raises
    ------
    ModelMismatchError
        The folder holds shards of this kind made by another model or scorer set.
    FileFormatError
        ``folder`` exists and is not a folder.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        kind: str,
        model: Mapping[str, Any],
        params: Mapping[str, Any],
        arrays: Callable[[Shard], Mapping[str, ArraySpec]],
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", kind):
            raise ValueError(f"a shard kind is lower case letters, digits and dashes; got {kind!r}")
        self.folder = Path(folder)
        self.kind = kind
        self.model = json.loads(json.dumps(dict(model), allow_nan=False))
        self.params = json.loads(json.dumps(dict(params), allow_nan=False))
        self.model_key, self.params_key = identity_key(self.model), identity_key(self.params)
        self._arrays = arrays
        if self.folder.exists() and not self.folder.is_dir():
            raise FileFormatError(f"{self.folder} is not a folder; a shard cache is a folder of .npz files")
        self._refuse_other_models()

    def path(self, shard: Shard) -> Path:
        """The file of ``shard``: its kind, seed range, model key and parameter key."""
        return self.folder / f"{self.kind}.{shard.start}-{shard.stop}.{self.model_key}.{self.params_key}.npz"

    def _meta(self, shard: Shard) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "kind": self.kind,
            "model": self.model,
            "params": self.params,
            "start": shard.start,
            "stop": shard.stop,
        }

    def get(self, shard: Shard) -> dict[str, np.ndarray] | None:
        """The arrays of ``shard`` if its file is there and sound; a damaged one is logged
        and ``None`` returned, so the shard is computed again (and its file replaced)."""
        path = self.path(shard)
        if not os.path.lexists(path):
            return None
        what = f"a semwidget {self.kind} shard"
        try:
            arrays = read_npz(path, {"meta": ArraySpec("<U", ()), **self._arrays(shard)}, what)
            meta = parse_json(str(arrays.pop("meta")[()]), f"{path}: its metadata", f"the JSON of {what}")
        except MissingFileError:
            return None
        except (FileFormatError, UnicodeError) as exc:
            log.warning("%s is damaged (%s); computing shard %d again", path, exc, shard.index)
            return None
        if meta.get("model") != self.model:
            raise ModelMismatchError(f"{path} was made by another model ({meta.get('model')!r:.300}); {_FIX}")
        if meta != self._meta(shard):
            log.warning("%s holds another shard than its name says; computing shard %d again", path, shard.index)
            return None
        return arrays

    def put(self, shard: Shard, arrays: Mapping[str, np.ndarray]) -> None:
        """Write ``shard``'s arrays atomically: a reader sees the old file or the new one."""
        expected = self._arrays(shard)
        if set(arrays) != set(expected):
            raise ValueError(
                f"shard {shard.index} has arrays {sorted(arrays)}; {self.kind} shards hold {sorted(expected)}"
            )
        meta = np.array(json.dumps(self._meta(shard), allow_nan=False))
        plain = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        atomic_write(self.path(shard), lambda f: np.savez(f, meta=meta, **plain))  # type: ignore[arg-type]

    def discard(self, start: int, stop: int) -> int:
        """Remove this cache's shard files whose seeds all lie in ``[start, stop)`` (their
        rows are kept elsewhere now), and the folder once it is empty; returns how many."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return 0
        removed = 0
        for entry in entries:
            m = _NAME.fullmatch(entry.name)
            if (
                m
                and (m["kind"], m["model"], m["params"]) == (self.kind, self.model_key, self.params_key)
                and start <= int(m["start"])
                and int(m["stop"]) <= stop
            ):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        try:
            self.folder.rmdir()
        except OSError:
            pass  # not empty (other shards, other calls' files): kept
        return removed

    def _refuse_other_models(self) -> None:
        try:
            entries = sorted(e.name for e in os.scandir(self.folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        foreign = [
            name
            for name in entries
            if (m := _NAME.fullmatch(name)) and m["kind"] == self.kind and m["model"] != self.model_key
        ]
        if not foreign:
            return
        made_by = self._describe(self.folder / foreign[0])
        raise ModelMismatchError(
            f"the cache folder {self.folder} holds {len(foreign)} {self.kind} shards made by another model or scorer "
            f"set ({made_by}; this call has {_short(self.model)}); {_FIX}"
        )

    def _describe(self, path: Path) -> str:
        """What made a shard file, from its metadata, or why that cannot be read."""
        try:
            head = read_npz(path, {"meta": ArraySpec("<U", ()), **dict.fromkeys(self._arrays(Shard(0, 0, 1, 0)))})
            meta = parse_json(str(head["meta"][()]), str(path), "shard metadata")
        except (FileFormatError, UnicodeError) as exc:
            return f"{path.name}, unreadable: {str(exc)[:120]}"
        return _short(meta.get("model"))


def _short(model: object) -> str:
    return f"{json.dumps(model, sort_keys=True, default=str)[:300]}"
