"""GANSpace speed and memory: PCA on 10^5 and 10^6 W samples of a StyleGAN-shaped
mapping network (8 fully connected layers of 512, random weights).

Each size runs in its own process so its peak memory is its own. Reported: wall
time of ``GANSpace.fit`` (sampling through the mapping network + streaming PCA),
and peak resident memory of the process minus its memory before the fit.

    python benchmarks/ganspace.py [n_samples ...]
"""

from __future__ import annotations

import subprocess
import sys
import time

import _common


def one(n_samples: int) -> None:
    import torch

    import semwidget
    from semwidget.nets import StyleGAN2

    torch.manual_seed(0)
    # A small synthesis network behind a full-size mapping: only the mapping runs.
    net = StyleGAN2(16, 512, 8, channel_multiplier=1, channel_max=32)
    g = semwidget.as_generator(net, device="cpu", latent_avg=torch.zeros(512))
    before = _common.peak_rss_mib()
    start = time.perf_counter()
    fit = semwidget.GANSpace(n_directions=20, n_samples=n_samples, batch_size=8192, progress=False).fit(g)
    seconds = time.perf_counter() - start
    extra = _common.peak_rss_mib() - before
    top = ", ".join(f"{r:.4f}" for r in fit.explained_variance_ratio_[:3])
    print(
        f"GANSpace on {n_samples:>9,} W samples: {seconds:7.2f} s, {n_samples / seconds:9,.0f} samples/s, "
        f"peak memory +{extra:6.1f} MiB; top variance ratios {top}"
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one(int(sys.argv[2]))
        return
    sizes = [int(x) for x in sys.argv[1:]] or [100_000, 1_000_000]
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)


if __name__ == "__main__":
    main()
