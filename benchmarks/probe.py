"""Probing throughput: the real digiface DCGAN scored by every built-in scorer on the CPU,
2048 samples in batches of 64, without and with a cache; then where the time goes.

    python benchmarks/probe.py
    SEMWIDGET_THREADS=1 python benchmarks/probe.py   # one core: steadier on a shared machine
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import _common
import torch

import semwidget
from semwidget.scorers import Brightness, Contrast, HueHistogram, SaliencyPosition, Saturation

N, BATCH = 2048, 64


def main() -> None:
    if os.environ.get("SEMWIDGET_THREADS"):
        torch.set_num_threads(int(os.environ["SEMWIDGET_THREADS"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; {N} samples, batch {BATCH}")
    g = semwidget.load("digiface-dcgan", device="cpu")
    scorers = [Brightness(), Contrast(), Saturation(), HueHistogram(), SaliencyPosition()]
    semwidget.probe(g, scorers, n_samples=BATCH, batch_size=BATCH, progress=False)  # warm-up

    start, cpu = time.perf_counter(), time.process_time()
    semwidget.probe(g, scorers, n_samples=N, batch_size=BATCH, progress=False)
    plain, cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU seconds say how much work it was even when other processes share the cores.
    print(f"probe, no cache:   {plain:6.2f} s, {N / plain:7.1f} images scored/s ({cpu:.2f} CPU s)")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        semwidget.probe(g, scorers, n_samples=N, batch_size=BATCH, cache=Path(tmp) / "probe.npz", progress=False)
        cached = time.perf_counter() - start
        print(f"probe, with cache: {cached:6.2f} s, {N / cached:7.1f} images scored/s (rewritten after each batch)")
        start = time.perf_counter()
        semwidget.probe(g, scorers, n_samples=N, batch_size=BATCH, cache=Path(tmp) / "probe.npz", progress=False)
        print(f"probe, resumed from a complete cache: {time.perf_counter() - start:6.3f} s")

    latents = g.sample(BATCH, seed=0)
    t = _common.median_seconds(lambda: g.synthesize(latents, batch_size=BATCH))
    print(f"  generator alone:  {t * 1000:7.2f} ms/batch ({BATCH / t:7.1f} images/s)")
    images = g.synthesize(latents, batch_size=BATCH)
    for scorer in scorers:
        t = _common.median_seconds(lambda s=scorer: s(images))
        print(f"  {type(scorer).__name__:17s} {t * 1000:7.2f} ms/batch ({BATCH / t:7.1f} images/s)")


if __name__ == "__main__":
    main()
