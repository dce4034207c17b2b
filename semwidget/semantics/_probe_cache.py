"""The probe cache: one ``.npz`` holding the seeds done so far (from the first, without
gaps), their codes ``ws[:, 0]`` and their scores, plus JSON metadata that says what made
them; and, beside it, the shards a cluster finished out of order.

The ``.npz`` is rewritten atomically as batches finish in this process. Shards finished
by Dask workers are written as shard files in ``<cache>.shards/``
(:class:`semwidget.distributed.ShardCache`) as they arrive, and folded into the ``.npz``
once they join its rows, when the probe ends (finished or not). The ``.npz`` is read back
through the bounded readers (:func:`semwidget.files.read_npz`): a damaged or foreign file
is refused, never overwritten; a damaged shard file is computed again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import Shard, ShardCache, ShardStore
from ..files._atomic import atomic_write
from ..files._errors import FileFormatError, ModelMismatchError
from ..files._safe import ArraySpec, parse_json, read_npz

FORMAT = "semwidget-probe"
VERSION = 1
# Rewrite the cache after every batch while a write is this cheap (seconds); a slower
# write (a very large cache) happens at most once per 10 write-times, so it costs <~10 %.
_CHEAP_WRITE_S = 0.05


class ProbeStore(ShardStore):
    """The rows of one probe: what its cache held, what its shards add, and the writes.

    Rows ``[0, done)`` are known without a gap; ``written`` of them are in the ``.npz``.
    """

    def __init__(self, path: Path | None, meta: dict[str, Any], w_dim: int) -> None:
        n, m = int(meta["n_samples"]), len(meta["scorers"]["names"])
        self.path, self.meta = path, meta
        self.w = np.zeros((n, w_dim), np.float32)
        self.scores = np.zeros((n, m))
        self._filled: dict[int, int] = {}  # rows known beyond the gapless ones: start -> stop
        self.done = self.written = 0
        self._last_write_s, self._last_write_end = 0.0, time.perf_counter()
        self.shards: ShardCache | None = None
        if path is None:
            return
        if path.exists():
            stored_scores, stored_codes = read_cache(path, meta, w_dim)
            self.done = self.written = min(len(stored_scores), n)
            self.w[: self.done], self.scores[: self.done] = stored_codes[: self.done], stored_scores[: self.done]
        self.shards = ShardCache(
            path.with_name(path.name + ".shards"),
            "probe",
            model={"generator": meta["generator"], "scorers": meta["scorers"]},
            params={k: meta[k] for k in ("format", "version", "seed", "truncation")},
            arrays=lambda s: {"w": ArraySpec("<f4", (len(s), w_dim)), "scores": ArraySpec("<f8", (len(s), m))},
        )

    # ---- the shard map's calls ------------------------------------------------------

    def get(self, shard: Shard) -> dict[str, np.ndarray] | None:
        arrays = None if self.shards is None else self.shards.get(shard)
        if arrays is not None:
            self._fill(shard.offset, arrays)
        return arrays

    def put_batch(self, shard: Shard, offset: int, arrays: Mapping[str, np.ndarray]) -> None:
        self._fill(shard.offset + offset, arrays)
        now = time.perf_counter()
        if self._last_write_s < _CHEAP_WRITE_S or now - self._last_write_end >= 10 * self._last_write_s:
            self.save()

    def put(self, shard: Shard, arrays: Mapping[str, np.ndarray]) -> None:
        if self._known(shard.offset, shard.offset + len(shard)):
            return  # computed here, batch by batch: its rows are in already
        self._fill(shard.offset, arrays)
        if self.shards is not None:
            self.shards.put(shard, arrays)

    # ---- rows and writes --------------------------------------------------------------

    def _known(self, start: int, stop: int) -> bool:
        return stop <= self.done or any(a <= start and stop <= b for a, b in self._filled.items())

    def _fill(self, start: int, arrays: Mapping[str, np.ndarray]) -> None:
        stop = start + len(arrays["scores"])
        self.w[start:stop], self.scores[start:stop] = arrays["w"], arrays["scores"]
        if start <= self.done:
            self.done = max(self.done, stop)
        else:
            self._filled[start] = max(stop, self._filled.get(start, stop))
        while self.done in self._filled:
            self.done = self._filled.pop(self.done)

    def save(self) -> None:
        """Write the gapless rows to the ``.npz`` if there are more than it holds, then
        remove the shard files they now include."""
        if self.path is None or self.done <= self.written:
            return
        start = time.perf_counter()
        write_cache(self.path, self.meta, self.w[: self.done], self.scores[: self.done])
        self._last_write_end = time.perf_counter()
        self._last_write_s = self._last_write_end - start
        self.written = self.done
        if self.shards is not None:
            first = int(self.meta["seed"])
            self.shards.discard(first, first + self.done)


def write_cache(path: Path, meta: dict[str, Any], codes: np.ndarray, scores: np.ndarray) -> None:
    """Replace the cache with the first ``len(scores)`` samples: codes (k, w_dim), scores (k, m)."""
    first = int(meta["seed"])
    seeds = np.arange(first, first + len(scores), dtype=np.int64)
    atomic_write(
        path,
        lambda f: np.savez(
            f,
            meta=np.array(json.dumps(meta)),
            seeds=seeds,
            w=np.asarray(codes, dtype=np.float32),
            scores=np.asarray(scores, dtype=np.float64),
        ),
    )


_WHAT = "a semwidget probe cache"
_FIX = "use another cache path or delete the file (it is left untouched)"


def read_cache(path: Path, meta: dict[str, Any], w_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The stored scores (k, m) and codes (k, w_dim), after checking they fit ``meta``.

    Read through the bounded readers in two passes: first the metadata alone (a string
    array, its JSON parsed strictly), compared with this call's; then the arrays, whose
    dtypes and widths are then known, each checked before it is allocated. A file that
    is not a sound cache raises :class:`~semwidget.FileFormatError`, a cache of another
    probe :class:`~semwidget.ModelMismatchError`; either way the file is left as it is
    (it may be someone's data at a mistyped path), and nothing is recomputed over it.
    """
    try:
        head = read_npz(path, {"meta": ArraySpec("<U", ()), "seeds": None, "w": None, "scores": None}, _WHAT)
        try:
            text = str(head["meta"][()])
        except (UnicodeError, ValueError) as exc:
            raise FileFormatError(f"{path}: its metadata is not text ({exc})") from None
        stored = parse_json(text, f"{path}: its metadata", f"the JSON of {_WHAT}")
    except FileFormatError as exc:
        raise FileFormatError(f"{exc}; {_FIX}") from None
    if stored.get("format") != FORMAT:
        raise FileFormatError(f"{path} is not {_WHAT} (its format is {stored.get('format')!r:.60}); {_FIX}")
    if stored.get("version") != VERSION:
        raise FileFormatError(f"{path} is version {stored.get('version')!r:.20} of {_WHAT}; expected {VERSION}")
    differences = []
    old, new = _dict(stored.get("generator")), meta["generator"]
    if old.get("fingerprint") != new["fingerprint"]:
        differences.append(
            f"another generator ({old.get('name')!r:.80}, fingerprint {old.get('fingerprint')!r:.80}; "
            f"this one is {new['name']!r}, fingerprint {new['fingerprint']})"
        )
    old, new = _dict(stored.get("scorers")), meta["scorers"]
    if old.get("identity") != new["identity"] or old.get("names") != new["names"]:
        differences.append(f"another scorer set (scores {old.get('names')!r:.200}; this one gives {new['names']})")
    for key in ("seed", "truncation"):
        if stored.get(key) != meta[key]:
            differences.append(f"{key}={stored.get(key)!r:.40} (this call has {key}={meta[key]!r})")
    if differences:
        raise ModelMismatchError(
            f"the probe cache {path} was made with {'; '.join(differences)}. {_FIX[0].upper()}{_FIX[1:]}."
        )
    m = len(meta["scorers"]["names"])
    expected = {
        "meta": ArraySpec("<U", ()),
        "seeds": ArraySpec("<i8", (None,)),
        "w": ArraySpec("<f4", (None, w_dim)),
        "scores": ArraySpec("<f8", (None, m)),
    }
    try:
        arrays = read_npz(path, expected, _WHAT)
    except FileFormatError as exc:
        raise FileFormatError(f"{exc}; {_FIX}") from None
    seeds, codes, scores = arrays["seeds"], arrays["w"], arrays["scores"]
    k = len(seeds)
    first = int(meta["seed"])
    if not np.array_equal(seeds, np.arange(first, first + k)) or len(scores) != k or len(codes) != k:
        raise FileFormatError(
            f"the probe cache {path} is damaged: {k} seeds that should run from {first}, {len(codes)} codes and "
            f"{len(scores)} rows of scores; {_FIX}"
        )
    return scores, codes


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
