"""Face boundaries on digiface-dcgan: how good InterFaceGAN's age, male, smile and yaw
boundaries are, and how much conditional editing disentangles them. CPU only.

1. Probe ``--n`` samples (seeds 0 … n−1) with AgeGender + FaceMesh and report the
   throughput (synthesis + scoring, images per second).
2. Fit one boundary per attribute (top and bottom ``--ratio`` of the scores) and print
   its SVM validation accuracy and the cosine similarity between boundaries.
3. On ``--held-out`` seeds the probe never saw, move every sample to α = −3 and α = +3
   along each boundary, plain and conditioned on the other three (``project_out``),
   and print the mean change of every attribute from the original samples. The last
   columns put the changes on one scale, in units of each attribute's standard
   deviation over the held-out samples: the boundary's own attribute, and the mean
   |change| of the other three boundary attributes (lower is more disentangled).
   Rows "random" are the same figures for random unit directions, the baseline.

    pip install 'semwidget[faces]'
    python benchmarks/face_boundaries.py            # about 3.5 minutes on 2 CPU cores
    python benchmarks/face_boundaries.py --n 2000   # quicker, noisier
"""

from __future__ import annotations

import argparse
import os
import time

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch

import semwidget
from semwidget.scorers import AgeGender, FaceMesh

ATTRIBUTES = ("age", "male", "smile", "yaw")
HELD_OUT_SEED = 1_000_000  # far above any probe seed
ALPHAS = (-3.0, 3.0)
N_RANDOM = 4


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=12000, help="probe samples (default 12000)")
    parser.add_argument("--ratio", type=float, default=0.02, help="InterFaceGAN's share per side (default 0.02)")
    parser.add_argument("--held-out", type=int, default=200, help="held-out samples for the edits (default 200)")
    args = parser.parse_args()
    start_all = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch CPU threads, {os.cpu_count()} CPUs")

    g = semwidget.load("digiface-dcgan", device="cpu")
    scorers = [AgeGender(), FaceMesh()]
    g.synthesize(g.sample(64, seed=HELD_OUT_SEED - 64))  # warm up
    scorers[0](g.synthesize(g.sample(8, seed=HELD_OUT_SEED - 8)))
    scorers[1](g.synthesize(g.sample(8, seed=HELD_OUT_SEED - 8)))

    # ---- 1. probe ---------------------------------------------------------------------
    start = time.perf_counter()
    result = semwidget.probe(g, scorers, n_samples=args.n, seed=0, batch_size=64, progress=False)
    probe_s = time.perf_counter() - start
    print(f"\nprobe: n = {args.n} samples (seeds 0..{args.n - 1}), AgeGender + FaceMesh, batch 64")
    print(
        f"  {probe_s:.1f} s, {args.n / probe_s:.1f} images/s synthesized and scored "
        f"({probe_s / args.n * 1000:.1f} ms/image)"
    )

    # ---- 2. boundaries ----------------------------------------------------------------
    scores = np.stack([result.column(a) for a in ATTRIBUTES], axis=1)
    finder = semwidget.InterFaceGAN(ratio=args.ratio).fit(result.latents, scores, labels=ATTRIBUTES)
    plain = finder.directions_
    chosen = int(args.n * args.ratio)
    n_train = int(chosen * finder.split)
    print(
        f"\nInterFaceGAN, ratio {args.ratio}: {chosen} samples per side, "
        f"{n_train} train + {chosen - n_train} validation per side"
    )
    rows = []
    for j, a in enumerate(ATTRIBUTES):
        s = np.sort(scores[:, j])
        rows.append([a, f"{finder.validation_accuracy_[j]:.3f}", f"<= {s[chosen - 1]:.3g}", f">= {s[-chosen]:.3g}"])
    print(table(["boundary", "val. accuracy", "negatives", "positives"], rows))
    similarity = semwidget.direction_similarity(plain)
    print("\ncosine similarity between boundaries")
    print(table(["", *ATTRIBUTES], [[a, *(f"{v:+.3f}" for v in similarity[i])] for i, a in enumerate(ATTRIBUTES)]))

    conditioned = semwidget.Directions.concat(
        [semwidget.project_out(plain[i], plain[[j for j in range(4) if j != i]]) for i in range(4)]
    )
    rng = np.random.default_rng(0)
    random = semwidget.Directions(
        vectors=rng.standard_normal((N_RANDOM, g.w_dim)),
        scores=np.zeros(N_RANDOM),
        space=g.latent_space,
        labels=tuple(f"random {i}" for i in range(N_RANDOM)),
        model=g,
    )

    # ---- 3. edits on held-out seeds ---------------------------------------------------
    held = g.sample(args.held_out, seed=HELD_OUT_SEED)
    originals = semwidget.probe(g, scorers, n_samples=args.held_out, seed=HELD_OUT_SEED, progress=False).scores
    sigma = originals.std(axis=0)
    names = list(result.names)
    col = {a: names.index(a) for a in ATTRIBUTES}
    print(
        f"\nheld-out: {args.held_out} samples (seeds {HELD_OUT_SEED}..{HELD_OUT_SEED + args.held_out - 1}); "
        "their attribute spread sigma: " + ", ".join(f"{a} {sigma[col[a]]:.3g}" for a in ATTRIBUTES)
    )
    for alpha in ALPHAS:
        change = semwidget.attribute_change(
            g, [plain, conditioned, random], scorers, alpha=alpha, latents=held, progress=False
        )
        assert list(change.attributes) == names
        sem = change.std / np.sqrt(change.n_samples)
        print(f"\nmean change from the original samples at alpha = {alpha:+g} (own attribute ± standard error)")
        header = ["direction", *names, "own/sigma", "others |d|/sigma"]
        rows = []
        for i, label in enumerate(change.labels):
            own = ATTRIBUTES[i % 4] if i < 8 else None
            cells = [
                f"{change.values[i, k]:+.3f}" + (f" ± {sem[i, k]:.3f}" if own == n else "") for k, n in enumerate(names)
            ]
            others = [a for a in ATTRIBUTES if a != own]
            rel_others = np.mean([abs(change.values[i, col[a]]) / sigma[col[a]] for a in others])
            rel_own = f"{change.values[i, col[own]] / sigma[col[own]]:+.3f}" if own else "-"
            name = label if i < 4 else (f"{ATTRIBUTES[i - 4]} | others" if i < 8 else label)
            rows.append([name, *cells, rel_own, f"{rel_others:.3f}"])
            if i in (3, 7):
                rows.append([""] * len(header))
        print(table(header, rows))
    print("(for a random direction, 'others' averages all four boundary attributes)")

    print(f"\ntotal {time.perf_counter() - start_all:.0f} s, peak memory {_common.peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
