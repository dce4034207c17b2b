"""Probing: sample many latents, synthesize and score them in batches, cache as you go.

The result pairs latents with scores, ready for a boundary::

    result = semwidget.probe(G, [Brightness(), SaliencyPosition()], n_samples=2000, cache="faces.npz")
    InterFaceGAN().fit(result.latents, result.column("brightness"))

The cache is an ``.npz`` (no pickle) holding the seeds done so far, their codes
``ws[:, 0]`` and their scores, plus JSON metadata that says what made them; it is
rewritten atomically after each batch, so an interrupted probe resumes where it stopped.
It is read back through the bounded readers (:func:`semwidget.files.read_npz`): a
damaged or foreign file is refused, never overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..common._progress import progress as progress_bar
from ..files._atomic import atomic_write
from ..files._errors import FileFormatError, ModelMismatchError
from ..files._safe import ArraySpec, parse_json, read_npz
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ..scorers import Scorer, as_scorer

log = logging.getLogger(__name__)

_FORMAT = "semwidget-probe"
_VERSION = 1
# Rewrite the cache after every batch while a write is this cheap (seconds); a slower
# write (a very large cache) happens at most once per 10 write-times, so it costs <~10 %.
_CHEAP_WRITE_S = 0.05


@dataclass(frozen=True, eq=False)
class ProbeResult:
    """Latents and their scores, one row per sample.

    Attributes
    ----------
    latents : Latents of length n
        Re-created from the seeds, on the generator's device.
    scores : ndarray of shape (n, m)
        One column per name, float64.
    names : tuple of str of length m
    seeds : tuple of int of length n
    """

    latents: Latents
    scores: np.ndarray
    names: tuple[str, ...]
    seeds: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.seeds)

    def column(self, name: str) -> np.ndarray:
        """The scores named ``name``: ndarray of shape (n,)."""
        if name not in self.names:
            raise KeyError(f"no score named {name!r}; this probe has {list(self.names)}")
        return self.scores[:, self.names.index(name)]

    def __repr__(self) -> str:
        return f"ProbeResult(n={len(self)}, names={list(self.names)}, seeds={self.seeds[0] if self.seeds else ''}…)"


def probe(
    generator: Generator | torch.nn.Module,
    scorers: Scorer | Any,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    truncation: float | None = None,
    progress: bool = True,
) -> ProbeResult:
    """Score ``n_samples`` generated images, in batches, with a progress bar.

    Sample ``i`` is drawn with seed ``seed + i``. With ``cache``, the seeds
    already scored there are not computed again and every finished batch is
    saved, so an interrupted probe (an error, a kernel restart) resumes; a
    cache that was made with another generator, scorer set, seed or truncation
    is refused, never overwritten. ``n_samples`` may differ from the run that
    made the cache: a cache with fewer samples is extended, one with more
    gives its first ``n_samples`` (and is left as it is).

    Parameters
    ----------
    generator : Generator (or a generator module, wrapped by ``as_generator``)
        Runs on its own device; the images reach the scorers on the CPU.
    scorers : Scorer, callable or list of them
        Anything :func:`semwidget.scorers.as_scorer` accepts.
    n_samples, seed, batch_size : int
    cache : path of an ``.npz`` file, optional
    truncation : float, optional
        ψ for generators with truncation.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ProbeResult with ``scores`` of shape (n_samples, number of score names).

    Raises
    ------
    ValueError
        Bad arguments, a scorer returning the wrong shape or NaN (what is
        cached so far is kept), or a cache from another probe.
    """
    generator = as_generator(generator)
    scorer = as_scorer(scorers)
    for value, what in ((n_samples, "n_samples"), (batch_size, "batch_size")):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{what} must be an int >= 1; got {value!r}")
    n, seed = int(n_samples), int(seed)
    seeds = tuple(range(seed, seed + n))
    latents = generator.sample(seeds=seeds, truncation=truncation)
    codes = latents.ws[:, 0].float().cpu().numpy()
    psi = generator.default_truncation if truncation is None else truncation
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "generator": {"name": generator.name, "fingerprint": generator.fingerprint},
        "scorers": {"identity": scorer.identity, "names": list(scorer.names)},
        "seed": seed,
        "n_samples": n,
        # The ψ actually used, so a changed default cannot pass for the same probe.
        "truncation": None if psi is None else float(psi),
    }
    scores = np.zeros((n, len(scorer.names)))
    done = 0
    path = None if cache is None else Path(cache)
    if path is not None and path.exists():
        stored_scores, stored_codes = _read_cache(path, meta, codes.shape[1])
        done = min(len(stored_scores), n)
        if not np.allclose(stored_codes[:done], codes[:done], rtol=1e-3, atol=1e-3):
            raise ModelMismatchError(
                f"the probe cache {path} holds latent codes that differ from what {generator.name} samples "
                f"for the same seeds; {_FIX}"
            )
        scores[:done] = stored_scores[:done]
        log.info("probe: %d of %d samples read from the cache %s", done, n, path)

    written, last_write_s, since_write = done, 0.0, 0.0

    def save() -> None:
        nonlocal written, last_write_s, since_write
        if path is None or done == written:
            return
        start = time.perf_counter()
        _write_cache(path, meta, codes[:done], scores[:done])
        written, last_write_s, since_write = done, time.perf_counter() - start, 0.0

    with progress_bar(n, "probing", enabled=progress) as bar:
        bar.update(done)
        try:
            while done < n:
                stop = min(done + batch_size, n)
                start = time.perf_counter()
                images = generator.synthesize(latents[done:stop], batch_size=batch_size)
                scores[done:stop] = scorer(images)
                bar.update(stop - done)
                done = stop
                since_write += time.perf_counter() - start
                if last_write_s < _CHEAP_WRITE_S or since_write >= 10 * last_write_s:
                    save()
        finally:
            # An error or an interrupt: keep every finished batch, then let it propagate.
            save()
    return ProbeResult(latents=latents, scores=scores, names=scorer.names, seeds=seeds)


def _write_cache(path: Path, meta: dict[str, Any], codes: np.ndarray, scores: np.ndarray) -> None:
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


def _read_cache(path: Path, meta: dict[str, Any], w_dim: int) -> tuple[np.ndarray, np.ndarray]:
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
    if stored.get("format") != _FORMAT:
        raise FileFormatError(f"{path} is not {_WHAT} (its format is {stored.get('format')!r:.60}); {_FIX}")
    if stored.get("version") != _VERSION:
        raise FileFormatError(f"{path} is version {stored.get('version')!r:.20} of {_WHAT}; expected {_VERSION}")
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
