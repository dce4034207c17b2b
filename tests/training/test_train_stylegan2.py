"""training/train_stylegan2.py end to end on the CPU: a tiny config, stand-in images.

The training scripts are no package; they are imported by path. The images come
from a stand-in (random coloured rectangles, rendered at 64×64 like the world)
so that these tests need neither the world nor a GPU.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import semwidget
from semwidget.generators import RosinalityStyleGAN

TRAINING = Path(__file__).resolve().parents[2] / "training"


def _import(name: str):
    key = f"_semwidget_training_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, TRAINING / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


train = _import("train_stylegan2")
discriminator = _import("discriminator")

TINY = ["--size", "16", "--style-dim", "16", "--n-mlp", "2", "--channel-max", "16", "--batch", "4"]
TINY += ["--d-reg-every", "2", "--log-seconds", "0", "--device", "cpu"]


def rectangles(n: int, rng: np.random.Generator) -> torch.Tensor:
    """Stand-in data: one random coloured rectangle on a random background, (n, 3, 64, 64) in [-1, 1]."""
    images = np.empty((n, 64, 64, 3), np.float32)
    images[:] = rng.uniform(-1, 1, (n, 1, 1, 3))
    for img in images:
        y0, x0 = rng.integers(0, 48, 2)
        h, w = rng.integers(8, 32, 2)
        img[y0 : y0 + h, x0 : x0 + w] = rng.uniform(-1, 1, 3)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def run(out: Path, *extra: str) -> dict:
    return train.main(["--out", str(out), *TINY, *extra], make_batch=rectangles)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run")
    return out, run(out, "--steps", "3")


def test_a_few_steps_run_end_to_end(trained):
    out, last = trained
    assert last["step"] == 3
    assert {"d", "g", "r1"} <= set(last)
    assert all(math.isfinite(last[k]) for k in ("d", "g", "r1"))
    for name in ("checkpoint.pt", "g_ema_fp16.pt", "log.txt", "samples/0000003.png"):
        assert (out / name).is_file(), name
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["nimg"] == 12
    assert ckpt["config"]["size"] == 16 and ckpt["config"]["r1_gamma"] == 0.1
    assert "step 3" in (out / "log.txt").read_text()


def test_resume_continues_the_step_count(trained, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((trained[0] / "checkpoint.pt").read_bytes())
    before = torch.load(out / "checkpoint.pt", weights_only=True)
    last = run(out, "--steps", "5", "--resume")
    assert last["step"] == 5
    after = torch.load(out / "checkpoint.pt", weights_only=True)
    assert after["step"] == 5 and after["nimg"] == 20
    assert not torch.equal(after["G"]["conv1.conv.weight"], before["G"]["conv1.conv.weight"])
    assert "resumed" in (out / "log.txt").read_text()


def test_resume_with_another_architecture_raises_and_writes_nothing(trained):
    out = trained[0]
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    with pytest.raises(train.ConfigMismatchError, match="channel_max: checkpoint 16, given 32"):
        run(out, "--steps", "5", "--resume", "--channel-max", "32")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()} == files


def test_a_new_run_refuses_to_overwrite_a_checkpoint(trained):
    with pytest.raises(FileExistsError, match="--resume"):
        run(trained[0], "--steps", "1")


def test_a_truncated_checkpoint_raises_a_clear_error(trained, tmp_path):
    data = (trained[0] / "checkpoint.pt").read_bytes()
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="could not read the training checkpoint.*damaged"):
        run(out, "--steps", "5", "--resume")
    assert (out / "checkpoint.pt").read_bytes() == data[: len(data) // 2]


def test_a_foreign_checkpoint_is_refused(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    torch.save({"g_ema": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        run(tmp_path, "--resume")


def test_the_fp16_export_loads_with_semwidget_load(trained):
    path = trained[0] / "g_ema_fp16.pt"
    raw = torch.load(path, weights_only=True)
    assert raw["step"] == 3 and raw["config"]["style_dim"] == 16
    assert raw["g_ema"]["conv1.conv.weight"].dtype == torch.float16
    assert raw["latent_avg"].dtype == torch.float32 and raw["latent_avg"].shape == (16,)

    G = semwidget.load(path, device="cpu")
    assert isinstance(G, RosinalityStyleGAN)
    assert (G.img_resolution, G.w_dim, G.num_ws) == (16, 16, 6)
    assert all(p.dtype == torch.float32 for p in G.module.parameters())
    # The weights are the exported ones, up-cast.
    assert torch.equal(G.module.conv1.conv.weight, raw["g_ema"]["conv1.conv.weight"].float())
    images = G.synthesize(G.sample(4, seed=0))
    assert images.shape == (4, 3, 16, 16)
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1


def test_path_length_regularisation_runs(tmp_path):
    last = run(tmp_path, "--steps", "2", "--pl-weight", "2", "--g-reg-every", "1", "--mixing-prob", "0")
    assert math.isfinite(last["pl"])


def test_discriminator_shapes_and_any_batch_size():
    D = discriminator.Discriminator(32, channel_multiplier=1, channel_max=8)
    for n in (1, 3, 4, 6):
        assert D(torch.randn(n, 3, 32, 32)).shape == (n, 1)
    with pytest.raises(ValueError, match=r"\(n, 3, 32, 32\)"):
        D(torch.randn(2, 3, 16, 16))


@pytest.mark.parametrize(("taps", "pad"), [((1, 3, 3, 1), (2, 2)), ((1, 3, 3, 1), (1, 1)), ((1, 2, 5), (2, 1))])
def test_discriminator_blur_equals_the_generators(taps, pad):
    from semwidget.nets._stylegan2_ops import Blur

    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    expected = Blur(taps, pad).double()(x)
    torch.testing.assert_close(discriminator.Blur(taps, pad)(x), expected)


def test_minibatch_stddev_is_zero_for_identical_samples():
    x = torch.randn(1, 5, 4, 4).repeat(8, 1, 1, 1)
    out = discriminator.minibatch_stddev(x)
    assert out.shape == (8, 6, 4, 4)
    assert out[:, -1].abs().max() < 1e-3  # sqrt(0 + 1e-8)


def test_default_generator_fits_20_mb_in_fp16():
    c = train.DEFAULTS
    G = semwidget.nets.StyleGAN2(c["size"], c["style_dim"], c["n_mlp"], c["channel_multiplier"], channel_max=256)
    assert G.n_latent == 10
    assert sum(t.numel() for t in G.state_dict().values()) * 2 <= 20e6
