"""training/train_encoder.py end to end on the CPU with tiny generators: a run, an interrupted
run resumed to the same weights, the refusals, and the export that encoder_for reads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import semwidget
from semwidget.inversion._encoder import load_encoder_file
from semwidget.nets import StyleGAN2

TRAINING = Path(__file__).resolve().parents[2] / "training"


def _import(name: str):
    key = f"_semwidget_training_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, TRAINING / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


train = _import("train_encoder")

TINY = ["--train", "48", "--held-out", "8", "--steps", "6", "--batch", "8", "--warmup", "2", "--channels", "4,8"]
TINY += ["--checkpoint-every", "3", "--log-seconds", "0"]


@pytest.fixture(scope="module")
def style() -> semwidget.Generator:
    torch.manual_seed(0)
    net = StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8)
    return semwidget.as_generator(net, device="cpu", name="tiny-style", latent_avg=torch.zeros(8))


def run(out: Path, generator, *extra: str) -> dict:
    return train.main(["--out", str(out), "--model", generator.name, *TINY, *extra], generator=generator)


def test_a_run_resumed_after_an_interruption_ends_where_an_uninterrupted_one_does(tmp_path, style):
    whole = run(tmp_path / "a", style, "--recon-weight", "1", "--recon-from", "0.5")
    assert whole["step"] == 6 and whole["n"] == 8
    run(tmp_path / "b", style, "--recon-weight", "1", "--recon-from", "0.5", "--until", "4")
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 4
    train.main(["--out", str(tmp_path / "b"), "--resume"], generator=style)
    a, b = (torch.load(tmp_path / x / "checkpoint.pt", weights_only=True) for x in "ab")
    assert b["step"] == 6
    for key, value in a["net"].items():
        torch.testing.assert_close(b["net"][key], value, rtol=0, atol=0, msg=key)
    # The cached data: mixed w+ (layers from two samples) on about half of the samples.
    shard = torch.load(tmp_path / "a" / "data" / "train-0000.pt", weights_only=True)
    assert shard["images"].dtype == torch.uint8 and shard["ws"].shape == (48, style.num_ws, style.w_dim)
    assert 0 < (shard["cross"] < style.num_ws).sum() < 48


def test_refusals(tmp_path, style):
    run(tmp_path, style, "--until", "3")
    with pytest.raises(FileExistsError):
        run(tmp_path, style)
    with pytest.raises(train.ConfigMismatchError, match="lr"):
        train.main(["--out", str(tmp_path), "--resume", "--lr", "0.5"], generator=style)
    other = semwidget.as_generator(
        StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8), device="cpu", name="tiny-style"
    )
    with pytest.raises(train.ConfigMismatchError, match="fingerprint"):
        train.main(["--out", str(tmp_path), "--resume"], generator=other)
    with pytest.raises(FileNotFoundError):
        train.main(["--out", str(tmp_path / "none"), "--resume"], generator=style)


def test_export_writes_a_checked_float16_file(tmp_path, style, tiny_dcgan, capsys):
    run(tmp_path / "style", style)
    dest = tmp_path / "style.pt"
    result = train.main(["--out", str(tmp_path / "style"), "--export", "--dest", str(dest)], generator=style)
    assert result["sha256"] in capsys.readouterr().out
    net, config = load_encoder_file(dest, sha256=result["sha256"], model="tiny-style", fingerprint=style.fingerprint)
    assert config["space"] == "w+" and net.out_shape == (style.num_ws, style.w_dim)
    assert set(result["held_out"]) >= {"latent_relative_mse", "psnr", "psnr_of_mean"}
    # A DCGAN's encoder predicts z, put on the sphere.
    run(tmp_path / "dc", tiny_dcgan)
    dest = tmp_path / "dc.pt"
    result = train.main(["--out", str(tmp_path / "dc"), "--export", "--dest", str(dest)], generator=tiny_dcgan)
    _, config = load_encoder_file(dest, sha256=result["sha256"])
    assert (config["space"], config["num_ws"], config["dim"], config["normalize"]) == ("z", 1, 8, "sphere")
