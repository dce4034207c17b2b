"""Continuous factors (issue 14) against the best-matching SeFa, GANSpace and InterFaceGAN directions.

    python benchmarks/continuous_factors.py [--threads 1] [--only shapes-stylegan2|digiface-dcgan]
        [--transforms shift_x,zoom] [--test-samples 32] [--select-samples 12] [--full]
        [--cache runs/continuous-factors] [--tiny]

For each transformation (shift_x, shift_y, zoom, rotation, brightness) on
``shapes-stylegan2`` and ``digiface-dcgan``, a :class:`semwidget.ContinuousFactor` is
fitted and compared, on held-out seeds, with the direction of each baseline finder that
performs the transformation best:

* **Candidates.** SeFa's top 10 directions; GANSpace's top 10 (on w for the StyleGAN; on
  the DCGAN, whose z is an isotropic Gaussian, PCA of the first feature layer ``main.2``
  regressed back to z, the paper's recipe, on 2,048 samples); InterFaceGAN boundaries
  (ratio 0.1, 2,000 samples) fitted to labels: on shapes-stylegan2 the world predictor's
  continuous factors (horizon, view, scale, position, lighting); on digiface-dcgan the
  face mesh's geometry (centre x, y, inter-ocular distance, roll of the eye line) and the
  mean luma. These labels are the quantities the domain measures below read, which
  favours InterFaceGAN in those columns.
* **Best match, chosen on training seeds** (``--select-samples`` seeds from 6,000,000,
  never the test seeds): every candidate is stepped by α ∈ {−4, −3.5, …, 4} σ (its
  measured spread); for each amount t of the factor's curriculum (t_max/3, 2t_max/3,
  t_max, both signs) the α minimising the blurred masked error against T_t(G(z)) (the
  fit's own loss, σ = 3 px; ratio of means over the seeds, refined by a parabola) is
  taken; the candidate's sign is the one that makes α grow with t, its map t → α the
  monotone piecewise-linear fit through those α (the same kind of g the factor has), and
  the candidate whose monotone map gives the lowest mean error ratio over those t wins.
  The baselines are then edited by amounts t exactly like the factor.
* **Test** (``--test-samples`` seeds from 7,000,000, used by nothing else):
  :func:`semwidget.measure_transform` at t = ±t_max·{0.2, 0.4, 0.6, 0.8, 1} (and ±0.1
  for the shifts): Pearson's r between requested t and the measured change (pooled over
  samples and amounts) by registration (the t̂ whose T_t̂(G(z)) matches the edit best),
  by the domain measure (world predictor / face mesh) and by spectral-residual saliency;
  the range of t reached (registration's mean t̂ at −t_max and +t_max); leakage: the
  mean |change| of the domain measure's other columns at ±t_max, in units of the change
  between two unrelated samples (1: as different as a random pair); and the error ratio
  (blurred masked error of G(edit(z, t)) against T_t(G(z)) over that of G(z)).
  The error ratio is reported both as a *ratio of means* (mean error over the samples
  divided by the mean unedited error: ``TransformMeasurement.error_ratio``) and as a
  *mean of ratios* (each sample's ratio, averaged), for the issue's aim: ≤ 0.6 for
  shift_x at t = ±0.1 and ±0.15 on shapes-stylegan2.

Fit time: ``ContinuousFactor.seconds_`` from a fresh fit (the trajectories are cached
under ``--cache``, so a rerun only refits v and g; the first fit's time is kept beside
the cache and reported with "cached"); for the baselines the finder's fit (with the
labelling for InterFaceGAN) and, separately, the choosing (shared by all transforms).

Settings and cost. Default: the factor at the estimator's defaults on both models (32
trajectories, 3 targets per side, 10 steps per target), 32 test seeds, 12 choosing
seeds. With one torch thread on two cores shared with other work, shapes-stylegan2 took
21 min (508 s CPU; load average 7-10) and digiface-dcgan 7.5 min (423 s CPU; load 2-4;
its factors fit in 15-20 s each), so 16 min of CPU in all, about 35 min of wall time on
a busy machine; the model card of shapes-stylegan2 has the measured run. ``--full``
takes 48 test seeds.
``--ceiling`` prints only what the measures read on the exact
T_t(G(z)) (the best an edit could score, and which measures can read a transformation at
all: the world predictor reads scenes, and a zoomed picture is no scene of the world).
``--tiny`` (4 trajectories, 1 target per side, 2 steps, 4 test
seeds, 3 candidates per finder) only checks that the script runs, in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch

import semwidget
from semwidget.continuous import TRANSFORMS, ContinuousFactor, measure_transform
from semwidget.continuous._monotone import MonotoneMap, fit_monotone
from semwidget.continuous._trajectories import BlurredMaskedMSE
from semwidget.directions import Directions

MODELS = ("shapes-stylegan2", "digiface-dcgan")
#: Seeds: the finders' labels, the choosing of the baselines, the test. The factor's
#: trajectories start from seeds 0 …; measured sigmas use 10,000 ….
LABEL_SEED, SELECT_SEED, TEST_SEED = 5_000_000, 6_000_000, 7_000_000
ALPHAS = np.linspace(-4, 4, 17)  # in σ units; includes 0 (doing nothing)
SIGMA = 3.0
#: The domain measure's column that follows each transformation (None: no such column).
PRIMARY = {
    "shapes-stylegan2": {"shift_x": "position", "shift_y": "horizon", "zoom": "scale", "brightness": "lighting"},
    "digiface-dcgan": {"shift_x": "x", "shift_y": "y", "zoom": "zoom", "rotation": "roll"},
}
WORLD_LABELS = ("horizon", "view", "scale", "position", "lighting")


# ---- the domain reader: labels for InterFaceGAN and the leakage columns --------------------


class WorldReader:
    """The world predictor's continuous factors (units: change between two unrelated scenes)."""

    def __init__(self) -> None:
        from semwidget.world import FactorScorer
        from semwidget.world._measure import factor_change, random_pair_change
        from semwidget.world._predictor import SCORE_NAMES

        self.scorer, self._change = FactorScorer(), factor_change
        keep = [j for j, n in enumerate(SCORE_NAMES) if n != "shape"]
        self.keep, self.columns = keep, tuple(SCORE_NAMES[j] for j in keep)
        self.unit = random_pair_change()[keep]

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        return self.scorer(images)

    def labels(self, scores: np.ndarray) -> tuple[np.ndarray, list[str]]:
        cols = [list(self.scorer.names).index(n) for n in WORLD_LABELS]
        return scores[:, cols], list(WORLD_LABELS)

    def change(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        return np.abs(self._change(before, after)[:, self.keep]) / self.unit


class FaceReader:
    """Face-mesh centre, inter-ocular distance, roll and the mean luma (units: mean |Δ|
    between two different test samples, measured on the test originals)."""

    columns = ("x", "y", "zoom", "roll", "brightness")

    def __init__(self, threads: int) -> None:
        from semwidget.continuous._measure import _Face
        from semwidget.scorers import Brightness, FaceMesh

        self.face = _Face()
        self.face.mesh = FaceMesh(num_threads=threads)
        self.brightness = Brightness()
        self.unit: np.ndarray | None = None

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        out = np.concatenate([self.face(images), self.brightness(images)], axis=1)
        out[:, 2] = np.log(out[:, 2])  # size as a log, so zooms in and out count alike
        return out

    def labels(self, scores: np.ndarray) -> tuple[np.ndarray, list[str]]:
        return scores, list(self.columns)

    def change(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        d = after - before
        d[:, 3] = (d[:, 3] + 2) % 4 - 2
        assert self.unit is not None
        return np.abs(d) / self.unit

    def set_unit(self, originals: np.ndarray) -> None:
        i, j = np.triu_indices(len(originals), 1)
        d = np.abs(originals[i] - originals[j])
        d[:, 3] = np.abs((originals[i, 3] - originals[j, 3] + 2) % 4 - 2)
        self.unit = np.nanmean(d, axis=0)


# ---- candidates and their choosing --------------------------------------------------------


@dataclass
class Baseline:
    method: str
    candidates: Directions
    seconds: float
    choose_seconds: float = 0.0
    # errors[transform][t index] of shape (k candidates, len(ALPHAS)): mean error over the seeds
    errors: dict[str, np.ndarray] = field(default_factory=dict)


def finders(g: semwidget.Generator, reader, args) -> list[Baseline]:
    k = 3 if args.tiny else 10
    out = []
    start = time.perf_counter()
    sefa = semwidget.SeFa(n_directions=k).fit(g).directions_
    out.append(Baseline("SeFa", sefa, time.perf_counter() - start))
    start = time.perf_counter()
    if g.latent_space == "w":
        gs = semwidget.GANSpace(n_directions=k, n_samples=2_000 if args.tiny else 100_000, progress=False)
    else:
        n = 256 if args.tiny else 2048
        gs = semwidget.GANSpace(n_directions=k, n_samples=n, feature_layer="main.2", batch_size=256, progress=False)
    out.append(Baseline("GANSpace", gs.fit(g).directions_, time.perf_counter() - start))
    start = time.perf_counter()
    latents = g.sample(200 if args.tiny else 2000, seed=LABEL_SEED)
    scores = np.concatenate([reader(x) for x in torch.split(g.synthesize(latents), 256)])
    y, names = reader.labels(scores)
    ok = np.isfinite(y).all(axis=1)
    fit = semwidget.InterFaceGAN(ratio=0.1).fit(latents[np.flatnonzero(ok).tolist()], y[ok], labels=names)
    print(
        f"InterFaceGAN on {int(ok.sum())} labelled samples of {len(ok)}; validation accuracy "
        + ", ".join(f"{n} {a:.2f}" for n, a in zip(names, fit.validation_accuracy_)),
        flush=True,
    )
    out.append(Baseline("InterFaceGAN", fit.directions_, time.perf_counter() - start))
    for b in out:
        b.candidates = b.candidates.with_measured_sigmas(g)
    return out


def curriculum(transform: str) -> np.ndarray:
    t_max = TRANSFORMS[transform].default_t_max
    return np.array([-1, -2 / 3, -1 / 3, 1 / 3, 2 / 3, 1]) * t_max


def choose_errors(g: semwidget.Generator, baselines: list[Baseline], transforms: list[str], n: int) -> np.ndarray:
    """Fill each baseline's ``errors``; return the unedited error per transform and t, (len, 6)."""
    loss = BlurredMaskedMSE(SIGMA)
    latents = g.sample(n, seed=SELECT_SEED)
    originals = g.synthesize(latents)
    targets = {tf: [TRANSFORMS[tf](originals, float(t)) for t in curriculum(tf)] for tf in transforms}
    base = np.array([[float(loss(originals, x, m).mean()) for x, m in targets[tf]] for tf in transforms])
    for b in baselines:
        start = time.perf_counter()
        b.errors = {tf: np.zeros((6, len(b.candidates), len(ALPHAS))) for tf in transforms}
        for c in range(len(b.candidates)):
            d = b.candidates[c]
            for a, alpha in enumerate(ALPHAS):
                x = originals if alpha == 0 else g.synthesize(semwidget.edit(latents, d, float(alpha), scale="sigma"))
                for tf in transforms:
                    for j, (target, mask) in enumerate(targets[tf]):
                        b.errors[tf][j, c, a] = float(loss(x, target, mask).mean())
        b.choose_seconds = time.perf_counter() - start
    return base


def refine(errors: np.ndarray) -> tuple[float, float]:
    """The grid minimum of ``errors`` over ALPHAS, refined by a parabola: (α in σ, error)."""
    i = int(np.argmin(errors))
    a, e = float(ALPHAS[i]), float(errors[i])
    if 0 < i < len(ALPHAS) - 1:
        e0, e1, e2 = errors[i - 1], errors[i], errors[i + 1]
        curve = e0 - 2 * e1 + e2
        if curve > 0:
            shift = 0.5 * (e0 - e2) / curve
            a += shift * float(ALPHAS[1] - ALPHAS[0])
            e = float(e1 - 0.25 * (e0 - e2) * shift)
    return a, e


def monotone_choice(errors: np.ndarray, base: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray, float]:
    """One candidate's errors (len(t), len(ALPHAS)): its sign (+1/-1), the steps in σ (signed
    to grow with t) of the monotone map through each t's best α, and the mean error ratio
    over t at those steps (what the edit will do, not each t's unconstrained best)."""
    alpha = np.array([refine(errors[j])[0] for j in range(len(t))])
    sign = 1.0 if float(t @ alpha) >= 0 else -1.0
    steps = fit_monotone(t, sign * alpha)(t)
    ratio = [np.interp(sign * a, ALPHAS, errors[j]) / base[j] for j, a in enumerate(steps)]
    return sign, steps, float(np.mean(ratio))


def best_match(b: Baseline, transform: str, base: np.ndarray) -> tuple[ContinuousFactor, str, float]:
    """The candidate that performs ``transform`` best on the choosing seeds, as a factor-like
    object (direction and monotone t → step) that measure_transform accepts."""
    errors = b.errors[transform]  # (len(t), k, alphas)
    t = curriculum(transform)
    choices = [monotone_choice(errors[:, c], base, t) for c in range(errors.shape[1])]
    c = int(np.argmin([ch[2] for ch in choices]))
    sign, steps, score = choices[c]
    d = b.candidates[c]
    sigma = float(d.sigmas[0]) if d.sigmas is not None else 1.0
    g_map = fit_monotone(t, steps * sigma)  # raw units along the (possibly flipped) unit vector
    factor = ContinuousFactor(transform)
    factor.direction_, factor.g_ = replace(d, vectors=sign * d.vectors), MonotoneMap(g_map.t, g_map.step)
    label = f"{d.labels[0] if d.labels else c}{'' if sign > 0 else ' (−)'}"
    return factor, label, score


# ---- the factor -------------------------------------------------------------------------


def fit_factor(g: semwidget.Generator, transform: str, args) -> tuple[ContinuousFactor, str]:
    n = args.n_trajectories[g.name]
    params: dict = {"n_trajectories": n}
    if args.tiny:
        params.update(t_steps=1, steps_per_target=2)
    tag = f"{transform}-n{n}" + ("-tiny" if args.tiny else "")
    cache = Path(args.cache) / g.name / tag
    record = cache.with_name(tag + ".seconds.json")
    fresh = not cache.exists()
    cf = ContinuousFactor(transform, cache=cache, progress=False, **params).fit(g)
    if fresh or not record.exists():
        record.write_text(json.dumps({"seconds": cf.seconds_, "threads": args.threads, "load": os.getloadavg()}))
        return cf, f"{cf.seconds_:.0f}"
    first = json.loads(record.read_text())["seconds"]
    return cf, f"{first:.0f} (cached)"


# ---- measuring -----------------------------------------------------------------------------


def amounts(transform: str) -> np.ndarray:
    t_max = TRANSFORMS[transform].default_t_max
    a = t_max * np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    if transform.startswith("shift"):
        a = np.append(a, 0.1)
    a = np.unique(np.round(a, 6))
    return np.concatenate([-a[::-1], a])


@dataclass
class Result:
    model: str
    transform: str
    method: str
    chosen: str
    r_reg: float
    r_dom: float
    r_sal: float
    reached: tuple[float, float]
    slope: float
    leakage: float
    ratio_ends: tuple[float, float]
    fit: str
    t: np.ndarray
    ratio_of_means: np.ndarray
    mean_of_ratios: np.ndarray

    def line(self) -> str:
        def f(x: float) -> str:
            return "—" if not math.isfinite(x) else f"{x:.2f}"

        return (
            f"| {self.transform} | {self.method} | {self.chosen} | {f(self.r_reg)} | {f(self.r_dom)} | "
            f"{f(self.r_sal)} | {self.reached[0]:+.3f} … {self.reached[1]:+.3f} | {f(self.slope)} | "
            f"{f(self.leakage)} | {f(self.ratio_ends[0])} / {f(self.ratio_ends[1])} | {self.fit} |"
        )


HEADER = (
    "| transform | method | direction | r (registration) | r ({dom}) | r (saliency) | t reached at ∓t_max | "
    "slope | leakage | error ratio at −/+t_max | fit s |\n|---|---|---|---:|---:|---:|---|---:|---:|---|---|"
)


def measure(g, factor, transform, method, chosen, fit, reader, args, dom: str) -> Result:
    t = amounts(transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # edge amounts within 1e-12 of the range
        m = measure_transform(
            g,
            factor,
            t=t,
            n_samples=args.test_samples,
            seed=TEST_SEED,
            measures=("registration", "saliency", dom),
            sigma=SIGMA,
            progress=False,
        )
        # Leakage: the domain reader at ±t_max, every column but the primary one.
        latents = g.sample(args.test_samples, seed=TEST_SEED)
        before = reader(g.synthesize(latents))
        far = [float(t[0]), float(t[-1])]
        after = [reader(g.synthesize(factor.edit(latents, a))) for a in far]
    primary = PRIMARY[g.name].get(transform)
    others = [j for j, c in enumerate(reader.columns) if c != primary]
    leak = float(np.nanmean(np.concatenate([reader.change(before, a)[:, others] for a in after])))
    reg = m.measures["registration"]
    ends = reg.change[:, [0, -1], 0]
    r_dom = m.measures[dom].r if m.measures[dom].primary is not None else float("nan")
    sal = m.measures["saliency"]
    assert m.error_ratio is not None and m.sample_error_ratio is not None
    return Result(
        g.name,
        transform,
        method,
        chosen,
        reg.r,
        r_dom,
        sal.r if sal.primary is not None else float("nan"),
        (float(np.nanmean(ends[:, 0])), float(np.nanmean(ends[:, 1]))),
        reg.slope,
        leak,
        (float(m.error_ratio[0]), float(m.error_ratio[-1])),
        fit,
        m.t,
        m.error_ratio,
        np.nanmean(m.sample_error_ratio, axis=0),
    )


def run_model(name: str, args) -> list[Result]:
    g = semwidget.load(name, device="cpu")
    dom = "world" if name == "shapes-stylegan2" else "face"
    reader = WorldReader() if dom == "world" else FaceReader(args.threads)
    if isinstance(reader, FaceReader):
        reader.set_unit(reader(g.synthesize(g.sample(args.test_samples, seed=TEST_SEED))))
    print(f"\n## {name}\n", flush=True)
    start = time.perf_counter()
    baselines = finders(g, reader, args)
    base = choose_errors(g, baselines, args.transforms, args.select_samples)
    print("| finder | candidates | fit s (with labelling) | choosing s (all transforms) |\n|---|---:|---:|---:|")
    for b in baselines:
        print(f"| {b.method} | {len(b.candidates)} | {b.seconds:.1f} | {b.choose_seconds:.0f} |")
    print(f"\n(baselines ready after {time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f})\n")
    print(HEADER.format(dom="world predictor" if dom == "world" else "face mesh"), flush=True)
    results = []
    for tf in args.transforms:
        try:
            cf, fit = fit_factor(g, tf, args)
        except ValueError as error:  # e.g. darkening a nearly black image leaves nothing to compare
            print(f"| {tf} | **ContinuousFactor** | fit refused: {error} | | | | | | | | |", flush=True)
        else:
            kept = int(cf.trajectories_.kept.sum())
            results.append(measure(g, cf, tf, "**ContinuousFactor**", f"{kept} kept", fit, reader, args, dom))
            print(results[-1].line(), flush=True)
        for b in baselines:
            factor, label, score = best_match(b, tf, base[args.transforms.index(tf)])
            label = f"{label} (train ratio {score:.2f})"
            results.append(measure(g, factor, tf, b.method, label, "see above", reader, args, dom))
            print(results[-1].line(), flush=True)
    return results


def aim_table(results: list[Result]) -> None:
    rows = [r for r in results if r.transform == "shift_x"]
    if not rows:
        return
    print(
        "\nshift_x error ratio on the test seeds: blurred masked error of G(edit(z, t)) against T_t(G(z)) over "
        "that of G(z), as ratio of means / mean of ratios (aim on shapes-stylegan2: ≤ 0.6)"
    )
    print("| model | method | t = −0.15 | −0.1 | +0.1 | +0.15 |\n|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for t in (-0.15, -0.1, 0.1, 0.15):
            j = int(np.argmin(np.abs(r.t - t)))
            cells.append(f"{r.ratio_of_means[j]:.2f} / {r.mean_of_ratios[j]:.2f}")
        print(f"| {r.model} | {r.method} | " + " | ".join(cells) + " |")


def ceiling(name: str, args) -> None:
    """The measures read on the exact transformation T_t(G(z)) of the test seeds (vacated
    pixels: the border repeated): the most an edit could score on each, and a check of
    which measures can read a transformation at all."""
    from semwidget.continuous import _measure as M

    g = semwidget.load(name, device="cpu")
    dom = "world" if name == "shapes-stylegan2" else "face"
    reader = WorldReader() if dom == "world" else FaceReader(args.threads)
    domain = M._World() if dom == "world" else M._Face()
    x = g.synthesize(g.sample(args.test_samples, seed=TEST_SEED))
    before = reader(x)
    if isinstance(reader, FaceReader):
        reader.set_unit(before)
    print(f"\n{name}: the measures on T_t(G(z)) itself ({args.test_samples} test seeds)\n")
    print(
        f"| transform | r ({dom}) | slope ({dom}) | r (saliency) | slope (saliency) | leakage ({dom}) |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for tf in args.transforms:
        t = amounts(tf)
        images = torch.stack([TRANSFORMS[tf](x, float(a))[0] for a in t], dim=1)
        flat = images.reshape(-1, *images.shape[2:])
        n, k = images.shape[:2]
        d_change = domain.change(domain(x)[:, None], domain(flat).reshape(n, k, -1))
        d = M._summary(dom, domain.columns, d_change, t, M.PRIMARY[dom].get(tf))
        s_change = M._saliency_change(M._saliency(x)[:, None], M._saliency(flat).reshape(n, k, -1))
        sal = M._summary("saliency", ("x", "y", "zoom", "angle", "brightness"), s_change, t, M.PRIMARY["saliency"][tf])
        primary = PRIMARY[name].get(tf)
        others = [j for j, c in enumerate(reader.columns) if c != primary]
        leak = np.nanmean(np.concatenate([reader.change(before, reader(images[:, j]))[:, others] for j in (0, k - 1)]))
        cells = [d.r, d.slope, sal.r, sal.slope, leak]
        print(f"| {tf} | " + " | ".join("—" if not math.isfinite(v) else f"{v:.2f}" for v in cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--only", choices=MODELS, help="run one model only")
    parser.add_argument("--transforms", default="shift_x,shift_y,zoom,rotation,brightness")
    parser.add_argument("--test-samples", type=int, help="held-out test seeds (default 32; --full 48)")
    parser.add_argument("--select-samples", type=int, default=12, help="seeds the baselines are chosen on")
    parser.add_argument("--full", action="store_true", help="48 test seeds")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: tiny fits, few seeds, few candidates")
    parser.add_argument("--cache", default="runs/continuous-factors", help="trajectory cache folder")
    parser.add_argument(
        "--ceiling", action="store_true", help="only the measures on the exact T_t(G(z)) (a minute or two)"
    )
    args = parser.parse_args()
    args.transforms = [t.strip() for t in args.transforms.split(",") if t.strip()]
    bad = [t for t in args.transforms if t not in TRANSFORMS]
    if bad:
        parser.error(f"unknown transforms {bad}; allowed: {sorted(TRANSFORMS)}")
    default_n = ContinuousFactor("shift_x").n_trajectories
    if args.tiny:
        args.n_trajectories = dict.fromkeys(MODELS, 4)
        args.test_samples = args.test_samples or 4
        args.select_samples = min(args.select_samples, 4)
    else:
        args.n_trajectories = dict.fromkeys(MODELS, default_n)
        args.test_samples = args.test_samples or (48 if args.full else 32)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores; trajectories {args.n_trajectories}, {args.test_samples} test seeds, "
        f"{args.select_samples} choosing seeds; {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    start = time.perf_counter()
    if args.ceiling:
        for name in MODELS:
            if args.only in (None, name):
                ceiling(name, args)
        return
    results = []
    for name in MODELS:
        if args.only in (None, name):
            results += run_model(name, args)
    aim_table(results)
    print(f"\ntotal {time.perf_counter() - start:.0f} s, load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
