"""Does shapes-stylegan2 reproduce the world? Factor distributions, shape coverage, samples.

    python benchmarks/shapes_quality.py [--weights runs/vae/g_ema_fp16.pt] [--grid samples.png]

The shipped FactorScorer reads the nine factors back from N generated images and from
N real renders; for each factor the table gives the total-variation distance between
the two histograms (20 bins over the factor's range; the four classes for shape), next
to the same distance between two independent sets of N real renders, the floor that
sampling noise alone reaches. "Every shape appears" is the share of each predicted
shape among the samples (the world draws each with probability 0.25).
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch

import semwidget
from semwidget.world import SHAPES
from semwidget.world._measure import generated_scores, histogram_distances, real_scores
from semwidget.world._predictor import SCORE_NAMES, FactorScorer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", help="a g_ema_fp16.pt export instead of the bundled model")
    p.add_argument("-n", type=int, default=5000, help="images on each side (default 5000)")
    p.add_argument("--grid", help="also save a grid of 64 samples (seeds 0..63) to this PNG")
    args = p.parse_args()
    t0 = time.monotonic()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    g = semwidget.load(args.weights or "shapes-stylegan2", device="cpu")
    scorer = FactorScorer()
    n = args.n
    real = real_scores(n, seed=0, scorer=scorer)
    floor = histogram_distances(real, real_scores(n, seed=1, scorer=scorer))
    fake = generated_scores(g, n, seed=0, scorer=scorer)
    dist = histogram_distances(real, fake)
    print(f"\n{g.name}: {n} samples against {n} renders; total-variation distance per factor\n")
    print(f"{'factor':<12} {'generated':>9} {'real/real':>9}")
    for name in SCORE_NAMES:
        print(f"{name:<12} {dist[name]:9.3f} {floor[name]:9.3f}")
    print(f"{'mean':<12} {np.mean(list(dist.values())):9.3f} {np.mean(list(floor.values())):9.3f}")
    shares = np.bincount(fake[:, SCORE_NAMES.index("shape")].astype(int), minlength=len(SHAPES)) / n
    print("\nshape shares among the samples: " + ", ".join(f"{s} {v:.3f}" for s, v in zip(SHAPES, shares)))
    if args.grid:
        images = g.synthesize(g.sample(64, seed=0))
        semwidget.image_grid(images, ncols=8).save(args.grid)
        print(f"wrote {args.grid}")
    print(f"\n{time.monotonic() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
