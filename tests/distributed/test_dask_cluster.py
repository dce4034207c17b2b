"""On a real Dask cluster (a LocalCluster of two worker processes, started and stopped
here): the same probe as in this process to the bit, whatever order shards finish in,
and when a worker process dies mid-shard; attribute change and GANSpace too.

The workers load shapes-stylegan2 by its zoo name and the world's factor predictor from
its recipe, and run each shard with the caller's torch thread count."""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import pytest
import torch

import semwidget
from semwidget.common._progress import report_to
from semwidget.distributed import NotPortableError, describe_generator, describe_scorer
from semwidget.distributed._runner import torch_threads
from semwidget.distributed._specs import prepare
from semwidget.scorers import Brightness, Scorer
from semwidget.world import FactorScorer

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
# Scorers defined here travel by value: the workers cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N, BATCH, SHARD = 80, 10, 20
ARGS = dict(n_samples=N, batch_size=BATCH, shard_size=SHARD)


@pytest.fixture(scope="module")
def client(shapes):
    # Starting the workers' nannies sets OMP_NUM_THREADS=1 (and MKL_/OPENBLAS_) in *this*
    # process's environment and leaves it there, so every process the rest of the suite
    # starts (the notebooks' kernels: notebook 05 took 263-295 s instead of 110 s) would
    # run one thread. The environment is put back when the cluster stops.
    environ = dict(os.environ)
    # Seen once at load average ~11: the scheduler dropped both workers at once ("Lost all
    # workers") and the shards waited for workers forever. With this, shards that find no
    # worker for three minutes fail (NoValidWorkerError), so such a run fails, not hangs.
    with dask.config.set({"distributed.scheduler.no-workers-timeout": "180s"}):
        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
        )
    client = distributed.Client(cluster)
    # Each worker builds the models while this process computes its reference.
    specs = [describe_generator(shapes), describe_scorer(FactorScorer())]
    workers = list(client.scheduler_info()["workers"])
    warming = [client.submit(prepare, s, workers=[w], pure=False) for w in workers for s in specs]
    try:
        yield client
    finally:
        del warming
        client.close()
        cluster.close()
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # One torch thread here, as a Dask worker starts with: on a busy machine, idle OpenMP
    # threads spinning cost more than the work.
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def shapes():
    return semwidget.load("shapes-stylegan2", device="cpu")


@pytest.fixture(scope="module")
def reference(shapes):
    return semwidget.probe(shapes, FactorScorer(), progress=False, **ARGS)


def _same(a, b) -> bool:
    return np.array_equal(a.scores, b.scores) and torch.equal(a.latents.ws, b.latents.ws) and a.seeds == b.seeds


def test_a_probe_on_two_workers_is_bit_identical_to_one_in_process(client, shapes, tmp_path):
    seen = []
    # Two threads: the workers (which start with one) must switch to the caller's count,
    # or the predictor's matrix product sums in another order and other bits come back.
    with torch_threads(2), report_to(lambda label, done, total: seen.append((label, done, total))):
        here = semwidget.probe(shapes, FactorScorer(), progress=False, **ARGS)
        there = semwidget.probe(shapes, FactorScorer(), cache=tmp_path / "p.npz", client=client, **ARGS)
    assert _same(here, there)
    assert seen[-1][0].startswith("probing on Dask") and seen[-1][1:] == (N // SHARD, N // SHARD)  # shards
    with np.load(tmp_path / "p.npz") as npz:
        assert np.array_equal(npz["scores"], here.scores)
    assert not (tmp_path / "p.npz.shards").exists()  # every shard folded into the cache


def test_shards_finishing_in_reverse_order_give_the_same_result(client, shapes, reference, monkeypatch, tmp_path):
    order = []

    def reverse(futures):
        distributed.wait(futures)
        order.extend(reversed([f.key for f in futures]))
        return list(reversed(futures))

    monkeypatch.setattr(distributed, "as_completed", reverse)
    with semwidget.distributed(client):
        result = semwidget.probe(shapes, FactorScorer(), progress=False, **ARGS)
    assert _same(result, reference) and len(order) == N // SHARD


def test_attribute_change_and_ganspace_on_the_cluster_match_in_process(client, shapes):
    d = semwidget.SeFa(n_directions=2, layers=[0, 1, 2]).fit(shapes).directions_
    args = dict(alpha=3.0, n_samples=20, batch_size=BATCH, shard_size=BATCH, progress=False)
    here = semwidget.attribute_change(shapes, d, FactorScorer(), **args)
    there = semwidget.attribute_change(shapes, d, FactorScorer(), client=client, **args)
    assert np.array_equal(here.values, there.values) and np.array_equal(here.std, there.std)
    finder = dict(n_directions=3, n_samples=2000, batch_size=500, shard_size=500, progress=False)
    here = semwidget.GANSpace(**finder).fit(shapes)
    there = semwidget.GANSpace(**finder).fit(shapes, client=client)
    assert np.array_equal(here.directions_.vectors, there.directions_.vectors)
    assert np.array_equal(here.explained_variance_, there.explained_variance_)


def test_a_model_workers_cannot_rebuild_is_refused_before_anything_runs(client, tiny_dcgan):
    with pytest.raises(NotPortableError, match="not loaded by semwidget.load"):
        semwidget.probe(tiny_dcgan, Brightness(), n_samples=4, client=client, progress=False)


class KillOnce(Scorer):
    """The factor predictor, except that the first call in any worker kills that worker's process."""

    names = FactorScorer.names
    periods = FactorScorer.periods

    def __init__(self, marker):
        self.marker, self.parent, self.inner = str(marker), os.getpid(), None

    def __getstate__(self):
        return {**self.__dict__, "inner": None}

    def score(self, images):
        if os.getpid() != self.parent:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(1)  # the worker process dies mid-shard; its nanny starts a new one
        if self.inner is None:
            self.inner = FactorScorer()
        return self.inner.score(images)


def test_a_worker_killed_mid_probe_changes_nothing(client, shapes, reference, tmp_path):
    marker = tmp_path / "killed"
    pids = set(client.run(os.getpid).values())
    result = semwidget.probe(shapes, KillOnce(marker), client=client, progress=False, **ARGS)
    assert marker.exists() and _same(result, reference)
    assert os.getpid() not in pids  # the marker was made by a worker, which then died


# ---- batch inversion and continuous-factor trajectories -------------------------------------


def test_an_inversion_on_the_cluster_is_bit_identical_to_one_in_process(client, shapes, monkeypatch):
    # Five images in batches of two: three shards, the last one short. The workers start
    # each batch from their own copy of the shapes encoder, as this process does.
    x = shapes.synthesize(shapes.sample(5, seed=500))
    args = dict(steps=3, batch_size=2, seed=11, progress=False)
    here = semwidget.invert(shapes, x, **args)
    with semwidget.distributed(client):
        there = semwidget.invert(shapes, x, **args)
    assert here.init == there.init == "encoder"
    assert torch.equal(here.latents.ws, there.latents.ws) and np.array_equal(here.loss_curve, there.loss_curve)
    assert np.array_equal(here.psnr, there.psnr) and there.steps == 3
    # With the noise inputs optimised too, each image's maps come back from its shard.
    noisy = dict(args, steps=2, optimize_noise=True)
    here, there = (semwidget.invert(shapes, x[:3], client=c, **noisy) for c in (None, client))
    assert len(there.latents.noise) == len(shapes.noise_shapes) and there.latents.noise[0].shape[0] == 3
    assert all(torch.equal(a, b) for a, b in zip(here.latents.noise, there.latents.noise))
    assert torch.equal(here.latents.ws, there.latents.ws) and np.array_equal(here.psnr, there.psnr)
    with pytest.raises(ValueError, match="callback= hears every step"):
        semwidget.invert(shapes, x, client=client, callback=lambda step, losses: None, **args)
    from semwidget.inversion import _invert

    monkeypatch.setattr(_invert, "MAX_SHARD_BYTES", 10_000)  # a batch of two 64×64 images is 98 KiB
    with pytest.raises(ValueError, match="lower batch_size"):
        semwidget.invert(shapes, x, client=client, **args)


def _same_fit(a, b) -> bool:
    return np.array_equal(a.direction_.vectors, b.direction_.vectors) and np.array_equal(a.g_.step, b.g_.step)


def test_continuous_factor_trajectories_on_the_cluster_resume_and_match_in_process(client, shapes, tmp_path, caplog):
    from semwidget import ModelMismatchError
    from semwidget.continuous import ContinuousFactor

    # Four seeds in shards of two, two targets a side of two steps each.
    small = dict(n_trajectories=4, batch_size=2, t_steps=2, steps_per_target=2, space="w", progress=False)
    here = ContinuousFactor("shift_x", **small).fit(shapes)
    cache = tmp_path / "shift"

    class Stop(Exception):
        pass

    def stop_after_three(label, done, total):
        if done == 3:  # in the second target of the first shard: its seeds hold one target each
            raise Stop

    with pytest.raises(Stop), report_to(stop_after_three):
        ContinuousFactor("shift_x", cache=cache, **dict(small, progress=True)).fit(shapes)
    assert len(list(cache.glob("seed-*.npz"))) == 2
    # Mark seed 0's first-target losses (they weigh in no direction or step: nothing is
    # rejected of four), so the result shows whether the worker resumed from the file.
    with np.load(cache / "seed-0.npz") as npz:
        held = dict(npz)
    assert held["loss"].shape == (2, 1)
    np.savez(cache / "seed-0.npz", **dict(held, loss=np.full((2, 1), 123.0)))
    # The cluster resumes seeds 0 and 1 from their first target and runs seeds 2 and 3.
    there = ContinuousFactor("shift_x", cache=cache, **small).fit(shapes, client=client)
    assert _same_fit(here, there) and len(list(cache.glob("seed-*.npz"))) == 4
    changed = np.argwhere(here.trajectories_.error != there.trajectories_.error).tolist()
    assert changed == [[0, 1], [0, 2]]  # seed 0 at t = -0.075 and +0.075: the marked losses came back
    # Extending the fit sends only the new shard; the cached ones are read.
    more = dict(small, n_trajectories=6)
    with caplog.at_level(logging.INFO, logger="semwidget.distributed"), semwidget.distributed(client):
        extended = ContinuousFactor("shift_x", cache=cache, **more).fit(shapes)
    assert "3 shards, 2 of them cached, 1 sent to the cluster" in caplog.text
    assert _same_fit(extended, ContinuousFactor("shift_x", **more).fit(shapes))
    with pytest.raises(ModelMismatchError, match="other settings"):
        ContinuousFactor("shift_x", cache=cache, **dict(small, sigma=2.0)).fit(shapes, client=client)
