"""A tiny stand-in for pytorch-pretrained-biggan's ``BigGAN`` (the BigGAN-deep layout).

Same attribute names, shapes and forward semantics as the published package,
so a state dict has the same keys, but random weights and toy sizes: z_dim 16,
10 classes, channel width 4, four GenBlocks with one SelfAttn, 16×16 images.
Spectral norm uses ``torch.nn.utils.spectral_norm`` as the original does, so
spectrally normalized layers carry ``weight_orig``, ``weight_u``, ``weight_v``.

The channel arithmetic forces four GenBlocks: ``gen_z`` emits ``16 * ch``
channels, ``bn``/``conv_to_rgb`` read ``ch``, and a block that changes width
keeps the first half of its skip input, so widths go 16 → 8 → 4 → 2 → 1 (× ch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BigGANConfig:
    """The config fields the adapter and the module read (toy sizes)."""

    output_dim: int = 16
    z_dim: int = 16
    class_embed_dim: int = 16
    channel_width: int = 4
    num_classes: int = 10
    # (up_sample, in_mult, out_mult): widths halve each block, two of them upsample.
    layers: list[tuple[bool, int, int]] = field(
        default_factory=lambda: [(False, 16, 8), (False, 8, 4), (True, 4, 2), (True, 2, 1)]
    )
    attention_layer_position: int = 2
    eps: float = 1e-4
    n_stats: int = 51


def _sn_conv(eps: float, **kwargs: object) -> nn.Module:
    return nn.utils.spectral_norm(nn.Conv2d(**kwargs), eps=eps)  # type: ignore[arg-type]


def _sn_linear(eps: float, **kwargs: object) -> nn.Module:
    return nn.utils.spectral_norm(nn.Linear(**kwargs), eps=eps)  # type: ignore[arg-type]


class SelfAttn(nn.Module):
    """SAGAN self-attention with 2×2 max-pooled keys and values."""

    def __init__(self, in_channels: int, eps: float = 1e-12) -> None:
        super().__init__()
        self.in_channels = in_channels
        c = in_channels
        self.snconv1x1_theta = _sn_conv(eps, in_channels=c, out_channels=c // 8, kernel_size=1, bias=False)
        self.snconv1x1_phi = _sn_conv(eps, in_channels=c, out_channels=c // 8, kernel_size=1, bias=False)
        self.snconv1x1_g = _sn_conv(eps, in_channels=c, out_channels=c // 2, kernel_size=1, bias=False)
        self.snconv1x1_o_conv = _sn_conv(eps, in_channels=c // 2, out_channels=c, kernel_size=1, bias=False)
        self.maxpool = nn.MaxPool2d(2, stride=2, padding=0)
        self.softmax = nn.Softmax(dim=-1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, ch, h, w = x.shape
        query = self.snconv1x1_theta(x).view(n, ch // 8, h * w)
        key = self.maxpool(self.snconv1x1_phi(x)).view(n, ch // 8, h * w // 4)
        attn = self.softmax(torch.bmm(query.permute(0, 2, 1), key))  # (n, hw, hw/4)
        value = self.maxpool(self.snconv1x1_g(x)).view(n, ch // 2, h * w // 4)
        mixed = torch.bmm(value, attn.permute(0, 2, 1)).view(n, ch // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(mixed)


class BigGANBatchNorm(nn.Module):
    """Batch norm with stored statistics per truncation, optionally class-conditional."""

    def __init__(
        self,
        num_features: int,
        condition_vector_dim: int | None = None,
        n_stats: int = 51,
        eps: float = 1e-4,
        conditional: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.conditional = conditional
        # Row j holds the statistics measured at truncation j / (n_stats - 1).
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.step_size = 1.0 / (n_stats - 1)
        if conditional:
            assert condition_vector_dim is not None
            dims = {"in_features": condition_vector_dim, "out_features": num_features, "bias": False}
            self.scale = _sn_linear(eps, **dims)
            self.offset = _sn_linear(eps, **dims)
        else:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, truncation: float, condition_vector: torch.Tensor | None = None) -> torch.Tensor:
        frac, whole = math.modf(truncation / self.step_size)
        i = int(whole)
        if frac != 0.0:
            # The published weighting, kept as is: the fraction weights the lower row.
            mean = self.running_means[i] * frac + self.running_means[i + 1] * (1 - frac)
            var = self.running_vars[i] * frac + self.running_vars[i + 1] * (1 - frac)
        else:
            mean, var = self.running_means[i], self.running_vars[i]
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)
        mean = mean.view(1, -1, 1, 1)
        var = var.view(1, -1, 1, 1)
        gain = 1 + self.scale(condition_vector).view(x.shape[0], -1, 1, 1)
        shift = self.offset(condition_vector).view(x.shape[0], -1, 1, 1)
        return (x - mean) / torch.sqrt(var + self.eps) * gain + shift


class GenBlock(nn.Module):
    """BigGAN-deep residual block: 1×1 down, two 3×3, 1×1 up, each after a conditional BN."""

    def __init__(
        self,
        in_size: int,
        out_size: int,
        condition_vector_dim: int,
        reduction_factor: int = 4,
        up_sample: bool = False,
        n_stats: int = 51,
        eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.up_sample = up_sample
        self.drop_channels = in_size != out_size
        mid = in_size // reduction_factor
        self.bn_0 = BigGANBatchNorm(in_size, condition_vector_dim, n_stats=n_stats, eps=eps)
        self.conv_0 = _sn_conv(eps, in_channels=in_size, out_channels=mid, kernel_size=1)
        self.bn_1 = BigGANBatchNorm(mid, condition_vector_dim, n_stats=n_stats, eps=eps)
        self.conv_1 = _sn_conv(eps, in_channels=mid, out_channels=mid, kernel_size=3, padding=1)
        self.bn_2 = BigGANBatchNorm(mid, condition_vector_dim, n_stats=n_stats, eps=eps)
        self.conv_2 = _sn_conv(eps, in_channels=mid, out_channels=mid, kernel_size=3, padding=1)
        self.bn_3 = BigGANBatchNorm(mid, condition_vector_dim, n_stats=n_stats, eps=eps)
        self.conv_3 = _sn_conv(eps, in_channels=mid, out_channels=out_size, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, cond_vector: torch.Tensor, truncation: float) -> torch.Tensor:
        skip = x
        h = self.conv_0(self.relu(self.bn_0(x, truncation, cond_vector)))
        h = self.relu(self.bn_1(h, truncation, cond_vector))
        if self.up_sample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv_1(h)
        h = self.conv_2(self.relu(self.bn_2(h, truncation, cond_vector)))
        h = self.conv_3(self.relu(self.bn_3(h, truncation, cond_vector)))
        if self.drop_channels:
            skip = skip[:, : skip.shape[1] // 2]
        if self.up_sample:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return h + skip


class Generator(nn.Module):
    """``gen_z`` → 4×4 map → GenBlocks (and one SelfAttn) → BN, ReLU, conv → tanh."""

    def __init__(self, config: BigGANConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channel_width
        cond_dim = 2 * config.z_dim
        self.gen_z = _sn_linear(config.eps, in_features=cond_dim, out_features=4 * 4 * 16 * ch)
        layers: list[nn.Module] = []
        for i, (up, in_mult, out_mult) in enumerate(config.layers):
            if i == config.attention_layer_position:
                layers.append(SelfAttn(ch * in_mult, eps=config.eps))
            layers.append(
                GenBlock(ch * in_mult, ch * out_mult, cond_dim, up_sample=up, n_stats=config.n_stats, eps=config.eps)
            )
        self.layers = nn.ModuleList(layers)
        self.bn = BigGANBatchNorm(ch, n_stats=config.n_stats, eps=config.eps, conditional=False)
        self.relu = nn.ReLU()
        self.conv_to_rgb = _sn_conv(config.eps, in_channels=ch, out_channels=ch, kernel_size=3, padding=1)
        self.tanh = nn.Tanh()

    def forward(self, cond_vector: torch.Tensor, truncation: float) -> torch.Tensor:
        x = self.gen_z(cond_vector)
        # The published weights come from TensorFlow: the vector is laid out (4, 4, channels).
        x = x.view(-1, 4, 4, 16 * self.config.channel_width).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, cond_vector, truncation) if isinstance(layer, GenBlock) else layer(x)
        x = self.conv_to_rgb(self.relu(self.bn(x, truncation)))
        return self.tanh(x[:, :3])


class BigGAN(nn.Module):
    """Class embedding + generator; every GenBlock gets the same ``cat(z, embed)``."""

    def __init__(self, config: BigGANConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = nn.Linear(config.num_classes, config.z_dim, bias=False)
        self.generator = Generator(config)

    def forward(self, z: torch.Tensor, class_label: torch.Tensor, truncation: float) -> torch.Tensor:
        assert 0 < truncation <= 1
        cond_vector = torch.cat((z, self.embeddings(class_label)), dim=1)
        return self.generator(cond_vector, truncation)


def make_biggan(seed: int = 0) -> BigGAN:
    """A toy BigGAN with seeded random weights and statistics, in eval mode.

    The batch-norm statistics differ per truncation row and the attention gain is
    non-zero, so truncation and the SelfAttn both matter. A few training-mode
    passes run the spectral-norm power iteration, so ``weight_u``/``weight_v``
    approximate the top singular vectors as in a trained model.
    """
    # Module init draws from the global RNG; fork it so the caller's stream is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BigGAN(BigGANConfig())
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, BigGANBatchNorm):
                module.running_means.copy_(0.1 * torch.randn(module.running_means.shape, generator=g))
                module.running_vars.copy_(0.5 + torch.rand(module.running_vars.shape, generator=g))
            elif isinstance(module, SelfAttn):
                module.gamma.fill_(0.5)
        model.train()
        cfg = model.config
        for _ in range(10):
            z = torch.randn(2, cfg.z_dim, generator=g)
            c = F.one_hot(torch.arange(2) % cfg.num_classes, cfg.num_classes).float()
            model(z, c, 1.0)
    return model.eval()
