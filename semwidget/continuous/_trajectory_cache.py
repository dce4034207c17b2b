"""The trajectory cache: one file per seed, and how the shard map reads and fills it.

With a cache folder, each seed's trajectory is written atomically: in this process after
every target (an interrupted fit resumes at the target it was on), on a Dask cluster by
the calling process when the seed's shard comes back (the workers need not see the
folder). ``settings.json`` records what made the trajectories; a fit with another model
or other settings is refused, never mixed in, and a damaged file is an error that names
it (the folder is left as it is).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import Shard, ShardStore
from ..files._atomic import atomic_write_bytes
from ..files._errors import FileFormatError, MissingFileError, ModelMismatchError
from ..files._safe import ArraySpec, npz_bytes, parse_json, read_json, read_npz

FORMAT = "semwidget.continuous-trajectories"
VERSION = 1
_FIX = "use another cache folder, or delete this one to start again"


def digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Trajectory:
    """One seed's trajectory (both branches), possibly unfinished.

    Attributes
    ----------
    seed : int
    params : ndarray of shape (branches, done, m, dim), float32
        The optimised variable at the end of each target done (prior units for w and
        w+, z itself for z); ``m`` is 1 for z and w, the number of layers for w+.
    loss : ndarray of shape (branches, done)
        The blurred masked error at the last step of each target.
    baseline : ndarray of shape (branches, done)
        The same error for the unedited image G(z₀).
    """

    seed: int
    params: np.ndarray
    loss: np.ndarray
    baseline: np.ndarray

    @property
    def done(self) -> int:
        return int(self.params.shape[1])


# ---- the cache -----------------------------------------------------------------------


class TrajectoryCache:
    """A folder of per-seed trajectories made with one set of settings."""

    def __init__(self, folder: str | os.PathLike[str], settings: dict[str, Any], shape: tuple[int, int, int]) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.digest = digest(settings)
        self.branches, self.m, self.dim = shape
        self.targets = len(settings["branches"][0])
        if self.folder.exists() and not self.folder.is_dir():
            raise FileFormatError(f"the trajectory cache {self.folder} is a file, not a folder; {_FIX}")
        head = self.folder / "settings.json"
        if head.exists():
            self._check(read_json(head, "a continuous-factor trajectory cache's settings"))
        else:
            stray = sorted(self.folder.glob("seed-*.npz")) if self.folder.exists() else []
            if stray:
                raise FileFormatError(
                    f"the trajectory cache {self.folder} holds {len(stray)} trajectories but no settings.json; {_FIX}"
                )
            record = {"format": FORMAT, "version": VERSION, "digest": self.digest, "settings": settings}
            atomic_write_bytes(head, json.dumps(record, indent=2).encode())

    def _check(self, stored: dict[str, Any]) -> None:
        where = self.folder / "settings.json"
        if stored.get("format") != FORMAT or stored.get("version") != VERSION:
            raise FileFormatError(f"{where} is not version {VERSION} of {FORMAT}; {_FIX}")
        old = stored.get("settings")
        if not isinstance(old, dict):
            raise FileFormatError(f"{where} holds no settings; {_FIX}")
        if stored.get("digest") == self.digest and digest(old) == self.digest:
            return
        changed = [
            f"{key}={json.dumps(old.get(key))[:120]} (this fit: {json.dumps(value)[:120]})"
            for key, value in self.settings.items()
            if old.get(key) != value
        ]
        raise ModelMismatchError(
            f"the trajectory cache {self.folder} was made with other settings: {'; '.join(changed) or 'its digest'}. "
            f"Trajectories are never mixed: {_FIX}, or fit with the settings it was made with."
        )

    def _path(self, seed: int) -> Path:
        return self.folder / f"seed-{seed}.npz"

    def load(self, seed: int) -> Trajectory | None:
        path = self._path(seed)
        if not os.path.lexists(path):
            return None
        b, m, dim = self.branches, self.m, self.dim
        what = "a continuous-factor trajectory"
        expected = {
            "meta": ArraySpec("<U", ()),
            "params": ArraySpec("<f4", (b, None, m, dim)),
            "loss": ArraySpec("<f8", (b, None)),
            "baseline": ArraySpec("<f8", (b, None)),
        }
        try:
            arrays = read_npz(path, expected, what)
            meta = parse_json(str(arrays["meta"][()]), f"{path}: its metadata", f"the JSON of {what}")
        except MissingFileError:
            return None
        except FileFormatError as exc:
            raise FileFormatError(f"{exc}; {_FIX}") from None
        if meta.get("digest") != self.digest or meta.get("seed") != seed:
            raise ModelMismatchError(
                f"{path} was made with other settings (digest {str(meta.get('digest'))[:20]!r}, seed "
                f"{str(meta.get('seed'))[:20]}; expected {self.digest!r}, seed {seed}); {_FIX}"
            )
        params, loss, baseline = arrays["params"], arrays["loss"], arrays["baseline"]
        done = params.shape[1]
        if loss.shape[1] != done or baseline.shape[1] != done or done > self.targets:
            raise FileFormatError(f"{path} is damaged: {done} targets of latents, {loss.shape[1]} of losses; {_FIX}")
        return Trajectory(seed, params, loss, baseline)

    def save(self, trajectory: Trajectory) -> None:
        meta = {"format": FORMAT, "version": VERSION, "digest": self.digest, "seed": trajectory.seed}
        data = npz_bytes(
            {
                "meta": np.array(json.dumps(meta)),
                "params": np.ascontiguousarray(trajectory.params, dtype=np.float32),
                "loss": np.asarray(trajectory.loss, dtype=np.float64),
                "baseline": np.asarray(trajectory.baseline, dtype=np.float64),
            }
        )
        atomic_write_bytes(self._path(trajectory.seed), data)


# ---- the shard map's view of it ---------------------------------------------------------


def stack(trajectories: list[Trajectory]) -> dict[str, np.ndarray]:
    """Finished trajectories as a shard's arrays: ``params`` (n, branches, targets, m, dim),
    ``loss`` and ``baseline`` (n, branches, targets)."""
    return {
        "params": np.stack([t.params for t in trajectories]).astype(np.float32, copy=False),
        "loss": np.stack([t.loss for t in trajectories]).astype(np.float64, copy=False),
        "baseline": np.stack([t.baseline for t in trajectories]).astype(np.float64, copy=False),
    }


def unstack(seeds: range, arrays: Mapping[str, np.ndarray]) -> list[Trajectory]:
    """A shard's arrays back into one trajectory per seed."""
    return [Trajectory(s, arrays["params"][i], arrays["loss"][i], arrays["baseline"][i]) for i, s in enumerate(seeds)]


class TrajectoryStore(ShardStore):
    """The trajectories found in the cache, as the shard map asks for them.

    A shard whose seeds are all finished is read from ``found`` (not computed); one
    computed on a cluster is written to ``cache`` seed by seed when it comes back
    (``write``); in this process the shard's work writes each seed after every target.
    """

    def __init__(self, found: Mapping[int, Trajectory], targets: int, cache: TrajectoryCache | None, write: bool):
        self.found, self.targets, self.cache, self.write = found, targets, cache, write

    def done(self, seed: int) -> int:
        """Targets finished for ``seed`` (0 when it has no file)."""
        t = self.found.get(seed)
        return 0 if t is None else t.done

    def get(self, shard: Shard) -> dict[str, np.ndarray] | None:
        if any(self.done(s) < self.targets for s in shard.seeds):
            return None
        return stack([self.found[s] for s in shard.seeds])

    def put(self, shard: Shard, arrays: Mapping[str, np.ndarray]) -> None:
        if self.write and self.cache is not None:
            for trajectory in unstack(shard.seeds, arrays):
                self.cache.save(trajectory)
