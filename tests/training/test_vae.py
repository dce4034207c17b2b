"""The CPU route: train_stylegan2.py --objective vae, and refit_mapping.py after it.

Tiny configurations on stand-in rectangles (training) and on the world (the refit
encodes renders), so that everything runs in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_train_stylegan2 import _import, rectangles

import semwidget

train = _import("train_stylegan2")
vae = _import("vae")
refit = _import("refit_mapping")

TINY_VAE = ["--objective", "vae", "--size", "16", "--style-dim", "8", "--n-mlp", "2", "--channel-max", "16"]
TINY_VAE += ["--encoder-channels", "8", "--batch", "8", "--log-seconds", "0", "--device", "cpu"]


def run(out, *extra: str) -> dict:
    return train.main(["--out", str(out), *TINY_VAE, *extra], make_batch=rectangles)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae")
    return out, run(out, "--steps", "4")


def test_vae_steps_report_finite_losses_and_save_a_loadable_export(vae_run):
    out, last = vae_run
    assert last["step"] == 4 and {"mse", "kl", "active"} <= set(last)
    assert all(math.isfinite(last[k]) for k in ("mse", "kl"))
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["objective"] == "vae" and {"E", "optim"} <= set(ckpt) and "D" not in ckpt
    # The VAE's own defaults apply to options not given (lr 1e-3, not the GAN's 2.5e-3).
    assert ckpt["config"]["lr"] == vae.VAE_DEFAULTS["lr"]
    G = semwidget.load(out / "g_ema_fp16.pt", device="cpu")
    assert (G.img_resolution, G.w_dim, G.num_ws) == (16, 8, 6)
    assert torch.isfinite(G.synthesize(G.sample(2, seed=0))).all()


def test_vae_resume_continues_and_refuses_another_objective(vae_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((vae_run[0] / "checkpoint.pt").read_bytes())
    assert run(out, "--steps", "6", "--resume")["step"] == 6
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(train.ConfigMismatchError, match="objective: checkpoint 'vae', given 'gan'"):
        train.main(["--out", str(out), *TINY_VAE[2:], "--objective", "gan", "--resume"], make_batch=rectangles)
    assert (out / "checkpoint.pt").read_bytes() == before


def test_a_vae_checkpoint_without_its_encoder_is_refused(vae_run, tmp_path):
    ckpt = torch.load(vae_run[0] / "checkpoint.pt", weights_only=True)
    del ckpt["E"]
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        run(tmp_path, "--resume")


def test_the_vae_learns_to_reconstruct():
    """A few hundred steps on one fixed batch: the reconstruction error must fall well below its start."""
    torch.manual_seed(0)
    config = train.resolve_config({"objective": "vae", "size": 16, "style_dim": 8, "n_mlp": 2, "channel_max": 16,
                                   "encoder_channels": 8, "batch": 8}, None)  # fmt: skip
    trainer = train.trainer_class("vae")(config, torch.device("cpu"))
    real = train.fit_size(rectangles(8, np.random.default_rng(0)), 16)
    first = trainer.train_step(real)["mse"].item()
    for _ in range(150):
        last = trainer.train_step(real)["mse"].item()
    assert last < 0.5 * first, (first, last)


def test_kl_to_standard_normal_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(3, 5)
    assert torch.allclose(vae.kl_to_standard_normal(zeros, zeros), torch.zeros(3))
    mu = torch.tensor([[1.0, 0.0]])
    # KL(N(1, 1) || N(0, 1)) = 1/2.
    assert torch.allclose(vae.kl_to_standard_normal(mu, torch.zeros(1, 2)), torch.tensor([0.5]))


def test_refit_mapping_writes_a_loadable_export_and_keeps_the_synthesis(vae_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((vae_run[0] / "checkpoint.pt").read_bytes())
    path = refit.main(["--run", str(out), "--steps", "20", "--real", "64"])
    assert path == out / "g_ema_refit_fp16.pt" and (out / "samples" / "refit.png").is_file()
    new = torch.load(path, weights_only=True)
    old = torch.load(vae_run[0] / "g_ema_fp16.pt", weights_only=True)
    assert new["refit"]["steps"] == 20
    synthesis = [k for k in old["g_ema"] if not k.startswith("style.")]
    assert all(torch.equal(new["g_ema"][k], old["g_ema"][k]) for k in synthesis)
    assert any(not torch.equal(new["g_ema"][k], old["g_ema"][k]) for k in old["g_ema"] if k.startswith("style."))
    G = semwidget.load(path, device="cpu")
    assert torch.isfinite(G.synthesize(G.sample(2, seed=0))).all()


def test_refit_mapping_refuses_a_gan_run(tmp_path):
    from test_train_stylegan2 import TINY

    train.main(["--out", str(tmp_path), *TINY, "--steps", "1"], make_batch=rectangles)
    with pytest.raises(ValueError, match="needs a VAE run"):
        refit.main(["--run", str(tmp_path), "--steps", "1"])
