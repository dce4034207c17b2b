"""probe(): batched scoring of sampled images, with a resumable cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import semwidget
from semwidget.common._progress import report_to
from semwidget.scorers import Brightness, Contrast, FunctionScorer, SaliencyPosition, Scorer


def counting(calls: list[int], fail_on: int | None = None, bad: str = "raise") -> Scorer:
    """Mean and max of each image; records the size of every batch; misbehaves on call ``fail_on``.

    Every scorer made here has one identity, so they share caches.
    """

    def stats(images: torch.Tensor) -> np.ndarray:
        if len(calls) + 1 == fail_on:
            if bad == "raise":
                raise RuntimeError("scorer crashed")
            if bad == "nan":
                return np.full((len(images), 2), np.nan)
            return np.zeros((len(images), 3))
        calls.append(len(images))
        return torch.stack([images.mean(dim=(1, 2, 3)), images.amax(dim=(1, 2, 3))], dim=1).numpy()

    return FunctionScorer(stats, names=("mean", "max"))


def test_shapes_names_and_what_the_scores_are(tiny_dcgan):
    result = semwidget.probe(tiny_dcgan, [Brightness(), Contrast()], n_samples=10, seed=3, batch_size=4, progress=False)
    assert result.scores.shape == (10, 2) and result.names == ("brightness", "contrast")
    assert result.seeds == tuple(range(3, 13)) and len(result) == 10
    assert len(result.latents) == 10 and result.latents.seeds == result.seeds
    images = tiny_dcgan.synthesize(tiny_dcgan.sample(10, seed=3))
    assert np.allclose(result.column("brightness"), Brightness()(images)[:, 0])
    assert np.allclose(result.column("contrast"), result.scores[:, 1])
    with pytest.raises(KeyError, match="brightness"):
        result.column("age")


def test_deterministic_and_independent_of_batch_size(tiny_dcgan):
    a = semwidget.probe(tiny_dcgan, SaliencyPosition(), n_samples=9, batch_size=4, progress=False)
    b = semwidget.probe(tiny_dcgan, SaliencyPosition(), n_samples=9, batch_size=4, progress=False)
    c = semwidget.probe(tiny_dcgan, SaliencyPosition(), n_samples=9, batch_size=9, progress=False)
    assert np.array_equal(a.scores, b.scores) and torch.equal(a.latents.ws, b.latents.ws)
    assert np.allclose(a.scores, c.scores, atol=1e-5)


def test_progress_reaches_the_total(tiny_dcgan):
    seen: list[tuple[str, int, int]] = []
    with report_to(lambda label, done, total: seen.append((label, done, total))):
        semwidget.probe(tiny_dcgan, Brightness(), n_samples=10, batch_size=4, progress=False)
    assert seen[-1][1:] == (10, 10) and [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)


def test_the_cache_holds_every_finished_batch_without_pickle(tiny_dcgan, tmp_path):
    path = tmp_path / "probe.npz"
    sizes: list[int] = []

    def watch(images: torch.Tensor) -> np.ndarray:
        # Before scoring a batch, the cache on disk already holds every earlier batch.
        if sizes:
            with np.load(path, allow_pickle=False) as npz:
                assert len(npz["seeds"]) == sum(sizes)
        sizes.append(len(images))
        return images.mean(dim=(1, 2, 3)).numpy()

    semwidget.probe(tiny_dcgan, FunctionScorer(watch, ["mean"]), n_samples=10, batch_size=4, cache=path, progress=False)
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        assert npz["seeds"].tolist() == list(range(10)) and npz["scores"].shape == (10, 1)
        assert npz["w"].shape == (10, tiny_dcgan.w_dim)
    assert meta["generator"]["fingerprint"] == tiny_dcgan.fingerprint and meta["scorers"]["names"] == ["mean"]
    assert (meta["seed"], meta["n_samples"], meta["truncation"]) == (0, 10, None)


def test_an_interrupted_probe_resumes_where_it_stopped(tiny_dcgan, tmp_path):
    path = tmp_path / "probe.npz"
    full = semwidget.probe(tiny_dcgan, counting([]), n_samples=10, batch_size=4, progress=False)
    calls: list[int] = []
    with pytest.raises(RuntimeError, match="scorer crashed"):
        semwidget.probe(tiny_dcgan, counting(calls, fail_on=3), n_samples=10, batch_size=4, cache=path, progress=False)
    assert calls == [4, 4]
    calls.clear()
    resumed = semwidget.probe(tiny_dcgan, counting(calls), n_samples=10, batch_size=4, cache=path, progress=False)
    assert calls == [2]  # only the last batch (seeds 8 and 9) is computed again
    assert np.array_equal(resumed.scores, full.scores) and torch.equal(resumed.latents.ws, full.latents.ws)
    # A complete cache scores nothing; more samples extend it, fewer take its first rows.
    calls.clear()
    assert np.array_equal(
        semwidget.probe(tiny_dcgan, counting(calls), n_samples=10, cache=path, progress=False).scores, full.scores
    )
    assert calls == []
    more = semwidget.probe(tiny_dcgan, counting(calls), n_samples=13, batch_size=4, cache=path, progress=False)
    assert calls == [3] and np.array_equal(more.scores[:10], full.scores)
    calls.clear()
    fewer = semwidget.probe(tiny_dcgan, counting(calls), n_samples=6, cache=path, progress=False)
    assert calls == [] and np.array_equal(fewer.scores, full.scores[:6]) and len(fewer.latents) == 6


@pytest.mark.parametrize("bad, message", [("nan", "NaN"), ("shape", r"shape \(4, 3\)")])
def test_a_bad_scorer_fails_clearly_and_keeps_the_cache(tiny_dcgan, tmp_path, bad, message):
    path = tmp_path / "probe.npz"
    with pytest.raises(ValueError, match=message):
        scorer = counting([], fail_on=3, bad=bad)
        semwidget.probe(tiny_dcgan, scorer, n_samples=20, batch_size=4, cache=path, progress=False)
    with np.load(path, allow_pickle=False) as npz:
        assert npz["seeds"].tolist() == list(range(8)) and np.isfinite(npz["scores"]).all()


def test_a_foreign_cache_is_refused_and_left_alone(tiny_dcgan, tiny_pggan, tmp_path):
    path = tmp_path / "probe.npz"
    semwidget.probe(tiny_dcgan, counting([]), n_samples=6, batch_size=4, cache=path, progress=False)
    before = path.read_bytes()
    cases = [
        (dict(generator=tiny_pggan), "another generator"),
        (dict(scorers=Brightness()), "another scorer set"),
        (dict(seed=5), "seed=0"),
    ]
    for change, message in cases:
        args = dict(generator=tiny_dcgan, scorers=counting([]), n_samples=6, cache=path, progress=False) | change
        with pytest.raises(ValueError, match=f"{message}.*another cache path or delete"):
            semwidget.probe(args.pop("generator"), args.pop("scorers"), **args)
    assert path.read_bytes() == before
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a semwidget probe cache"):
        semwidget.probe(tiny_dcgan, Brightness(), n_samples=2, cache=junk, progress=False)
    assert junk.read_bytes() == b"not a zip file"


def test_bad_arguments(tiny_dcgan):
    for kwargs in (dict(n_samples=0), dict(batch_size=0), dict(n_samples=2.5)):
        with pytest.raises(ValueError, match="must be an int >= 1"):
            semwidget.probe(tiny_dcgan, Brightness(), progress=False, **kwargs)
    with pytest.raises(TypeError, match="expected a Scorer"):
        semwidget.probe(tiny_dcgan, 3, n_samples=2, progress=False)


def test_probe_of_real_faces_feeds_a_boundary(digiface):
    result = semwidget.probe(digiface, Brightness(), n_samples=200, batch_size=64, progress=False)
    assert result.scores.shape == (200, 1) and result.latents.ws.shape == (200, 1, 100)
    boundary = semwidget.InterFaceGAN(ratio=0.1).fit(result.latents, result.scores, labels=result.names)
    assert boundary.directions_.vectors.shape == (1, 100)
