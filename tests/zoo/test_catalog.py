"""The catalogue: each model's card matches the generator it builds (layer names, sizes,
feature maps, and each layer's resolution measured in a forward pass); cards are read
without weights; the zoo's own weight files go through the bounded readers."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch

import semwidget
from semwidget import FileFormatError, ModelMismatchError
from semwidget.nets import DCGAN, ConditionalDCGAN
from semwidget.zoo import CATALOG, GROUPS, Layer, ModelCard, _catalog, describe, group_of

LOADABLE = [
    pytest.param("shapes-stylegan2"),  # bundled
    pytest.param("digiface-dcgan", marks=pytest.mark.zoo),  # fetched from the package index once
    pytest.param("omniart-eyes", marks=pytest.mark.zoo),
]


def measured_resolutions(g) -> list[int]:
    """The side of the map written by the layer that reads each ws index, seen in a forward
    pass: the module owning each of its projection weights (a StyledConv or ToRGB's
    modulation, or a DCGAN's first layer)."""
    seen: dict[str, int] = {}
    handles = []
    owners = {i: [w.name.removesuffix(".conv.modulation") for w in g.projection_weights([i])] for i in range(g.num_ws)}
    for path in {p for paths in owners.values() for p in paths}:

        def grab(_m, _i, out, path=path):
            seen[path] = int(out.shape[-1])

        handles.append(g.module.get_submodule(path).register_forward_hook(grab))
    try:
        g.synthesize(g.sample(1, seed=0))
    finally:
        for h in handles:
            h.remove()
    return [max(seen[p] for p in owners[i]) for i in range(g.num_ws)]


@pytest.mark.parametrize("name", LOADABLE)
def test_each_card_matches_the_generator_it_describes(name):
    card = describe(name)
    g = semwidget.load(name, device="cpu")
    assert card.differences(g) == []
    assert g.synthesize(g.sample(2, seed=0)).shape == (2, 3, card.img_resolution, card.img_resolution)
    assert measured_resolutions(g) == [layer.resolution for layer in card.ws]
    for layer in card.feature_layers:  # the adapter traced these shapes in a forward pass
        assert g.feature_layers[layer.name].shape == layer.shape
    # Feature maps are listed earliest first, each one larger than the last.
    assert [x.resolution for x in card.feature_layers] == sorted({x.resolution for x in card.feature_layers})


def test_groups_follow_the_stylegan_papers_resolutions():
    assert [group_of(r) for r in (4, 8, 16, 32, 64, 128, 1024)] == ["coarse"] * 2 + ["middle"] * 2 + ["fine"] * 3
    card = describe("shapes-stylegan2")
    assert (card.layers("coarse"), card.layers("middle"), card.layers("fine")) == ((0, 1, 2), (3, 4, 5, 6), (7, 8, 9))
    assert sum(len(card.layers(g)) for g in GROUPS) == card.num_ws
    eyes = describe("omniart-eyes")
    assert eyes.feature_layers_in("coarse") == ("main.2", "main.6") and eyes.feature_layers_in("fine") == ("main.15",)
    with pytest.raises(ValueError, match="unknown layer group 'late'.*coarse"):
        card.layers("late")
    with pytest.raises(ValueError, match="no layer group holds 2x2"):
        Layer("tiny", 2)


def test_cards_are_read_without_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMWIDGET_CACHE", str(tmp_path))  # an empty cache: nothing to read, nothing fetched

    def no_weights(*args, **kwargs):
        raise AssertionError("describe() and available() must not look for weights")

    monkeypatch.setattr(semwidget.zoo, "weight_file", no_weights)
    monkeypatch.setattr(semwidget.zoo, "bundled_file", no_weights)
    text = str(describe("digiface-dcgan"))
    assert "main.8" in text and "128 ×  16²  middle" in text
    assert "10 layer-wise latents in w (64-d)" in semwidget.available()["shapes-stylegan2"]
    assert "z_dim 100 + 8 classes" in semwidget.available()["omniart-eyes"]
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="(?s)unknown model 'stylegan-ffhq'.*digiface-dcgan"):
        describe("stylegan-ffhq")


def test_a_generator_that_contradicts_its_card_is_refused(monkeypatch):
    entry = CATALOG["shapes-stylegan2"]
    wrong = dataclasses.replace(entry.card, ws=entry.card.ws[:-1] + (Layer("64x64 rgb", 64),))
    monkeypatch.setitem(CATALOG, "shapes-stylegan2", dataclasses.replace(entry, card=wrong))
    with pytest.raises(ModelMismatchError, match="does not match its card.*layer_names"):
        semwidget.load("shapes-stylegan2", device="cpu")


def test_a_card_must_be_consistent():
    with pytest.raises(ValueError, match="latent_space"):
        ModelCard("x", 64, "u", 8, 8, ws=(Layer("ws[0]", 4),))
    with pytest.raises(ValueError, match="at least one layer-wise latent"):
        ModelCard("x", 64, "z", 8, 8, ws=())
    with pytest.raises(ValueError, match="feature layers give their channels"):
        ModelCard("x", 64, "z", 8, 8, ws=(Layer("ws[0]", 4),), feature_layers=(Layer("main.2", 4),))


# ---- the zoo's weight files through the bounded readers ---------------------------------


@pytest.fixture(scope="module")
def digiface_like(tmp_path_factory):
    """A file in gan-face-generate's layout (zip format) with seeded random weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("zoo") / "weights.tar"
    torch.save({"netG_state_dict": DCGAN(z_dim=100, ngf=64).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def eyes_like(tmp_path_factory):
    """A file in the omniart eye generator's layout: torch's legacy format, float32."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("zoo") / "generator_model_state.pth"
    torch.save(ConditionalDCGAN(z_dim=100, c_dim=8, ngf=64).state_dict(), path, _use_new_zipfile_serialization=False)
    return path


def test_the_builders_read_both_torch_formats(digiface_like, eyes_like):
    g = _catalog._digiface(digiface_like, "cpu", None)
    assert describe("digiface-dcgan").differences(g) == []
    eyes = _catalog._omniart_eyes(eyes_like, "cpu", None)
    assert describe("omniart-eyes").differences(eyes) == []


def _damaged(src, tmp_path, edit):
    path = tmp_path / src.name
    path.write_bytes(edit(src.read_bytes()))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d[: len(d) // 2], "could not read checkpoint"),
        (lambda d: d[:100] + bytes(64) + d[164:], "could not read checkpoint"),
        (lambda d: b"", "could not read checkpoint"),
    ],
)
def test_damaged_zoo_files_are_refused_naming_the_file(digiface_like, eyes_like, tmp_path, edit, message):
    for src, build in ((digiface_like, _catalog._digiface), (eyes_like, _catalog._omniart_eyes)):
        path = _damaged(src, tmp_path, edit)
        with pytest.raises(FileFormatError, match=message) as info:
            build(path, "cpu", None)
        assert str(path) in str(info.value)


def test_another_architecture_in_a_zoo_file_is_refused_before_loading(tmp_path):
    path = tmp_path / "weights.tar"
    torch.save({"netG_state_dict": DCGAN(z_dim=100, ngf=32).state_dict()}, path)
    with pytest.raises(FileFormatError, match=r"does not match gan-face-generate's DCGAN.*main.0.weight is"):
        _catalog._digiface(path, "cpu", None)
    state = ConditionalDCGAN(z_dim=100, c_dim=8, ngf=64).state_dict()
    state["main.0.weight"] = torch.zeros(108, 1024, 4, 4, dtype=torch.float64)
    buffer = io.BytesIO()
    torch.save(state, buffer, _use_new_zipfile_serialization=False)
    path = tmp_path / "eyes.pth"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(FileFormatError, match=r"omniart eye generator.*torch.float64"):
        _catalog._omniart_eyes(path, "cpu", None)


def test_an_oversized_storage_claim_in_a_legacy_zoo_file_is_refused(eyes_like, tmp_path):
    data = eyes_like.read_bytes()
    # main.0.weight's storage: 108·1024·4·4 floats, declared as a BININT before its location's end.
    declared = b"J" + (108 * 1024 * 16).to_bytes(4, "little")
    assert data.count(declared) == 1
    path = _damaged(eyes_like, tmp_path, lambda d: d.replace(declared, b"J" + (2**31 - 1).to_bytes(4, "little")))
    with pytest.raises(FileFormatError, match=rf"{path}.*cut off|{path}.*elements"):
        _catalog._omniart_eyes(path, "cpu", None)


def test_non_finite_weights_in_a_zoo_file_are_refused(tmp_path):
    state = DCGAN(z_dim=100, ngf=64).state_dict()
    state["main.3.weight"][0] = float("nan")
    path = tmp_path / "weights.tar"
    torch.save({"netG_state_dict": state}, path)
    with pytest.raises(FileFormatError, match="NaN or infinite"):
        _catalog._digiface(path, "cpu", None)
