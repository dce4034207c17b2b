"""HiGAN re-scoring speed on the real digiface DCGAN.

Five SeFa directions, Brightness and Contrast, 200 samples, step 2. On a
single-input generator a latent direction acts at z only, so "all layers" and
the z column are one edit: 200 × (1 unedited + 5 edited) = 1200 images are
synthesized and scored. The time is the median of 3 runs after a small warm-up.

    python benchmarks/rescore.py
"""

from __future__ import annotations

import _common
import torch

import semwidget
from semwidget.scorers import Brightness, Contrast


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    g = semwidget.load("digiface-dcgan", device="cpu")
    directions = semwidget.SeFa(n_directions=5).fit(g).directions_
    scorers = [Brightness(), Contrast()]
    n = 200
    images = n * (1 + len(directions))

    def run() -> semwidget.Rescoring:
        return semwidget.rescore(g, directions, scorers, n_samples=n, progress=False)

    semwidget.rescore(g, directions, scorers, n_samples=10, progress=False)  # warm-up: allocator, kernels
    t = _common.median_seconds(run, repeats=3, warmup=0)
    print(
        f"rescore, digiface-dcgan, 5 SeFa directions x brightness+contrast, {n} samples: "
        f"median {t:.2f} s, {images} images, {images / t:.0f} images/s"
    )
    forward = _common.median_seconds(lambda: g.synthesize(g.sample(n), batch_size=50), repeats=3)
    print(f"bare synthesis of {n} images for comparison: {forward:.2f} s ({n / forward:.0f} images/s)")
    print(f"peak RSS {_common.peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
