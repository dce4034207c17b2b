"""The GPU paths: every adapter on CUDA, in float32 and half precision.

Skipped where there is no GPU (CI has none); run on a lent GPU machine.
"""

import numpy as np
import pytest
import torch

import semwidget
from tests.conftest import TinyDCGAN, _seeded
from tests.layouts.biggan import make_biggan
from tests.layouts.nvidia_stylegan import Generator as NvidiaSG2
from tests.layouts.nvidia_stylegan import SG3Generator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _build(name):
    """A fresh module per use: as_generator moves (and may halve) a module in place."""
    from semwidget.nets import StyleGAN2

    torch.manual_seed(0)
    return {
        "dcgan": lambda: _seeded(TinyDCGAN),
        "biggan": lambda: make_biggan(0),
        "nvidia-sg2": NvidiaSG2,
        "nvidia-sg3": SG3Generator,
        "rosinality": lambda: StyleGAN2(32, 32, 2, channel_multiplier=1, channel_max=32),
    }[name]()


@pytest.mark.parametrize("name", ["dcgan", "biggan", "nvidia-sg2", "nvidia-sg3", "rosinality"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
def test_adapter_on_cuda_matches_cpu(name, dtype):
    kwargs = {"latent_avg": torch.zeros(32)} if name == "rosinality" else {}
    cpu = semwidget.as_generator(_build(name), device="cpu", **kwargs)
    lat = cpu.sample(4, seed=0)
    ref = cpu.synthesize(lat)
    gpu = semwidget.as_generator(_build(name), device="cuda", dtype=dtype, **kwargs)
    assert gpu.fingerprint == cpu.fingerprint  # one model, one identity, on every device and dtype
    glat = gpu.sample(4, seed=0)
    out = gpu.synthesize(glat)
    assert glat.ws.device.type == "cuda" and out.device.type == "cpu" and out.dtype == torch.float32
    tol = 2e-3 if dtype == torch.float32 else 6e-2
    assert (out - ref).abs().mean() < tol, (name, dtype, (out - ref).abs().mean())
    d = semwidget.SeFa(n_directions=2).fit(gpu).directions_
    moved = gpu.synthesize(semwidget.edit(glat, d[0], 2.0))
    assert torch.isfinite(moved).all() and not torch.equal(moved, out)


def test_finders_on_cuda():
    gpu = semwidget.as_generator(_seeded(TinyDCGAN), device="cuda")
    cpu = semwidget.as_generator(_seeded(TinyDCGAN), device="cpu")
    a = semwidget.GANSpace(n_directions=3, n_samples=2000, progress=False).fit(gpu).directions_
    b = semwidget.GANSpace(n_directions=3, n_samples=2000, progress=False).fit(cpu).directions_
    assert np.allclose(np.abs(np.sum(a.vectors * b.vectors, axis=1)), 1, atol=1e-4)
    ch = semwidget.GANSpace(
        n_directions=2, n_samples=500, feature_layer="main.2", output="channels", progress=False
    ).fit(gpu)
    assert ch.directions_.dim == 16
    lat = gpu.sample(300)
    fit = semwidget.InterFaceGAN(ratio=0.1).fit(lat, lat.ws[:, 0, 0].cpu().numpy())
    assert fit.directions_.vectors[0, 0] > 0.9
