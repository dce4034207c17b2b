"""The NVIDIA StyleGAN2-ADA / StyleGAN3 adapter, end to end on small stand-ins of both layouts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from semwidget import as_generator
from semwidget.generators._base import seeded_normal
from semwidget.generators._single_input import SingleInputGenerator
from semwidget.generators._stylegan_nvidia import NvidiaStyleGAN, looks_like_nvidia_stylegan
from semwidget.nets import DCGAN
from tests.layouts.nvidia_stylegan import Generator, SG3Generator, SG3SynthesisLayer, SynthesisLayer

LAYOUTS: dict[str, Callable[[int], nn.Module]] = {
    "sg2": lambda c_dim: Generator(c_dim=c_dim),
    "sg2-orig": lambda c_dim: Generator(c_dim=c_dim, synthesis_kwargs={"architecture": "orig"}),
    "sg3": lambda c_dim: SG3Generator(c_dim=c_dim),
}
# ws indices read by a modulated convolution (16×16, num_ws = 6 in each layout):
# StyleGAN2-ADA's last w feeds only the last torgb; StyleGAN3's first feeds the
# input transform and its last the ToRGB layer.
CONV_INDICES = {"sg2": {0, 1, 2, 3, 4}, "sg2-orig": {0, 1, 2, 3, 4}, "sg3": {1, 2, 3, 4}}


def build(kind: str, c_dim: int = 0) -> nn.Module:
    torch.manual_seed(0)
    return LAYOUTS[kind](c_dim)


@pytest.fixture(params=["sg2", "sg3"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def affine_readers(module: nn.Module, ws: torch.Tensor) -> dict[str, int]:
    """The ws index each ``affine`` actually reads, found by matching its input in a forward pass."""
    inputs: dict[str, torch.Tensor] = {}
    handles = []
    for name, m in module.synthesis.named_modules():
        if name.endswith("affine"):

            def grab(_m: nn.Module, args: tuple, _out: torch.Tensor, name: str = name) -> None:
                inputs[f"synthesis.{name}"] = args[0].detach().clone()

            handles.append(m.register_forward_hook(grab))
    try:
        with torch.no_grad():
            module.synthesis(ws, noise_mode="const")
    finally:
        for h in handles:
            h.remove()
    readers = {}
    for name, x in inputs.items():
        hits = [i for i in range(ws.shape[1]) if torch.equal(x, ws[:, i])]
        assert len(hits) == 1, f"{name} read {hits}"
        readers[name] = hits[0]
    return readers


def is_conv_affine(module: nn.Module, affine_name: str) -> bool:
    """Ground truth from the layout classes: the affine styles a (non-ToRGB) convolution."""
    parent = module.get_submodule(affine_name.removesuffix(".affine"))
    return isinstance(parent, SynthesisLayer) or (isinstance(parent, SG3SynthesisLayer) and not parent.is_torgb)


# ---- recognition -------------------------------------------------------------------


class _RosinalityLike(nn.Module):
    """Attributes of rosinality's stylegan2-pytorch Generator."""

    def __init__(self) -> None:
        super().__init__()
        self.style = nn.Sequential(nn.Linear(8, 8))
        self.conv1 = nn.Conv2d(8, 8, 3)
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3)])
        self.to_rgbs = nn.ModuleList([nn.Conv2d(8, 3, 1)])
        self.n_latent, self.num_layers = 4, 3


def test_recognises_both_layouts_and_nothing_else() -> None:
    for k in LAYOUTS:
        module = build(k)
        assert looks_like_nvidia_stylegan(module)
        G = as_generator(module)
        assert type(G) is NvidiaStyleGAN and G.latent_space == "w" and G.default_truncation == 1.0
        assert (G.z_dim, G.w_dim, G.num_ws, G.img_resolution, G.c_dim) == (32, 32, 6, 16, 0)
    assert not looks_like_nvidia_stylegan(_RosinalityLike())
    assert not looks_like_nvidia_stylegan(nn.Linear(4, 4))
    assert not looks_like_nvidia_stylegan("G")
    assert isinstance(as_generator(DCGAN(z_dim=8, ngf=4)), SingleInputGenerator)
    with pytest.raises(TypeError, match="not an NVIDIA"):
        NvidiaStyleGAN(nn.Linear(4, 4))


# ---- latents ---------------------------------------------------------------------


def test_sample_is_deterministic_per_seed(kind: str) -> None:
    G = as_generator(build(kind))
    lat = G.sample(3, seed=5)
    assert lat.ws.shape == (3, G.num_ws, G.w_dim)
    torch.testing.assert_close(G.sample(3, seed=5).ws, lat.ws, rtol=0, atol=0)
    for i in range(3):
        torch.testing.assert_close(G.sample(1, seed=5 + i).ws[0], lat.ws[i])
    # Untruncated, the mapping broadcasts one w to every layer.
    assert torch.equal(lat.ws, lat.ws[:, :1].expand_as(lat.ws))


def test_truncation_lerps_towards_w_avg(kind: str) -> None:
    G = as_generator(build(kind))
    w_avg = G.module.mapping.w_avg
    assert w_avg.abs().sum() > 0  # the stand-in tracks a non-trivial average
    at_avg = G.sample(3, seed=0, truncation=0).ws
    torch.testing.assert_close(at_avg, w_avg.expand_as(at_avg))
    full, half = G.sample(3, seed=0).ws, G.sample(3, seed=0, truncation=0.5).ws
    torch.testing.assert_close(half, (full + w_avg) / 2)


def test_conditional_model_uses_class_index(kind: str) -> None:
    G = as_generator(build(kind, c_dim=3), class_names=["a", "b", "c"])
    assert G.c_dim == 3 and G.class_names == ("a", "b", "c")
    lat = G.sample(3, seed=0, class_index=[0, 1, 2])
    assert torch.equal(lat.c, torch.eye(3))
    torch.testing.assert_close(lat.ws, G.module.mapping(seeded_normal([0, 1, 2], 32), torch.eye(3)))
    assert not torch.allclose(G.sample(1, seed=0, class_index=0).ws, G.sample(1, seed=0, class_index=1).ws)
    assert G.synthesize(lat).shape == (3, 3, 16, 16)
    with pytest.raises(ValueError, match="class_index"):
        G.sample(1, class_index=3)
    with pytest.raises(ValueError, match="unconditional"):
        as_generator(build(kind)).sample(1, class_index=0)


# ---- synthesis ---------------------------------------------------------------------


def test_synthesize_matches_the_raw_module(kind: str) -> None:
    G = as_generator(build(kind))
    lat = G.sample(2, seed=3, truncation=0.7)
    img = G.synthesize(lat)
    assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32
    assert img.min() >= -1 and img.max() <= 1 and img.std() > 0.01
    assert torch.equal(G.synthesize(lat), img)
    with torch.no_grad():
        raw = G.module.synthesis(lat.ws, noise_mode="const")
        whole = G.module(seeded_normal([3, 4], G.z_dim), None, truncation_psi=0.7, noise_mode="const")
    torch.testing.assert_close(img, raw.clamp(-1, 1))
    torch.testing.assert_close(img, whole.clamp(-1, 1))


def test_noise_is_held_constant() -> None:
    # StyleGAN2-ADA draws fresh noise unless told otherwise; the adapter must not.
    G = as_generator(build("sg2"))
    lat = G.sample(1, seed=0)
    with torch.no_grad():
        random = G.module.synthesis(lat.ws, noise_mode="random")
    assert not torch.allclose(random.clamp(-1, 1), G.synthesize(lat))


def test_each_layer_edit_changes_the_image(kind: str) -> None:
    G = as_generator(build(kind))
    lat = G.sample(2, seed=1)
    base = G.synthesize(lat)
    assert torch.equal(G.synthesize(lat.replace(ws=lat.ws.clone())), base)
    delta = torch.randn(G.w_dim, generator=torch.Generator().manual_seed(0)) * 2
    for k in range(G.num_ws):  # every w is read, including StyleGAN3's input and last one
        ws = lat.ws.clone()
        ws[:, k] += delta
        assert not torch.allclose(G.synthesize(lat.replace(ws=ws)), base, atol=1e-4), f"ws[:, {k}] unused"


# ---- projection weights ----------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_projection_weights_are_the_affines_that_read_each_w(layout: str) -> None:
    G = as_generator(build(layout))
    readers = affine_readers(G.module, torch.randn(2, G.num_ws, G.w_dim))
    conv_affines = {name for name in readers if is_conv_affine(G.module, name)}
    # genforce/sefa's "all": every conv's style, and the last ToRGB's (it alone reads the last w).
    last_rgb = {name for name, i in readers.items() if i == G.num_ws - 1}
    assert len(last_rgb) == 1 and not last_rgb & conv_affines
    pws = G.projection_weights()
    assert {pw.name for pw in pws} == conv_affines | last_rgb
    assert {pw.layer for pw in pws} == CONV_INDICES[layout] | {G.num_ws - 1}
    for pw in pws:
        assert readers[pw.name] == pw.layer, f"{pw.name} reads ws[{readers[pw.name]}], not ws[{pw.layer}]"
        weight = G.module.get_submodule(pw.name).weight
        assert pw.matrix.dtype == np.float64 and pw.matrix.shape == (weight.shape[0], G.w_dim)
        np.testing.assert_array_equal(pw.matrix, weight.double().numpy())
    # Each readable layer name is a layer that reads that index.
    assert len(G.layer_names) == G.num_ws
    for i, name in enumerate(G.layer_names):
        assert readers[f"synthesis.{name}.affine"] == i


def test_projection_weights_for_chosen_layers(kind: str) -> None:
    G = as_generator(build(kind))
    first = min(CONV_INDICES[kind])
    last = G.num_ws - 1
    picked = G.projection_weights([first, last])  # the last index brings the last ToRGB
    assert {pw.layer for pw in picked} == {first, last}
    assert [pw.name for pw in G.projection_weights(first)] == [pw.name for pw in picked if pw.layer == first]
    (rgb,) = G.projection_weights([last])
    assert rgb.layer == last and rgb.name.endswith(".affine") and rgb.matrix.shape[1] == G.w_dim
    if kind == "sg3":  # the input transform (rotation, translation) is no style SeFa reads
        with pytest.raises(ValueError, match="feed no modulated convolution"):
            G.projection_weights([0])
    for bad in ([G.num_ws], [-1], []):
        with pytest.raises(ValueError, match="layers must be indices"):
            G.projection_weights(bad)


def test_sg2_names_follow_the_block_bookkeeping() -> None:
    G = as_generator(build("sg2"))
    assert G.layer_names == ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1", "b16.torgb"]
    assert [pw.name for pw in G.projection_weights([1])] == ["synthesis.b8.conv0.affine"]
    G3 = as_generator(build("sg3"))
    assert G3.layer_names == ["input", *G3.module.synthesis.layer_names]


# ---- feature layers ----------------------------------------------------------------------


def test_feature_layers_read_and_inject(kind: str) -> None:
    G = as_generator(build(kind))
    lat = G.sample(2, seed=2)
    base = G.synthesize(lat)
    assert G.feature_layers
    for name, layer in G.feature_layers.items():
        assert G.activations(lat, name).shape == (2, *layer.shape)
        offsets = {name: torch.full((2, layer.channels), 2.0)}
        assert not torch.allclose(G.synthesize(lat.replace(offsets=offsets)), base, atol=1e-4)
        with pytest.raises(ValueError, match="depend on w"):
            G.feature_projection(name)
