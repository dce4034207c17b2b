"""Pure-PyTorch building blocks of our StyleGAN2 (see :mod:`._stylegan2`).

rosinality's stylegan2-pytorch compiles two CUDA extensions, ``upfirdn2d`` and
``fused_bias_act``. Both are plain linear algebra plus an activation, so here
they are written with ordinary differentiable torch ops: they run on any device,
autograd derives their gradients (including the second-order ones the R1 and
path-length regularisers need), and no compiler is involved.

:class:`ModulatedConv2d`, the heart of StyleGAN2, uses the "modulate the
input, demodulate the output" form: mathematically the same as rosinality's
per-sample grouped convolution, but one weight is shared across the batch.

The module attribute names (``weight``, ``bias``, ``kernel``) are part of the
checkpoint format: they must stay as they are for a rosinality ``g_ema`` state
dict to load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: The gain after the leaky ReLU that keeps activations at unit variance.
LRELU_GAIN = math.sqrt(2.0)
LRELU_SLOPE = 0.2
#: Taps of the anti-aliasing filter of the official configs.
BLUR_TAPS = (1, 3, 3, 1)


def make_kernel(taps: Sequence[float]) -> torch.Tensor:
    """A normalised 2-D FIR filter from 1-D taps (outer product) or 2-D taps.

    Returns
    -------
    Tensor of shape (k, k)
        Sums to one.
    """
    k = torch.tensor(taps, dtype=torch.float32)
    if k.ndim == 1:
        k = torch.outer(k, k)
    return k / k.sum()


def upfirdn2d(
    x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve with an FIR filter, downsample.

    The same on both spatial axes; the filter is applied as a true convolution
    (flipped), like the CUDA op it replaces.

    Parameters
    ----------
    x : Tensor of shape (n, c, h, w)
    kernel : Tensor of shape (kh, kw)
    up, down : int
        Integer up- and down-sampling factors.
    pad : (int, int)
        Padding before and after, on each axis, applied after upsampling;
        negative values crop.

    Returns
    -------
    Tensor of shape (n, c, (h*up + pad0 + pad1 - kh) // down + 1, same for w)
    """
    n, c, h, w = x.shape
    if up > 1:
        # Zero insertion: each pixel followed by up-1 zeros along each axis.
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        x = x[:, :, max(-p0, 0) : x.shape[2] - max(-p1, 0), max(-p0, 0) : x.shape[3] - max(-p1, 0)]
    # Depthwise, one group per channel. (Folding the channels into the batch of a
    # one-channel conv gives the same numbers but was ~10× slower to differentiate on CPU.)
    kh, kw = kernel.shape
    weight = torch.flip(kernel, [0, 1]).to(x.dtype).view(1, 1, kh, kw).expand(c, 1, kh, kw)
    out = F.conv2d(x, weight, groups=c)
    return out[:, :, ::down, ::down] if down > 1 else out


def fused_leaky_relu(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    negative_slope: float = LRELU_SLOPE,
    scale: float = LRELU_GAIN,
) -> torch.Tensor:
    """``leaky_relu(x + bias) * scale`` with a per-channel bias on dimension 1.

    Parameters
    ----------
    x : Tensor of shape (n, c, ...)
    bias : Tensor of shape (c,), optional
    """
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.ndim - 2)))
    return F.leaky_relu(x, negative_slope) * scale


class FusedLeakyReLU(nn.Module):
    """A learned per-channel bias followed by a scaled leaky ReLU."""

    def __init__(
        self, channel: int, bias: bool = True, negative_slope: float = LRELU_SLOPE, scale: float = LRELU_GAIN
    ) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


class PixelNorm(nn.Module):
    """Scale each row of an (n, dim) input to unit root-mean-square."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """A linear layer with equalised learning rate.

    The stored ``weight`` is N(0, 1/lr_mul²) and is multiplied at run time by
    ``lr_mul / sqrt(in_dim)``; ``bias`` is multiplied by ``lr_mul``. With
    ``lr_mul < 1`` (the mapping network's 0.01) the effective step size of Adam
    shrinks by that factor without changing the function at initialisation.

    Parameters
    ----------
    in_dim, out_dim : int
    bias : bool
    bias_init : float
        Initial bias (1 for the style modulations, so styles start near one).
    lr_mul : float
    activation : str, optional
        ``"fused_lrelu"`` for bias + scaled leaky ReLU; ``None`` for linear.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: str | None = None,
    ) -> None:
        super().__init__()
        if activation not in (None, "fused_lrelu"):
            raise ValueError(f"activation must be None or 'fused_lrelu'; got {activation!r}")
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, in_dim) → (n, out_dim)."""
        bias = None if self.bias is None else self.bias * self.lr_mul
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}"


class Blur(nn.Module):
    """FIR low-pass filter with fixed padding (anti-aliasing after a strided conv).

    ``kernel`` is a buffer, saved in checkpoints, pre-multiplied by
    ``upsample_factor²`` when it follows a zero-inserting upsample, so that the
    image keeps its brightness.
    """

    kernel: torch.Tensor  # a buffer; declared so the type checker sees a Tensor, not `Tensor | Module`

    def __init__(self, taps: Sequence[float], pad: tuple[int, int], upsample_factor: int = 1) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """2× FIR upsampling (zero insertion + low-pass), used on the RGB skip path."""

    kernel: torch.Tensor  # a buffer (see Blur)

    def __init__(self, taps: Sequence[float], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(taps) * factor**2)
        # Pads chosen so that the output is exactly factor × the input size and
        # centred for an even-length filter.
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, c, h, w) → (n, c, factor*h, factor*w)."""
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled by a style, optionally demodulated.

    Parameters
    ----------
    in_channel, out_channel, kernel_size, style_dim : int
    demodulate : bool
        Normalise each output channel's effective weight to unit norm.
    upsample : bool
        2× upsampling by a stride-2 transposed convolution followed by a blur.
    blur_kernel : sequence of float
        Taps of the anti-aliasing filter.

    Attributes
    ----------
    weight : Parameter of shape (1, out_channel, in_channel, k, k)
    modulation : EqualLinear
        style_dim → in_channel, bias initialised to 1.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: Sequence[float] = BLUR_TAPS,
    ) -> None:
        super().__init__()
        self.in_channel, self.out_channel, self.kernel_size = in_channel, out_channel, kernel_size
        self.upsample = upsample
        self.demodulate = demodulate
        if upsample:
            # The transposed conv makes 2h + k - 2 pixels; these pads bring the
            # blurred result back to exactly 2h, centred.
            factor = 2
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), upsample_factor=factor)
        self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)

    def extra_repr(self) -> str:
        return f"{self.in_channel}, {self.out_channel}, {self.kernel_size}, upsample={self.upsample}"

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Features (n, in_channel, h, w) and styles (n, style_dim) → (n, out_channel, h', w')."""
        s = self.modulation(style)  # (n, in_channel)
        weight = self.weight[0] * self.scale  # (out, in, k, k)
        # conv(x * s, W) * d equals conv(x, W ⊙ s ⊙ d) with a per-sample weight,
        # because the conv is linear in its input channels.
        x = x * s[:, :, None, None]
        if self.upsample:
            out = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            out = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            # ||W[o] ⊙ s||² summed over input channels and taps, for every sample.
            sq = weight.square().sum(dim=(2, 3))  # (out, in)
            demod = torch.rsqrt(s.square() @ sq.t() + 1e-8)  # (n, out)
            out = out * demod[:, :, None, None]
        return out
