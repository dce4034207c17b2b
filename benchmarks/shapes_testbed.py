"""The testbed: how well SeFa, GANSpace and InterFaceGAN recover the world's true factors
on shapes-stylegan2, and at which layers each factor lives (each boundary crossed at one
layer alone).

    python benchmarks/shapes_testbed.py [--weights runs/vae/g_ema_fp16.pt] [--samples 60]

The defaults (60 samples per direction, top 6 directions) print the figures on the
model's card, semwidget/world/weights/shapes-stylegan2.md, in about 4½ minutes on two
CPU cores (269 s with other work running; most of it synthesis: 10 layer groups and
layers × up to 12 directions × 2 edits × 60 samples).

Every table reads the factors back from generated images with the shipped
FactorScorer. A direction's row gives each factor's mean |change| between the samples
moved by −α and by +α, in units of the change between two unrelated scenes
(semwidget.world._measure.random_pair_change), then the factor it changes most and
that factor's share of the row's total: 1.00 is a direction that isolates one factor.
Random directions in w come first, as the baseline: the predictor reads the soft
generated objects' shape and scale unsurely, so any edit moves those a little, and a
share is only worth what it beats there. Each finder's summary also gives, per
direction, its largest change relative to random directions' mean change of that factor
(random directions edited at all layers: for edits restricted to a group, a strict bar).

α is 2 standard deviations of the samples' w along each direction
(``Directions.with_measured_sigmas``, for every finder alike, so that they compare),
applied at the layers named.
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch

import semwidget
from semwidget.world import SHAPES
from semwidget.world._measure import FactorIsolation, factor_isolation, generated_scores
from semwidget.world._predictor import SCORE_NAMES, FactorScorer

#: Layer groups of the 10 layer-wise latents at 64×64 (rosinality's indices): 0 the 4×4
#: conv, 1–2 the 8×8 convs (1 also the 4×4 ToRGB), 3–4 16×16, 5–6 32×32, 7–8 64×64, 9 the
#: last ToRGB. An odd index k ≥ 3 also feeds the ToRGB of the resolution below.
GROUPS = {"all": list(range(10)), "early 0-2": [0, 1, 2], "middle 3-6": [3, 4, 5, 6], "late 7-9": [7, 8, 9]}
SIGMAS = 2.0


def isolation(g, directions, scorer, layers, n) -> FactorIsolation:
    return factor_isolation(
        g, directions, alpha=SIGMAS, scale="sigma", layers=layers, n_samples=n, seed=0, scorer=scorer
    )


def summary(name: str, iso: FactorIsolation, baseline: np.ndarray | None = None) -> str:
    """Mean and best share of the top factor; with ``baseline`` (each factor's mean change
    along random directions), also each direction's largest change relative to it."""
    line = f"{name}: mean share of the top factor {iso.share.mean():.2f}, best {iso.share.max():.2f}"
    if baseline is None:
        return line
    lift = iso.change / baseline
    best = [f"{iso.factors[j]} x{lift[i, j]:.1f}" for i, j in enumerate(lift.argmax(axis=1))]
    return f"{line}\n  largest change over random, per direction: {', '.join(best)}"


def interfacegan_boundaries(g, scorer, n: int) -> semwidget.Directions:
    """One InterFaceGAN boundary per factor (hues by cos 2πh, shape one class against the rest)."""
    latents = g.sample(n, seed=20_000)
    scores = generated_scores(g, scorer=scorer, batch_size=500, latents=latents)
    columns, labels = [], []
    for j, name in enumerate(SCORE_NAMES):
        if name == "shape":
            for c, shape in enumerate(SHAPES):
                columns.append((scores[:, j] == c).astype(float))
                labels.append(f"shape={shape}")
        elif name.endswith("_hue"):
            columns.append(np.cos(2 * np.pi * scores[:, j]))
            labels.append(name)
        else:
            columns.append(scores[:, j])
            labels.append(name)
    fit = semwidget.InterFaceGAN(ratio=0.1).fit(latents, np.stack(columns, axis=1), labels=labels)
    accuracy = ", ".join(f"{lab} {a:.2f}" for lab, a in zip(labels, fit.validation_accuracy_))
    print(f"InterFaceGAN on {n} samples (top/bottom 10 %), validation accuracy: {accuracy}\n")
    return fit.directions_


def per_layer_table(g, boundaries, scorer, n: int) -> str:
    """Each boundary's mean |change| of its *own* factor between −2σ and +2σ, edited at one
    layer alone (the factor_isolation measure, layer by layer). HiGAN sweeps layers the
    same way, but its re-scoring Δ (``semwidget.rescore``) is the mean positive part of a
    one-sided step of 2: a different number."""
    own = [SCORE_NAMES.index("shape" if lab.startswith("shape=") else lab) for lab in boundaries.labels]
    rows = []
    for layer in range(g.num_ws):
        iso = isolation(g, boundaries, scorer, [layer], n)
        rows.append(iso.change[np.arange(len(own)), own])
    matrix = np.array(rows).T  # (boundaries, layers)
    width = max(len(lab) for lab in boundaries.labels)
    lines = [f"{'boundary':<{width}} " + " ".join(f"{i:>5}" for i in range(g.num_ws)) + "   peak"]
    for lab, row in zip(boundaries.labels, matrix):
        lines.append(f"{lab:<{width}} " + " ".join(f"{v:5.2f}" for v in row) + f"   {int(row.argmax())}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", help="a g_ema_fp16.pt export instead of the bundled model")
    p.add_argument("--samples", type=int, default=60, help="samples per direction (default 60, as on the card)")
    p.add_argument("--directions", type=int, default=6, help="top directions per finder (default 6)")
    args = p.parse_args()
    t0 = time.monotonic()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    g = semwidget.load(args.weights or "shapes-stylegan2", device="cpu")
    scorer = FactorScorer()
    n, k = args.samples, args.directions
    print(f"{g.name}: {g.num_ws} layer-wise latents of {g.w_dim}; {n} samples per direction, alpha ±{SIGMAS} sigma\n")

    # What any change does: the factor predictor reads soft generated objects less surely
    # than renders, so even a direction with nothing to do with shape flips some shapes.
    rng = np.random.default_rng(0)
    random_dirs = semwidget.Directions(
        vectors=rng.standard_normal((k, g.w_dim)), scores=np.ones(k), space="w",
        labels=tuple(f"random {i}" for i in range(k)), model=g,
    ).with_measured_sigmas(g)  # fmt: skip
    iso = isolation(g, random_dirs, scorer, GROUPS["all"], n)
    print(f"== Baseline: random directions in w, edited at all layers ==\n{iso.table()}\n{summary('random', iso)}\n")
    # Each factor's mean change along random directions: what "moves a factor" must beat.
    base = iso.change.mean(axis=0)

    for group, layers in GROUPS.items():
        sefa = semwidget.SeFa(n_directions=k, layers=layers).fit(g).directions_.with_measured_sigmas(g)
        iso = isolation(g, sefa, scorer, layers, n)
        print(f"== SeFa on layers {group}, edited there ==\n{iso.table()}\n{summary('SeFa ' + group, iso, base)}\n")

    ganspace = semwidget.GANSpace(n_directions=k, n_samples=20_000).fit(g).directions_
    for group, layers in GROUPS.items():
        iso = isolation(g, ganspace, scorer, layers, n)
        print(
            f"== GANSpace (PCA of w), edited at {group} ==\n{iso.table()}\n{summary('GANSpace ' + group, iso, base)}\n"
        )

    boundaries = interfacegan_boundaries(g, scorer, 4000).with_measured_sigmas(g)
    iso = isolation(g, boundaries, scorer, GROUPS["all"], n)
    print(f"== InterFaceGAN boundaries, edited at all layers ==\n{iso.table()}")
    target = ["shape" if lab.startswith("shape=") else lab for lab in boundaries.labels]
    hits = sum(t == top for t, top in zip(target, iso.top))
    print(f"{summary('InterFaceGAN', iso, base)}\n  {hits}/{len(target)} change their own factor most\n")

    print(
        f"== Per layer: each boundary's mean |change| of its own factor between -{SIGMAS:g} and +{SIGMAS:g} sigma, "
        "edited at one layer alone (not HiGAN's re-scoring delta) =="
    )
    print(per_layer_table(g, boundaries, scorer, n))
    print(f"\n{time.monotonic() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
