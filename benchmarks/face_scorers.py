"""Time per image of each face scorer on the CPU, at batch 32, on real digiface faces
(64×64), and on the same faces upscaled to 256×256 (scorers resize internally).

    pip install 'semwidget[faces]'
    python benchmarks/face_scorers.py
"""

from __future__ import annotations

import os

import _common
import torch
import torch.nn.functional as F

import semwidget
from semwidget.scorers import AgeGender, Expression, FaceMesh

BATCH = 32


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch CPU threads, {os.cpu_count()} CPUs")
    g = semwidget.load("digiface-dcgan", device="cpu")
    faces = g.synthesize(g.sample(BATCH, seed=0))
    large = F.interpolate(faces, size=(256, 256), mode="bilinear", align_corners=False)
    for scorer in (AgeGender(), FaceMesh(), Expression()):
        for images in (faces, large):
            t = _common.median_seconds(lambda: scorer(images), repeats=7, warmup=2)  # noqa: B023
            print(
                f"{type(scorer).__name__:10s} batch {BATCH} at {images.shape[-1]:3d} px: "
                f"{t / BATCH * 1000:7.2f} ms/image ({BATCH / t:7.1f} images/s)"
            )


if __name__ == "__main__":
    main()
