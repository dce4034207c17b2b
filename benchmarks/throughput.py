"""Generator throughput of the real digiface DCGAN at batch 1, 9 and 64:
on the CPU (float32), and on a GPU in float32 and half precision when there is one.

    python benchmarks/throughput.py
"""

from __future__ import annotations

import _common
import torch

import semwidget


def run(device: str, dtype: torch.dtype) -> None:
    g = semwidget.load("digiface-dcgan", device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for batch in (1, 9, 64):
        latents = g.sample(batch, seed=0)
        t = _common.median_seconds(
            lambda latents=latents, batch=batch: g.synthesize(latents, batch_size=batch),
            repeats=15,
            warmup=3,
            sync=sync,
        )
        print(
            f"{device:4s} {str(dtype).removeprefix('torch.'):8s} batch {batch:2d}: median {t * 1000:8.2f} ms/batch, "
            f"{batch / t:9.1f} images/s"
        )


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    run("cpu", torch.float32)
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}")
        run("cuda", torch.float32)
        run("cuda", torch.float16)
    else:
        print("no GPU here: the half-precision figures need one")


if __name__ == "__main__":
    main()
