"""The shard map in this process: deterministic plans, the shard cache (atomic, damaged
shards computed again, other models refused), portable model specs, the client switch,
and the sampling-heavy calls giving the same numbers whatever their shard size."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import semwidget
from semwidget import ModelMismatchError
from semwidget.directions import _ganspace_shards
from semwidget.distributed import (
    Models,
    NotPortableError,
    Shard,
    ShardCache,
    ShardPlan,
    _client,
    _runner,
    describe_generator,
    describe_scorer,
    map_shards,
    shard_size,
)
from semwidget.files import ArraySpec
from semwidget.nets import DCGAN
from semwidget.scorers import Brightness, Contrast, FunctionScorer, Scorer
from semwidget.semantics._probe_cache import ProbeStore
from semwidget.world import FactorScorer

# ---- plans --------------------------------------------------------------------------


def test_a_plan_is_seed_ranges_from_its_first_seed():
    plan = ShardPlan(5, 10, 4)
    assert [(s.index, s.start, s.stop, s.offset) for s in plan] == [(0, 5, 9, 0), (1, 9, 13, 4), (2, 13, 15, 8)]
    assert len(plan) == 3 and list(plan.shards()[1].seeds) == [9, 10, 11, 12] and plan.shards()[2].rows == slice(8, 10)
    assert plan.shards() == ShardPlan(5, 10, 4).shards()
    # Done samples leave their shards out; the shard they end in starts after them, keeping its index.
    assert [(s.index, s.start, s.offset) for s in plan.shards(done=6)] == [(1, 11, 6), (2, 13, 8)]
    assert plan.shards(done=10) == []
    assert shard_size(64) == 1024 and shard_size(50) == 1000 and shard_size(5000) == 5000
    for bad in (dict(n=0), dict(size=0), dict(n=2.5), dict(seed="0")):
        with pytest.raises(ValueError, match="shard plan"):
            ShardPlan(**{"seed": 0, "n": 4, "size": 2, **bad})


def _squares(shard, models, tick):
    for start in range(shard.start, shard.stop, 3):
        seeds = np.arange(start, min(start + 3, shard.stop))
        tick(len(seeds))
        yield {"x": seeds.astype(np.float64) ** 2, "seed": seeds}


def test_map_shards_in_process_yields_shards_in_order_and_uses_the_store(tmp_path):
    cache = _square_cache(tmp_path)
    got = list(map_shards(_squares, ShardPlan(2, 11, 4).shards(), store=cache, progress=False))
    assert [s.index for s, _ in got] == [0, 1, 2]
    assert np.concatenate([a["seed"] for _, a in got]).tolist() == list(range(2, 13))
    names = sorted(p.name for p in tmp_path.joinpath("c").iterdir())
    assert names[0].startswith("squares.10-13.") and len(names) == 3
    calls = []

    def counting(shard, models, tick):
        calls.append(shard.index)
        yield from _squares(shard, models, tick)

    again = list(map_shards(counting, ShardPlan(2, 11, 4).shards(), store=cache, progress=False))
    assert calls == [] and all(np.array_equal(a["x"], b["x"]) for (_, a), (_, b) in zip(got, again))


def _square_cache(tmp_path, model="m1", params=None):
    return ShardCache(
        tmp_path / "c",
        "squares",
        model={"generator": model},
        params=params or {"p": 1},
        arrays=lambda s: {"x": ArraySpec("<f8", (len(s),)), "seed": ArraySpec("<i8", (len(s),))},
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[:200]),
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(bytes(b ^ 0xFF if i == 150 else b for i, b in enumerate(p.read_bytes()))),
    ],
    ids=["truncated", "empty", "bit-flip"],
)
def test_a_damaged_shard_is_computed_again_and_replaced(tmp_path, damage, caplog):
    plan = ShardPlan(0, 8, 4)
    first = dict(map_shards(_squares, plan.shards(), store=_square_cache(tmp_path), progress=False))
    victim = _square_cache(tmp_path).path(plan.shards()[1])
    damage(victim)
    calls = []

    def counting(shard, models, tick):
        calls.append(shard.index)
        yield from _squares(shard, models, tick)

    with caplog.at_level(logging.WARNING, logger="semwidget.distributed"):
        again = dict(map_shards(counting, plan.shards(), store=_square_cache(tmp_path), progress=False))
    assert calls == [1] and "is damaged" in caplog.text
    assert all(np.array_equal(first[s]["x"], again[s]["x"]) for s in plan.shards())
    assert _square_cache(tmp_path).get(plan.shards()[1]) is not None  # the file was replaced


def test_another_models_shards_are_refused_and_other_parameters_live_beside(tmp_path):
    list(map_shards(_squares, ShardPlan(0, 4, 4).shards(), store=_square_cache(tmp_path), progress=False))
    before = {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()}
    with pytest.raises(ModelMismatchError, match=r"holds 1 squares shards made by another model.*\"m1\".*\"m2\""):
        _square_cache(tmp_path, model="m2")
    assert {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()} == before
    other = _square_cache(tmp_path, params={"p": 2})
    list(map_shards(_squares, ShardPlan(0, 4, 4).shards(), store=other, progress=False))
    assert len(list((tmp_path / "c").iterdir())) == 2
    assert other.discard(0, 4) == 1 and len(list((tmp_path / "c").iterdir())) == 1


def test_an_error_in_a_shard_propagates_and_keeps_the_finished_ones(tmp_path):
    def failing(shard, models, tick):
        if shard.index == 1:
            raise RuntimeError("shard failed")
        yield from _squares(shard, models, tick)

    with pytest.raises(RuntimeError, match="shard failed"):
        list(map_shards(failing, ShardPlan(0, 12, 4).shards(), store=_square_cache(tmp_path), progress=False))
    assert len(list((tmp_path / "c").iterdir())) == 1


def test_shards_run_with_the_callers_torch_thread_count_in_any_thread():
    # MKL's matrix product sums in an order that depends on the thread count, so a worker
    # must run a shard with the caller's count to give the caller's bits.
    torch.manual_seed(0)
    layer, x = torch.nn.Linear(2048, 16), torch.randn(64, 2048)

    def work(shard, models, tick):
        with torch.no_grad():
            yield {"y": layer(x).numpy()}

    shard = Shard(0, 0, 1, 0)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ((_, here),) = map_shards(work, [shard], progress=False)
        assert torch.get_num_threads() == 2
        out = {}
        thread = threading.Thread(target=lambda: out.update(_runner.run_shard(work, shard, None, None, 2)))
        torch.set_num_threads(1)  # what a Dask worker starts with (OMP_NUM_THREADS=1)
        thread.start()
        thread.join()
        assert np.array_equal(here["y"], out["y"])
    finally:
        torch.set_num_threads(before)


# ---- specs: how workers rebuild models ------------------------------------------------------


def test_generators_travel_as_zoo_names_or_checked_files(tiny_dcgan, tmp_path):
    with pytest.raises(NotPortableError, match="not loaded by semwidget.load.*never from a pickle"):
        describe_generator(tiny_dcgan)
    path = tmp_path / "g.pt"
    torch.save({"netG_state_dict": DCGAN(z_dim=8, ngf=2).state_dict()}, path)
    g = semwidget.load(path, device="cpu")
    spec = describe_generator(g)
    assert spec.path == str(path.resolve()) and len(spec.sha256) == 64 and spec.zoo is None
    assert spec.build().fingerprint == g.fingerprint
    torch.save({"netG_state_dict": DCGAN(z_dim=8, ngf=2).state_dict()}, path)  # new weights
    with pytest.raises(ModelMismatchError, match="has sha256 .* on this worker"):
        spec.build()


def test_scorers_travel_as_recipes_parts_or_small_pickles():
    spec = describe_scorer(semwidget.scorers.as_scorer([Brightness(), FactorScorer()]))
    brightness, factors = spec.parts
    assert brightness.pickled is not None and factors.factory == "semwidget.world:FactorScorer" and not factors.kwargs
    rebuilt = spec.build()
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    assert rebuilt.identity == spec.identity and np.array_equal(rebuilt(images), spec.build()(images))
    lam = describe_scorer(FunctionScorer(lambda im: im.mean(dim=(1, 2, 3)), ["mean"])).build()
    assert lam(images).shape == (3, 1)

    class Holding(Scorer):
        names = ("x",)

        def __init__(self):
            self.net = torch.nn.Linear(2, 2)

    with pytest.raises(NotPortableError, match=r"holds a torch module \(Linear\) and has no recipe"):
        describe_scorer(Holding())


# ---- the client switch -----------------------------------------------------------------------


def test_client_without_dask_says_how_to_install_it(tiny_dcgan, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    for call in (
        lambda: semwidget.probe(tiny_dcgan, Brightness(), n_samples=2, client=object(), progress=False),
        lambda: semwidget.distributed(object()).__enter__(),
        lambda: semwidget.GANSpace(2, n_samples=10, progress=False).fit(tiny_dcgan, client=object()),
        lambda: semwidget.invert(tiny_dcgan, torch.zeros(1, 3, 16, 16), steps=1, client=object(), progress=False),
        lambda: semwidget.ContinuousFactor("shift_x", progress=False).fit(tiny_dcgan, client=object()),
    ):
        with pytest.raises(ImportError, match=r"pip install 'semwidget\[distributed\]'"):
            call()


def test_client_must_be_a_dask_client_and_the_block_sets_it():
    with pytest.raises(TypeError, match="takes a dask.distributed.Client"):
        semwidget.distributed("tcp://127.0.0.1:8786").__enter__()
    assert _client.resolve_client() is None
    with semwidget.distributed(None):
        assert _client.resolve_client() is None


def test_importing_semwidget_does_not_import_dask():
    code = "import sys, semwidget; sys.exit(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---- the calls, sharded ------------------------------------------------------------------------


def test_probe_scores_do_not_depend_on_the_shard_size(tiny_dcgan):
    args = dict(n_samples=37, batch_size=4, progress=False)
    runs = [semwidget.probe(tiny_dcgan, [Brightness(), Contrast()], shard_size=s, **args) for s in (4, 8, 40)]
    assert all(np.array_equal(r.scores, runs[0].scores) for r in runs)
    assert all(torch.equal(r.latents.ws, runs[0].latents.ws) for r in runs)


class CountingBrightness(Brightness):
    def __init__(self):
        self.sizes = []

    def score(self, images):
        self.sizes.append(len(images))
        return super().score(images)


def test_a_probe_resumes_from_shards_a_cluster_left_and_folds_them_into_its_cache(tiny_dcgan, tmp_path):
    path = tmp_path / "probe.npz"
    scorer = CountingBrightness()
    full = semwidget.probe(tiny_dcgan, scorer, n_samples=20, batch_size=4, shard_size=8, progress=False)
    # A cluster finished shard 1 (seeds 8..15) and nothing else, then stopped.
    meta = {
        "format": "semwidget-probe",
        "version": 1,
        "generator": {"name": tiny_dcgan.name, "fingerprint": tiny_dcgan.fingerprint},
        "scorers": {"identity": scorer.identity, "names": ["brightness"]},
        "seed": 0,
        "n_samples": 20,
        "truncation": None,
    }
    store = ProbeStore(path, meta, tiny_dcgan.w_dim)
    store.put(ShardPlan(0, 20, 8).shards()[1], {"w": full.latents.ws[8:16, 0].numpy(), "scores": full.scores[8:16]})
    assert not path.exists() and len(list((tmp_path / "probe.npz.shards").iterdir())) == 1
    scorer.sizes.clear()
    resumed = semwidget.probe(tiny_dcgan, scorer, n_samples=20, batch_size=4, shard_size=8, cache=path, progress=False)
    assert scorer.sizes == [4, 4, 4] and np.array_equal(resumed.scores, full.scores)
    assert not (tmp_path / "probe.npz.shards").exists()  # folded into probe.npz
    with np.load(path) as npz:
        assert npz["seeds"].tolist() == list(range(20))


def test_rescoring_and_attribute_change_resume_from_their_shard_cache(tiny_dcgan, tmp_path):
    d = semwidget.SeFa(n_directions=2).fit(tiny_dcgan).directions_
    args = dict(n_samples=30, batch_size=5, shard_size=10, progress=False)
    plain = semwidget.attribute_change(tiny_dcgan, d, Brightness(), **args)
    cached = semwidget.attribute_change(tiny_dcgan, d, Brightness(), cache=tmp_path / "c", **args)
    assert np.array_equal(plain.values, cached.values) and np.array_equal(plain.std, cached.std)
    assert len(list((tmp_path / "c").iterdir())) == 3
    r = semwidget.rescore(tiny_dcgan, d, Brightness(), cache=tmp_path / "c", **args)
    assert len(list((tmp_path / "c").iterdir())) == 6  # other jobs: other files, side by side
    assert np.array_equal(r.delta_all, semwidget.rescore(tiny_dcgan, d, Brightness(), **args).delta_all)
    calls = []
    scorer = FunctionScorer(lambda im: (calls.append(1), Brightness()(im))[1], ["brightness"])
    with pytest.raises(ModelMismatchError, match="made by another model or scorer set"):
        semwidget.attribute_change(tiny_dcgan, d, scorer, cache=tmp_path / "c", **args)
    assert calls == []
    # Given latents are hashed into the identity, and sent with their shards.
    latents = tiny_dcgan.sample(12, seed=4)
    a = semwidget.attribute_change(tiny_dcgan, d, Brightness(), latents=latents, cache=tmp_path / "c", **args)
    b = semwidget.attribute_change(tiny_dcgan, d, Brightness(), latents=latents, **args)
    assert np.array_equal(a.values, b.values) and a.n_samples == 12


def test_ganspace_reads_its_shard_cache_and_refuses_another_generators(tiny_dcgan, tiny_pggan, tmp_path, monkeypatch):
    args = dict(n_directions=3, n_samples=600, batch_size=100, shard_size=200, progress=False)
    first = semwidget.GANSpace(cache=str(tmp_path / "g"), **args).fit(tiny_dcgan)
    assert len(list((tmp_path / "g").iterdir())) == 3
    calls = []
    original = _ganspace_shards.Moments.__call__
    monkeypatch.setattr(_ganspace_shards.Moments, "__call__", lambda *a: (calls.append(1), original(*a))[1])
    again = semwidget.GANSpace(cache=str(tmp_path / "g"), **args).fit(tiny_dcgan)
    assert calls == [] and np.array_equal(first.directions_.vectors, again.directions_.vectors)
    plain = semwidget.GANSpace(**args).fit(tiny_dcgan)
    assert np.array_equal(first.explained_variance_, plain.explained_variance_)
    with pytest.raises(ModelMismatchError, match="ganspace shards made by another model"):
        semwidget.GANSpace(cache=str(tmp_path / "g"), **args).fit(tiny_pggan)


def test_ganspace_samples_each_from_its_own_seed(tiny_dcgan):
    finder = semwidget.GANSpace(n_directions=2, n_samples=50, batch_size=7, random_state=3, progress=False)
    w = torch.cat([b for b, _ in finder.sample_batches(tiny_dcgan)])
    alone, _ = _ganspace_shards.draw(tiny_dcgan, range(3 * 2**32 + 20, 3 * 2**32 + 21), None)
    assert torch.equal(w[20:21], alone)  # sample 20 is the same drawn alone or in its batch
    with pytest.raises(ValueError, match="random_state must be below 2\\*\\*32"):
        semwidget.GANSpace(n_directions=2, n_samples=10, random_state=2**32, progress=False).fit(tiny_dcgan)


def test_models_are_what_the_work_sees(tiny_dcgan):
    seen = []

    def work(shard, models, tick):
        seen.append(models)
        yield {"n": np.array([len(shard)])}

    list(map_shards(work, ShardPlan(0, 3, 2).shards(), generator=tiny_dcgan, progress=False))
    assert seen == [Models(tiny_dcgan, None)] * 2


@pytest.mark.faces
def test_face_scorers_travel_as_recipes():
    for module in ("onnxruntime", "dlib", "ai_edge_litert", "h5py"):
        pytest.importorskip(module)
    from semwidget.scorers import AgeGender, Expression, FaceMesh

    images = torch.rand(2, 3, 64, 64) * 2 - 1
    for scorer in (AgeGender(batch_size=8), FaceMesh(), Expression(box=(0.1, 0.1, 0.9, 0.9))):
        spec = describe_scorer(scorer)
        assert spec.factory == f"semwidget.scorers:{type(scorer).__name__}" and spec.pickled is None
        rebuilt = spec.build()
        assert rebuilt.identity == scorer.identity and np.array_equal(rebuilt(images), scorer(images))
