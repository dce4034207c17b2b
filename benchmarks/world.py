"""The scene world: renders per second (one core, then default threads) and the shipped
factor predictor's held-out table.

    python benchmarks/world.py
"""

from __future__ import annotations

import os
import time

import _common
import numpy as np
import torch

from semwidget.world import FACTORS, render, sample_factors, to_tensor
from semwidget.world._predictor import evaluate, load_predictor


def renders_per_second(batch: int, threads: int) -> float:
    torch.set_num_threads(threads)
    factors = sample_factors(batch, np.random.default_rng(0))
    t = _common.median_seconds(lambda: render(factors), repeats=9)
    return batch / t


def main() -> None:
    default = torch.get_num_threads()
    # numpy's elementwise work is single-threaded whatever the setting; the torch thread
    # count matters for to_tensor and the predictor.
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, {default} torch threads")
    for batch in (64, 256, 1024):
        print(f"render, batch {batch:5d}:            {renders_per_second(batch, 1):8.0f} images/s (one core)")
    factors = sample_factors(256, np.random.default_rng(0))
    torch.set_num_threads(default)
    t = _common.median_seconds(lambda: to_tensor(render(factors)), repeats=9)
    print(f"render + to_tensor, batch 256: {256 / t:8.0f} images/s ({default} threads)")

    model = load_predictor()
    images = to_tensor(render(factors))
    with torch.no_grad():
        t = _common.median_seconds(lambda: model(images), repeats=5)
    print(f"predictor forward, batch 256:  {256 / t:8.0f} images/s ({default} threads)")

    start = time.perf_counter()
    table = evaluate(model, n=2000, seed=12345)
    print(f"\nheld-out, 2000 fresh renders (seed 12345), {time.perf_counter() - start:.1f} s")
    print(f"{'factor':12s} {'MAE':>8s} {'R²':>7s}  unit")
    for f in FACTORS:
        if f.categories:
            continue
        unit = "turns (circular)" if f.name.endswith("_hue") else f"range [{f.low:g}, {f.high:g}]"
        print(f"{f.name:12s} {table['mae'][f.name]:8.4f} {table['r2'][f.name]:7.4f}  {unit}")
    print(f"{'shape':12s} accuracy {table['shape_accuracy']:.4f}")


if __name__ == "__main__":
    main()
