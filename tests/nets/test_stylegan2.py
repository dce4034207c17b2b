"""Our StyleGAN2: rosinality's state-dict layout, forward semantics, differentiability."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from semwidget.nets import StyleGAN2
from semwidget.nets._stylegan2_ops import ModulatedConv2d, make_kernel, upfirdn2d


def rosinality_layout(size: int, style_dim: int, n_mlp: int, multiplier: int) -> dict[str, tuple[int, ...]]:
    """Every g_ema key and shape of rosinality's ``Generator(size, style_dim, n_mlp, multiplier)``,
    spelled out from its model.py (stylegan2-pytorch, commit 7e46e47)."""
    ch = {4: 512, 8: 512, 16: 512, 32: 512}
    ch.update({r: 16384 // r * multiplier for r in (64, 128, 256, 512, 1024)})
    out: dict[str, tuple[int, ...]] = {}
    for i in range(1, n_mlp + 1):
        out[f"style.{i}.weight"] = (style_dim, style_dim)
        out[f"style.{i}.bias"] = (style_dim,)

    def styled(prefix: str, cin: int, cout: int, up: bool) -> None:
        out[f"{prefix}.conv.weight"] = (1, cout, cin, 3, 3)
        out[f"{prefix}.conv.modulation.weight"] = (cin, style_dim)
        out[f"{prefix}.conv.modulation.bias"] = (cin,)
        if up:
            out[f"{prefix}.conv.blur.kernel"] = (4, 4)
        out[f"{prefix}.noise.weight"] = (1,)
        out[f"{prefix}.activate.bias"] = (cout,)

    def to_rgb(prefix: str, cin: int, up: bool) -> None:
        out[f"{prefix}.bias"] = (1, 3, 1, 1)
        if up:
            out[f"{prefix}.upsample.kernel"] = (4, 4)
        out[f"{prefix}.conv.weight"] = (1, 3, cin, 1, 1)
        out[f"{prefix}.conv.modulation.weight"] = (cin, style_dim)
        out[f"{prefix}.conv.modulation.bias"] = (cin,)

    out["input.input"] = (1, ch[4], 4, 4)
    styled("conv1", ch[4], ch[4], False)
    to_rgb("to_rgb1", ch[4], False)
    log_size = int(math.log2(size))
    for k in range((log_size - 2) * 2 + 1):
        r = 2 ** ((k + 5) // 2)
        out[f"noises.noise_{k}"] = (1, 1, r, r)
    cin = ch[4]
    for j, log_r in enumerate(range(3, log_size + 1)):
        cout = ch[2**log_r]
        styled(f"convs.{2 * j}", cin, cout, True)
        styled(f"convs.{2 * j + 1}", cout, cout, False)
        to_rgb(f"to_rgbs.{j}", cout, True)
        cin = cout
    return out


def shapes(net: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


@pytest.mark.parametrize(
    ("size", "style_dim", "n_mlp", "multiplier"), [(256, 512, 8, 2), (64, 32, 2, 1), (1024, 512, 8, 2)]
)
def test_state_dict_matches_rosinality(size, style_dim, n_mlp, multiplier):
    with torch.device("meta"):  # shapes only: no memory, no init cost
        net = StyleGAN2(size, style_dim, n_mlp, channel_multiplier=multiplier)
    assert shapes(net) == rosinality_layout(size, style_dim, n_mlp, multiplier)


def test_known_keys_of_the_ffhq_256_checkpoint():
    with torch.device("meta"):
        sd = shapes(StyleGAN2(256, 512, 8))
    assert sd["style.8.weight"] == (512, 512)
    assert sd["convs.11.conv.weight"] == (1, 128, 128, 3, 3)
    assert sd["convs.6.conv.weight"] == (1, 512, 512, 3, 3)  # 64×64 in; 2 × 256 = 512 out
    assert sd["to_rgbs.5.conv.weight"] == (1, 3, 128, 1, 1)
    assert sd["noises.noise_12"] == (1, 1, 256, 256)
    assert "upsamples" not in " ".join(sd)  # rosinality's empty ModuleList holds nothing


def test_filter_buffers_hold_rosinality_values():
    net = StyleGAN2(16, 8, 1, channel_max=4)
    expected = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64 * 4
    sd = net.state_dict()
    assert torch.allclose(sd["convs.0.conv.blur.kernel"], expected)
    assert torch.allclose(sd["to_rgbs.0.upsample.kernel"], expected)


@pytest.mark.parametrize(("size", "n_latent", "num_layers"), [(4, 2, 1), (16, 6, 5), (256, 14, 13), (1024, 18, 17)])
def test_layer_counts(size, n_latent, num_layers):
    with torch.device("meta"):
        net = StyleGAN2(size, 8, 1)
    assert (net.n_latent, net.num_layers, net.log_size) == (n_latent, num_layers, int(math.log2(size)))


@pytest.fixture
def net() -> StyleGAN2:
    torch.manual_seed(0)
    return StyleGAN2(32, 16, 2, channel_multiplier=1, channel_max=8)


def test_forward_shapes_and_latents(net):
    z = torch.randn(3, 16)
    img, latent = net([z], return_latents=True, randomize_noise=False)
    assert img.shape == (3, 3, 32, 32) and latent.shape == (3, net.n_latent, 16)
    assert torch.allclose(latent, net.get_latent(z)[:, None].expand_as(latent))
    assert net([z])[1] is None


def test_input_is_latent_with_a_full_layerwise_latent(net):
    w = net.get_latent(torch.randn(2, 16))
    tiled = w[:, None].repeat(1, net.n_latent, 1)
    a, _ = net([w], input_is_latent=True, randomize_noise=False)
    b, _ = net([tiled], input_is_latent=True, randomize_noise=False)
    assert torch.allclose(a, b, atol=1e-6)


def test_style_mixing_and_truncation(net):
    z1, z2 = torch.randn(2, 16), torch.randn(2, 16)
    _, latent = net([z1, z2], inject_index=3, return_latents=True)
    w1, w2 = net.get_latent(z1), net.get_latent(z2)
    assert torch.allclose(latent[:, :3], w1[:, None].expand(-1, 3, -1))
    assert torch.allclose(latent[:, 3:], w2[:, None].expand(-1, net.n_latent - 3, -1))
    avg = net.mean_latent(256)
    assert avg.shape == (1, 16)
    _, latent = net([z1], truncation=0, truncation_latent=avg, return_latents=True)
    assert torch.allclose(latent, avg.expand_as(latent[:, 0])[:, None].expand_as(latent))


def test_noise_buffers_make_it_deterministic(net):
    for m in net.modules():
        if hasattr(m, "noise") and hasattr(m.noise, "weight"):
            torch.nn.init.ones_(m.noise.weight)  # zero at init: noise would not show
    z = torch.randn(2, 16)
    assert torch.equal(net([z], randomize_noise=False)[0], net([z], randomize_noise=False)[0])
    assert not torch.allclose(net([z])[0], net([z])[0])
    noise = net.make_noise()
    buffers = [getattr(net.noises, f"noise_{k}") for k in range(net.num_layers)]
    assert [n.shape for n in noise] == [b.shape for b in buffers]
    assert torch.equal(net([z], noise=noise)[0], net([z], noise=noise)[0])


def test_backward_reaches_every_parameter(net):
    z = torch.randn(2, 16, requires_grad=True)
    img, _ = net([z])
    img.square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_second_order_gradients_for_path_length_regularisation(net):
    w = net.get_latent(torch.randn(2, 16)).detach().requires_grad_(True)
    img, _ = net([w], input_is_latent=True)
    (grad,) = torch.autograd.grad((img * torch.randn_like(img)).sum(), w, create_graph=True)
    grad.square().sum().backward()
    assert net.convs[0].conv.weight.grad is not None


def reference_modulated_conv(m: ModulatedConv2d, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The textbook form: one modulated, demodulated weight per sample."""
    s = m.modulation(style)
    outs = []
    for b in range(x.shape[0]):
        w = m.scale * m.weight[0] * s[b].view(1, -1, 1, 1)
        if m.demodulate:
            w = w * torch.rsqrt(w.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        if m.upsample:
            outs.append(m.blur(F.conv_transpose2d(x[b : b + 1], w.transpose(0, 1), stride=2)))
        else:
            outs.append(F.conv2d(x[b : b + 1], w, padding=m.padding))
    return torch.cat(outs)


@pytest.mark.parametrize(("k", "up", "demod"), [(3, False, True), (3, True, True), (1, False, False)])
def test_modulated_conv_equals_per_sample_weights(k, up, demod):
    torch.manual_seed(1)
    m = ModulatedConv2d(6, 5, k, 4, demodulate=demod, upsample=up)
    x, style = torch.randn(3, 6, 7, 7), torch.randn(3, 4)
    out = m(x, style)
    assert out.shape == (3, 5, 14 if up else 7, 14 if up else 7)
    assert torch.allclose(out, reference_modulated_conv(m, x, style), atol=1e-5)


def test_upfirdn2d_upsamples_by_zero_insertion_and_filtering():
    kernel = make_kernel([1, 3, 3, 1]) * 4
    x = torch.randn(2, 3, 5, 5)
    out = upfirdn2d(x, kernel, up=2, pad=(2, 1))
    zeros = torch.zeros(2, 3, 10, 10)
    zeros[:, :, ::2, ::2] = x
    padded = F.pad(zeros, [2, 1, 2, 1]).reshape(6, 1, 13, 13)
    expected = F.conv2d(padded, kernel.flip([0, 1])[None, None]).reshape(2, 3, 10, 10)
    assert torch.allclose(out, expected, atol=1e-6)
    flat = upfirdn2d(torch.ones(1, 1, 6, 6), kernel, up=2, pad=(2, 1))
    assert torch.allclose(flat[..., 2:-2, 2:-2], torch.ones(1, 1, 8, 8))  # brightness kept
    assert upfirdn2d(x, make_kernel([1, 1]), down=2).shape == (2, 3, 2, 2)
