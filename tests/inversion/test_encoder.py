"""semwidget.inversion._encoder: the registry, lookup by name and fingerprint, the checked
float16 file, ``predict``; on the real shapes-stylegan2, the shipped encoder's reconstructions."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch

import semwidget
from semwidget.files import FileFormatError
from semwidget.inversion import _encoder
from semwidget.inversion._encoder import (
    REGISTRY,
    EncoderEntry,
    EncoderNet,
    check_config,
    encoder_for,
    load_encoder_file,
    save_encoder_file,
)
from semwidget.nets import StyleGAN2

#: Held-out seeds of training/train_encoder.py (never trained on).
HELD_OUT_SEED = 90_000_000


def _tiny_style(seed: int = 0, name: str = "tiny-style") -> semwidget.Generator:
    """16×16, 8 channels, style_dim 8: 6 layer-wise latents."""
    torch.manual_seed(seed)
    net = StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8)
    return semwidget.as_generator(net, device="cpu", name=name, latent_avg=torch.zeros(8))


def _config(generator: semwidget.Generator, space: str) -> dict:
    w_plus = space == "w+"
    return {
        "model": generator.name,
        "fingerprint": generator.fingerprint,
        "space": space,
        "resolution": generator.img_resolution,
        "channels": [4, 8],
        "num_ws": generator.num_ws if w_plus else 1,
        "dim": generator.w_dim if w_plus else generator.z_dim,
        "normalize": "none" if w_plus else "sphere",
    }


@pytest.fixture
def register(tmp_path, monkeypatch):
    """Write a random encoder for a generator into a temporary weights folder and register it."""
    monkeypatch.setattr(_encoder, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(_encoder, "REGISTRY", dict(REGISTRY))
    _encoder._load_cpu.cache_clear()

    def write(generator: semwidget.Generator, space: str, *, seed: int = 0) -> EncoderEntry:
        config = _config(generator, space)
        torch.manual_seed(seed)
        net = EncoderNet(config["resolution"], config["channels"], (config["num_ws"], config["dim"]))
        net.out_mean.normal_()
        sha = save_encoder_file(tmp_path / f"{generator.name}-encoder.pt", net, config)
        entry = EncoderEntry(generator.name, generator.fingerprint, f"{generator.name}-encoder.pt", sha, space)
        _encoder.REGISTRY[generator.name] = entry
        return entry

    yield write
    _encoder._load_cpu.cache_clear()


# ---- the registry and the shipped files ----------------------------------------------


def test_registry_sha256_matches_the_committed_files():
    shipped = [e for e in REGISTRY.values() if e.path.is_file()]
    assert "shapes-stylegan2" in {e.model for e in shipped}
    for entry in shipped:
        assert hashlib.sha256(entry.path.read_bytes()).hexdigest() == entry.sha256, entry.file
        assert entry.path.stat().st_size <= 20 << 20, f"{entry.file} is over 20 MB"
        card = entry.path.with_suffix(".md")
        assert card.is_file(), f"{entry.file} has no model card"
        assert entry.sha256 in card.read_text(), f"{card.name} does not give the file's sha256"


def test_shipped_files_record_what_the_registry_says():
    for entry in (e for e in REGISTRY.values() if e.path.is_file()):
        net, config = load_encoder_file(entry.path, sha256=entry.sha256, model=entry.model)
        assert (config["fingerprint"], config["space"]) == (entry.fingerprint, entry.space)
        assert next(net.parameters()).dtype == torch.float32  # stored float16, cast up
        state = torch.load(entry.path, map_location="cpu", weights_only=True)["state_dict"]
        assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}


# ---- lookup ------------------------------------------------------------------------


def test_no_encoder_for_a_model_without_one(tiny_dcgan):
    assert tiny_dcgan.name not in REGISTRY
    assert encoder_for(tiny_dcgan) is None
    assert encoder_for(object()) is None


def test_no_encoder_for_other_weights_under_a_known_name(register):
    gen = _tiny_style()
    register(gen, "w+")
    assert encoder_for(gen) is not None
    retrained = _tiny_style(seed=1)  # same name, other weights
    assert retrained.name == gen.name and retrained.fingerprint != gen.fingerprint
    assert encoder_for(retrained) is None


def test_no_encoder_while_its_file_is_not_there(register):
    gen = _tiny_style()
    register(gen, "w+").path.unlink()
    assert encoder_for(gen) is None


def test_a_tampered_file_is_refused(register):
    gen = _tiny_style()
    path = register(gen, "w+").path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="sha256"):
        encoder_for(gen)


def test_a_file_for_another_model_is_refused(register):
    gen = _tiny_style()
    entry = register(gen, "w+")
    with pytest.raises(FileFormatError, match="fingerprint"):
        load_encoder_file(entry.path, sha256=entry.sha256, fingerprint="0123456789abcdef")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"space": "w"}, "space"),
        ({"channels": [4, 0]}, "channels"),
        ({"resolution": 18}, "multiple"),
        ({"num_ws": 3, "space": "z"}, "num_ws 1"),
        ({"normalize": "unit"}, "normalize"),
    ],
)
def test_bad_configs_are_refused(change, message):
    good = _config(_tiny_style(), "w+")
    check_config("f.pt", good)
    with pytest.raises(FileFormatError, match=message):
        check_config("f.pt", {**good, **change})


# ---- predict -------------------------------------------------------------------------


def test_predict_w_plus_shape_device_dtype(register):
    gen = _tiny_style()
    register(gen, "w+")
    enc = encoder_for(gen)
    assert enc.space == "w+"
    images = gen.synthesize(gen.sample(5, seed=0))
    ws = enc.predict(images)
    assert ws.shape == (5, gen.num_ws, gen.w_dim)
    assert ws.device == gen.device and ws.dtype == gen.dtype and not ws.requires_grad
    # Another precision and size are accepted (resized to the encoder's resolution).
    bigger = torch.nn.functional.interpolate(images.double(), scale_factor=2, mode="nearest")
    assert enc.predict(bigger).shape == ws.shape
    assert enc.predict(images[:0]).shape == (0, gen.num_ws, gen.w_dim)
    with pytest.raises(ValueError, match=r"\(n, 3, R, R\)"):
        enc.predict(images[:, 0])


def test_predict_z_lies_on_the_sphere_in_the_generators_dtype(register, tiny_dcgan):
    gen = semwidget.as_generator(tiny_dcgan.module, device="cpu", dtype=torch.float64, name="tiny-dcgan")
    register(gen, "z")
    enc = encoder_for(gen)
    assert enc.space == "z"
    z = enc.predict(gen.synthesize(gen.sample(4, seed=0)))
    assert z.shape == (4, gen.z_dim) and z.dtype == torch.float64
    torch.testing.assert_close(z.norm(dim=1), torch.full((4,), math.sqrt(gen.z_dim), dtype=torch.float64))


def test_predictions_are_those_of_the_float16_weights(register):
    gen = _tiny_style()
    entry = register(gen, "w+")
    state = torch.load(entry.path, map_location="cpu", weights_only=True)["state_dict"]
    assert state["head.weight"].dtype == torch.float16
    config = _config(gen, "w+")
    net = EncoderNet(config["resolution"], config["channels"], (config["num_ws"], config["dim"]))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    images = gen.synthesize(gen.sample(3, seed=0))
    torch.testing.assert_close(encoder_for(gen).predict(images), net.eval()(images))


# ---- the shipped encoders on the real models ---------------------------------------------

#: PSNR of the encoder's reconstruction of 32 held-out samples minus that of the mean latent
#: (mean w; z = 0), as measured, and what the tests ask for (the measured value less slack).
#: shapes-stylegan2: 36.1 against 16.1 dB, +20.0; digiface-dcgan: 20.1 against 12.8 dB, +7.4.
#: On 512 held-out seeds: 35.7 / 15.7 and 20.9 / 13.4 dB (the model cards).
MIN_PSNR_MARGIN_DB = {"shapes-stylegan2": 15.0, "digiface-dcgan": 5.0}


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return (10 * torch.log10(4 / (a - b).pow(2).flatten(1).mean(1))).mean().item()


def _margin(gen: semwidget.Generator, space: str, mean_ws: torch.Tensor) -> tuple[float, float]:
    enc = encoder_for(gen)
    assert enc is not None and enc.space == space
    latents = gen.sample(seeds=[HELD_OUT_SEED + i for i in range(32)])
    images = gen.synthesize(latents)
    guess = enc.predict(images)
    ws = guess if space == "w+" else guess.unsqueeze(1)
    recon = gen.synthesize(latents.replace(ws=ws))
    mean = gen.synthesize(latents.replace(ws=mean_ws.expand_as(ws)))
    return _psnr(recon, images), _psnr(mean, images)


@pytest.mark.zoo
def test_shapes_encoder_reconstructs_held_out_samples_far_better_than_the_mean_w():
    gen = semwidget.load("shapes-stylegan2", device="cpu")
    encoded, mean = _margin(gen, "w+", gen.latent_avg.view(1, 1, -1))
    assert encoded - mean > MIN_PSNR_MARGIN_DB[gen.name], f"encoder {encoded:.2f} dB, mean w {mean:.2f} dB"


@pytest.mark.zoo
def test_digiface_encoder_reconstructs_held_out_samples_better_than_z_zero(digiface):
    encoded, mean = _margin(digiface, "z", torch.zeros(1, 1, digiface.z_dim))
    assert encoded - mean > MIN_PSNR_MARGIN_DB[digiface.name], f"encoder {encoded:.2f} dB, z = 0 {mean:.2f} dB"
