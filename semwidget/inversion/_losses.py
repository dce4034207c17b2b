"""Pixel losses for inversion, each one value per image, each restricted to a mask.

Every loss takes ``(pred, target, mask, progress)``: images of shape (n, 3, H, W) in
[-1, 1], a mask of weights in [0, 1] of shape (n, 1, H, W) or None, and the fraction
of the optimisation done (losses with a schedule, such as the annealed blur, read it)
and returns a tensor of shape (n,). Pixels where the mask is 0 never reach a loss:
the linear losses see the masked difference ``mask * (pred - target)`` only, and SSIM
sees ``mask * pred`` and ``mask * target``.

Names :func:`make_loss` knows: ``"mse"``, ``"blurred-mse"``, ``"ssim"``, ``"ms-ssim"``,
``"lap1"``; a mapping of names (or losses) to weights is their weighted sum.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim

#: Images are in [-1, 1]: the data range SSIM and PSNR are measured over.
DATA_RANGE = 2.0
LossFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", float], torch.Tensor]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of (n, c, H, W) values, weighted by a (n, 1, H, W) mask."""
    if mask is None:
        return values.flatten(1).mean(1)
    channels = values.shape[1]
    return (values * mask).flatten(1).sum(1) / (mask.flatten(1).sum(1) * channels).clamp_min(1e-8)


def _difference(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return pred - target if mask is None else mask * (pred - target)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (n, c, H, W), zero padding (nothing outside the image)."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), padding=(0, radius), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), padding=(radius, 0), groups=c)


@dataclass(frozen=True)
class MSE:
    """Mean squared error over the masked pixels."""

    name = "mse"

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, progress: float = 1.0
    ) -> torch.Tensor:
        return _masked_mean(_difference(pred, target, mask).square(), mask)


@dataclass(frozen=True)
class BlurredMSE:
    """MSE of the Gaussian-blurred masked difference, as in Plumerault et al. (ICLR 2020).

    The difference ``mask * (pred - target)`` is blurred with a Gaussian of standard
    deviation σ pixels, squared and averaged over the mask. Blurring the difference
    makes the loss smooth in a shift of the content: a detail a pixel or two away
    still pulls the right way, where plain MSE sees only a mismatch.

    With ``anneal`` > 0, σ falls from ``sigma`` to ``final_sigma`` along a half cosine
    over the first ``anneal`` fraction of the run: coarse to fine, so the optimisation
    ends on the plain (σ = 0: unblurred) MSE the reconstruction is judged by.
    Measured at 64 px (300 steps, 8 world renders, from the mean w): +0.3 dB over plain
    MSE at a learning rate of 0.1, level with it (±0.1 dB) at the tuned 0.3; σ = 1 px
    annealed over the first half beat 2 px and a 3/4 anneal. On digiface it lifted the
    worst image by about 1 dB at the same mean.
    """

    sigma: float = 1.0
    final_sigma: float = 0.0
    anneal: float = 0.5
    name = "blurred-mse"

    def sigma_at(self, progress: float) -> float:
        if self.anneal <= 0:
            return self.sigma
        t = min(1.0, max(0.0, progress) / self.anneal)
        return self.final_sigma + (self.sigma - self.final_sigma) * 0.5 * (1 + math.cos(math.pi * t))

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, progress: float = 1.0
    ) -> torch.Tensor:
        blurred = gaussian_blur(_difference(pred, target, mask), self.sigma_at(progress))
        return _masked_mean(blurred.square(), mask)


def ssim_window(resolution: int, multiscale: bool = False) -> int:
    """The SSIM window (odd, at most 11) that fits ``resolution``.

    MS-SSIM halves the image four times and needs ``(window - 1) * 16 < resolution``:
    at 64 px that is a 3-pixel window.
    """
    limit = (resolution - 1) // 16 + 1 if multiscale else resolution
    window = min(11, limit)
    window -= 1 - window % 2
    if window < 3:
        kind = "MS-SSIM" if multiscale else "SSIM"
        need = 33 if multiscale else 3
        raise ValueError(f"{kind} needs images of at least {need} pixels; these are {resolution}")
    return window


@dataclass(frozen=True)
class SSIM:
    """1 − SSIM (pytorch-msssim; Gaussian window σ 1.5, size fitted by :func:`ssim_window`).

    With a mask, both images are multiplied by it first, so masked-out pixels take no
    part; windows that lie wholly outside count as perfect, so the loss is divided by
    the mask's mean to keep its scale.
    """

    multiscale: bool = False
    win_sigma: float = 1.5

    @property
    def name(self) -> str:
        return "ms-ssim" if self.multiscale else "ssim"

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, progress: float = 1.0
    ) -> torch.Tensor:
        window = ssim_window(min(pred.shape[-2:]), self.multiscale)
        if mask is not None:
            pred, target = pred * mask, target * mask
        # Shift into [0, 2]: SSIM's constants assume non-negative intensities.
        x, y = pred + 1, target + 1
        if self.multiscale:
            value = ms_ssim(x, y, data_range=DATA_RANGE, size_average=False, win_size=window, win_sigma=self.win_sigma)
        else:
            value = ssim(x, y, data_range=DATA_RANGE, size_average=False, win_size=window, win_sigma=self.win_sigma)
        loss = 1 - value
        if mask is not None:
            loss = loss / mask.flatten(1).mean(1).clamp_min(1e-8)
        return loss


_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def _down(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor(_BINOMIAL, device=x.device, dtype=x.dtype) / 16
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="reflect"), k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="reflect"), k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
    return x[:, :, ::2, ::2]


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first, then the low-pass residual (``levels + 1`` tensors)."""
    out = []
    for _ in range(levels):
        if min(x.shape[-2:]) < 4:
            break
        low = _down(x)
        up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out.append(x - up)
        x = low
    out.append(x)
    return out


@dataclass(frozen=True)
class Lap1:
    """Laplacian-pyramid L1 (Bojanowski et al., "Optimizing the latent space of generative
    networks", 2018): the L1 norm of each pyramid level of the difference, summed with
    weights ``4**j`` on level ``j``'s sum, which is the mean absolute value per level,
    summed over levels. The pyramid is linear, so it is taken of the masked difference.
    ``levels=None`` goes down to 4×4."""

    levels: int | None = None
    name = "lap1"

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, progress: float = 1.0
    ) -> torch.Tensor:
        size = min(pred.shape[-2:])
        levels = self.levels if self.levels is not None else max(0, int(math.log2(max(size, 4))) - 2)
        bands = laplacian_pyramid(_difference(pred, target, mask), levels)
        total = pred.new_zeros(pred.shape[0])
        m = mask
        for band in bands:
            if m is not None and m.shape[-2:] != band.shape[-2:]:
                m = F.adaptive_avg_pool2d(mask, band.shape[-2:])  # type: ignore[arg-type]
            total = total + _masked_mean(band.abs(), m)
        return total


@dataclass(frozen=True)
class Weighted:
    """A weighted sum of losses."""

    terms: tuple[tuple[float, LossFn], ...]

    @property
    def name(self) -> str:
        return " + ".join(f"{w:g}*{getattr(f, 'name', type(f).__name__)}" for w, f in self.terms)

    def __call__(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, progress: float = 1.0
    ) -> torch.Tensor:
        total = pred.new_zeros(pred.shape[0])
        for weight, loss in self.terms:
            total = total + weight * loss(pred, target, mask, progress)
        return total


LOSSES: dict[str, Callable[[], LossFn]] = {
    "mse": MSE,
    "blurred-mse": BlurredMSE,
    "ssim": SSIM,
    "ms-ssim": lambda: SSIM(multiscale=True),
    "lap1": Lap1,
}


def make_loss(spec: object) -> LossFn:
    """A loss from a name in :data:`LOSSES`, a mapping ``{name or loss: weight}``, or
    a callable ``(pred, target, mask, progress) -> (n,)`` used as it is."""
    if isinstance(spec, str):
        if spec not in LOSSES:
            raise ValueError(f"unknown loss {spec!r}; expected one of {sorted(LOSSES)} or a mapping of them to weights")
        return LOSSES[spec]()
    if isinstance(spec, Mapping):
        if not spec:
            raise ValueError("a weighted loss needs at least one term, e.g. {'mse': 1.0, 'ssim': 0.1}")
        terms = []
        for key, weight in spec.items():
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
                raise ValueError(f"the weight of loss {key!r} must be a finite number >= 0; got {weight!r}")
            terms.append((float(weight), make_loss(key)))
        return Weighted(tuple(terms))
    if callable(spec):
        return spec  # type: ignore[return-value]
    raise TypeError(f"loss must be a name in {sorted(LOSSES)}, a mapping of them to weights, or a callable")


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, images in [-1, 1] (the same as on 0-255 pixels)."""
    mse = (pred.float() - target.float()).square().flatten(1).mean(1)
    return 10 * torch.log10(DATA_RANGE**2 / mse.clamp_min(1e-12))


def ssim_index(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM per image (pytorch-msssim, Gaussian window of 11 px, σ 1.5, or smaller for tiny images)."""
    window = ssim_window(min(pred.shape[-2:]))
    return ssim(pred.float() + 1, target.float() + 1, data_range=DATA_RANGE, size_average=False, win_size=window)
