"""Small stand-ins for NVIDIA's StyleGAN2-ADA and StyleGAN3 generators.

Written from scratch for the tests. They keep the public layout of NVIDIA's
``training/networks.py`` (StyleGAN2-ADA) and ``training/networks_stylegan3.py``
(StyleGAN3): attribute names, weight shapes, forward signatures and, above all,
the bookkeeping of which layer consumes which ``ws[:, i]``. They drop what an
adapter never sees: FIR resampling (bilinear here), alias-free filtering, FP16,
clamping and the training-time statistics. Weights are random and sizes tiny,
so a forward pass takes milliseconds on the CPU.

StyleGAN2-ADA names are NVIDIA's (``Generator``, ``SynthesisBlock``, ...); the
StyleGAN3 classes that share a name carry an ``SG3`` prefix to live in one file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    # The gain keeps unit variance through the leaky ReLU, as in NVIDIA's bias_act.
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, padding: int = 0
) -> torch.Tensor:
    """Per-sample convolution with weights scaled by ``styles`` on the input axis.

    x (n, in, h, w), weight (out, in, k, k), styles (n, in) → (n, out, h', w').
    """
    n, in_ch = styles.shape
    out_ch, _, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.view(n, 1, in_ch, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    # Grouped convolution: the batch folded into channels, one group per sample.
    y = F.conv2d(x.reshape(1, n * in_ch, *x.shape[2:]), w.reshape(n * out_ch, in_ch, kh, kw), padding=padding, groups=n)
    return y.reshape(n, out_ch, *y.shape[2:])


class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer; ``weight`` is (out, in)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float | Sequence[float] = 0.0,
        weight_init: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        bias = torch.as_tensor(bias_init, dtype=torch.float32).expand(out_features).clone()
        self.bias = nn.Parameter(bias / lr_multiplier)
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return _lrelu(x) if self.activation == "lrelu" else x


class MappingNetwork(nn.Module):
    """z (n, z_dim) and c (n, c_dim) → ws (n, num_ws, w_dim), truncated towards ``w_avg``."""

    def __init__(
        self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 2, lr_multiplier: float = 0.01
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, w_dim)
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], "lrelu", lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        **_training_flags: object,
    ) -> torch.Tensor:
        x = _normalize(z.float())
        if self.c_dim > 0:
            assert c is not None and c.shape[1] == self.c_dim, "conditioning of width c_dim expected"
            x = torch.cat([x, _normalize(self.embed(c.float()))], dim=1)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x

    @torch.no_grad()
    def track_w_avg(self, n: int = 256) -> None:
        """Set ``w_avg`` to the mean w of random z, standing in for the training-time average."""
        c = F.one_hot(torch.randint(self.c_dim, (n,)), self.c_dim).float() if self.c_dim else None
        self.w_avg.copy_(self(torch.randn(n, self.z_dim), c)[:, 0].mean(0))


# ---- StyleGAN2-ADA ---------------------------------------------------------------


class SynthesisLayer(nn.Module):
    """Modulated 3×3 convolution (optionally 2× upsampling) with per-pixel noise."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3, up: int = 1
    ) -> None:
        super().__init__()
        self.resolution, self.up, self.use_noise, self.padding = resolution, up, True, kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        # NVIDIA starts this at zero; trained models have it non-zero, so noise matters here too.
        self.noise_strength = nn.Parameter(torch.tensor(0.2))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", fused_modconv: bool = True, gain: float = 1
    ) -> torch.Tensor:
        assert noise_mode in ("random", "const", "none")
        styles = self.affine(w)
        if self.up > 1:
            x = F.interpolate(x, scale_factor=self.up, mode="bilinear", align_corners=False)
        x = modulated_conv2d(x, self.weight, styles, padding=self.padding)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, self.resolution, self.resolution) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return _lrelu(x + self.bias.view(1, -1, 1, 1)) * gain


class ToRGBLayer(nn.Module):
    """Modulated 1×1 convolution to colour, without demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1) -> None:
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        # Smaller than NVIDIA's N(0, 1) init so that the summed skip outputs stay
        # roughly in [-1, 1], as a trained model's do.
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) * 0.2)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        return modulated_conv2d(x, self.weight, styles, demodulate=False) + self.bias.view(1, -1, 1, 1)


class SynthesisBlock(nn.Module):
    """One resolution: ``const`` (first block) or ``conv0`` (up), then ``conv1``, then ``torgb``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
    ) -> None:
        assert architecture in ("skip", "orig")
        super().__init__()
        self.in_channels, self.w_dim, self.resolution, self.img_channels = in_channels, w_dim, resolution, img_channels
        self.is_last, self.architecture = is_last, architecture
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim)
            self.num_torgb += 1

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        force_fp32: bool = False,
        fused_modconv: bool | None = None,
        **layer_kwargs: object,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        assert ws.shape[1] == self.num_conv + self.num_torgb
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
        else:
            x = self.conv0(x, next(w_iter), **layer_kwargs)
        x = self.conv1(x, next(w_iter), **layer_kwargs)
        if img is not None:
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
        if self.num_torgb:
            y = self.torgb(x, next(w_iter))
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """Blocks ``b4, b8, ..., b{img_resolution}``; block i reads ws from ``w_idx`` on."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 256,
        channel_max: int = 32,
        **block_kwargs: object,
    ) -> None:
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        self.num_ws = 0
        for res in self.block_resolutions:
            is_last = res == img_resolution
            block = SynthesisBlock(
                channels[res // 2] if res > 4 else 0, channels[res], w_dim, res, img_channels, is_last, **block_kwargs
            )
            # A block's torgb shares its w with the next block's conv0, so only the
            # last block's torgb adds a latent.
            self.num_ws += block.num_conv + (block.num_torgb if is_last else 0)
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, **block_kwargs: object) -> torch.Tensor:
        assert ws.shape[1:] == (self.num_ws, self.w_dim)
        ws = ws.float()
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), **block_kwargs)
            w_idx += block.num_conv
        assert img is not None
        return img


class Generator(nn.Module):
    """``G(z, c, truncation_psi)`` = ``synthesis(mapping(z, c, truncation_psi))``."""

    synthesis_class: type[nn.Module] = SynthesisNetwork

    def __init__(
        self,
        z_dim: int = 32,
        c_dim: int = 0,
        w_dim: int = 32,
        img_resolution: int = 16,
        img_channels: int = 3,
        mapping_kwargs: dict | None = None,
        synthesis_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = self.synthesis_class(
            w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, **(synthesis_kwargs or {})
        )
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **(mapping_kwargs or {}))
        self.mapping.track_w_avg()

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None,
        truncation_psi: float = 1,
        truncation_cutoff: int | None = None,
        **synthesis_kwargs: object,
    ) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, **synthesis_kwargs)


# ---- StyleGAN3 -------------------------------------------------------------------


class SynthesisInput(nn.Module):
    """Fourier features rotated and shifted by ``affine(ws[:, 0])`` → (n, channels, size, size)."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, size
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn(channels, 2)
        self.register_buffer("freqs", freqs / freqs.norm(dim=1, keepdim=True) * bandwidth * torch.rand(channels, 1))
        self.register_buffer("phases", torch.rand(channels) - 0.5)
        self.weight = nn.Parameter(torch.randn(channels, channels))
        # (cos, sin, tx, ty); NVIDIA initialises the weight at zero, a trained one is not.
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0.1, bias_init=[1, 0, 0, 0])

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        cos, sin = t[:, 0], t[:, 1]
        rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (n, 2, 2)
        freqs = self.freqs.unsqueeze(0) @ rot  # (n, C, 2)
        phases = self.phases + (freqs @ -t[:, 2:].unsqueeze(2)).squeeze(2)  # (n, C)
        axis = (torch.arange(self.size, device=w.device, dtype=w.dtype) + 0.5 - self.size / 2) / self.sampling_rate
        grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1)  # (H, W, 2)
        x = torch.sin(2 * math.pi * (torch.einsum("hwk,nck->nhwc", grid, freqs) + phases[:, None, None]))
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SG3SynthesisLayer(nn.Module):
    """Modulated convolution, resized to ``out_size``; the last one (``is_torgb``) is 1×1, linear."""

    def __init__(
        self, w_dim: int, is_torgb: bool, in_channels: int, out_channels: int, in_size: int, out_size: int
    ) -> None:
        super().__init__()
        self.w_dim, self.is_torgb, self.in_channels, self.out_channels = w_dim, is_torgb, in_channels, out_channels
        self.in_size, self.out_size = [in_size, in_size], [out_size, out_size]
        self.conv_kernel = 1 if is_torgb else 3
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "random",
        force_fp32: bool = False,
        update_emas: bool = False,
    ) -> torch.Tensor:
        assert noise_mode in ("random", "const", "none")  # StyleGAN3 has no noise inputs
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        x = x * self.magnitude_ema.rsqrt()
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel // 2)
        if x.shape[-1] != self.out_size[0]:
            x = F.interpolate(x, size=self.out_size, mode="bilinear", align_corners=False)
        x = x + self.bias.view(1, -1, 1, 1)
        return x if self.is_torgb else _lrelu(x)


class SG3SynthesisNetwork(nn.Module):
    """``input`` takes ``ws[:, 0]``; ``layer_names[i]`` takes ``ws[:, i + 1]`` (the last is ToRGB)."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 256,
        channel_max: int = 32,
        num_layers: int = 4,
        num_critical: int = 2,
        margin_size: int = 2,
        output_scale: float = 0.25,
    ) -> None:
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers, self.num_critical, self.margin_size = num_layers, num_critical, margin_size
        self.output_scale = output_scale
        self.num_ws = num_layers + 2
        # Sampling rates grow geometrically from 4 to img_resolution, reached
        # num_critical layers before the end; sizes include a margin except the last two.
        steps = [min(i / (num_layers - num_critical), 1.0) for i in range(num_layers + 1)]
        rates = [2 ** round(2 + (math.log2(img_resolution) - 2) * s) for s in steps]
        sizes = [r + 2 * margin_size for r in rates[:-2]] + [img_resolution] * 2
        channels = [min(channel_base // r, channel_max) for r in rates[:-1]] + [img_channels]
        self.input = SynthesisInput(w_dim, channels[0], sizes[0], rates[0], rates[0] / 2)
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SG3SynthesisLayer(w_dim, idx == num_layers, channels[prev], channels[idx], sizes[prev], sizes[idx])
            name = f"L{idx}_{sizes[idx]}_{channels[idx]}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, **layer_kwargs: object) -> torch.Tensor:
        assert ws.shape[1:] == (self.num_ws, self.w_dim)
        w_list = ws.float().unbind(dim=1)
        x = self.input(w_list[0])
        for name, w in zip(self.layer_names, w_list[1:], strict=True):
            x = getattr(self, name)(x, w, **layer_kwargs)
        return x * self.output_scale


class SG3Generator(Generator):
    """NVIDIA's StyleGAN3 ``Generator``: the same mapping, an alias-free-style synthesis."""

    synthesis_class = SG3SynthesisNetwork
