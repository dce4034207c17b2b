"""Built-in image scorers that need no model: light, colour and position.

Each one maps images of shape (n, 3, H, W) in [-1, 1] to one row of scores
per image, in a documented range, computed for the whole batch at once in
torch (on whatever device the images are on).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ._base import Scorer

# Rec. 601 luma weights, the ones JPEG and PIL's "L" mode use.
_LUMA = (0.299, 0.587, 0.114)


def _unit(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → float32 RGB in [0, 1] (clamped: generators overshoot a little)."""
    return ((images.float() + 1) / 2).clamp(0, 1)


def luma(images: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma of images in [-1, 1]: tensor of shape (n, H, W) in [0, 1]."""
    rgb = _unit(images)
    return _LUMA[0] * rgb[:, 0] + _LUMA[1] * rgb[:, 1] + _LUMA[2] * rgb[:, 2]


def hsv(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hue, saturation and value of images in [-1, 1], each of shape (n, H, W) in [0, 1].

    Hue is a fraction of the colour circle (0 red, 1/3 green, 2/3 blue); it is 0
    where a pixel is grey (saturation 0), where it is undefined.
    """
    rgb = _unit(images)
    value, argmax = rgb.max(dim=1)
    delta = value - rgb.min(dim=1).values
    saturation = torch.where(value > 0, delta / value.clamp_min(1e-12), torch.zeros_like(value))
    r, g, b = rgb.unbind(1)
    safe = delta.clamp_min(1e-12)
    # The sector formula: which channel is largest decides the 60° sector.
    sector = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4], dim=1)
    hue = sector.gather(1, argmax.unsqueeze(1)).squeeze(1) / 6
    hue = torch.where(delta > 0, hue, torch.zeros_like(hue))
    return hue % 1.0, saturation, value


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


class Brightness(Scorer):
    """Mean Rec. 601 luma (0.299 R + 0.587 G + 0.114 B) of each image, in [0, 1].

    0 is a black image, 1 a white one; ``-1`` in the generator's range is 0 here.
    """

    names = ("brightness",)

    def score(self, images: torch.Tensor) -> np.ndarray:
        return _numpy(luma(images).mean(dim=(1, 2)))


class Contrast(Scorer):
    """RMS contrast: the standard deviation of the luma over each image, in [0, 0.5].

    0 for a flat image; 0.5 for an image half black and half white.
    """

    names = ("contrast",)

    def score(self, images: torch.Tensor) -> np.ndarray:
        # Population std (correction=0), so the bound 0.5 is reached exactly.
        return _numpy(luma(images).flatten(1).std(dim=1, correction=0))


class Saturation(Scorer):
    """Mean HSV saturation, (max − min) / max of R, G, B, of each image, in [0, 1].

    0 for a grey-scale image, 1 when every pixel is a pure hue (one channel 0).
    """

    names = ("saturation",)

    def score(self, images: torch.Tensor) -> np.ndarray:
        return _numpy(hsv(images)[1].mean(dim=(1, 2)))


class HueHistogram(Scorer):
    """The colour scheme: a saturation-weighted histogram of HSV hue.

    Column ``hue_k`` is the share of colour whose hue lies within half a bin of
    ``k * 360 / bins`` degrees (with 12 bins: ``hue_0`` red, ``hue_4`` green,
    ``hue_8`` blue). Each pixel counts with its saturation, so grey pixels,
    whose hue means nothing, count for nothing. Rows are in [0, 1] and sum to 1;
    a grey image gives the uniform row ``1 / bins``, and a nearly grey image
    moves continuously away from it.

    Parameters
    ----------
    bins : int
        Number of hue bins (columns), at least 2.
    """

    def __init__(self, bins: int = 12) -> None:
        if not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ValueError(f"HueHistogram needs bins >= 2; got {bins!r}")
        self.bins = int(bins)
        self.names = tuple(f"hue_{k}" for k in range(self.bins))

    def score(self, images: torch.Tensor) -> np.ndarray:
        hue, saturation, _ = hsv(images)
        n = hue.shape[0]
        # Bins are centred on k/bins, so pure red (hue 0 or just under 1) lands in bin 0.
        index = torch.floor(hue * self.bins + 0.5).long().flatten(1) % self.bins
        weight = saturation.flatten(1)
        hist = torch.zeros(n, self.bins, dtype=weight.dtype, device=weight.device)
        hist.scatter_add_(1, index, weight)
        # A prior of a tiny uniform mass keeps grey images defined (uniform) and continuous.
        prior = 1e-6 * weight.shape[1]
        hist = (hist + prior / self.bins) / (hist.sum(dim=1, keepdim=True) + prior)
        return _numpy(hist)


@functools.lru_cache(maxsize=16)
def _blur_matrix(size: int, sigma: float) -> torch.Tensor:
    """The (size, size) matrix of a 1-D Gaussian blur with reflecting borders.

    Blurring a batch of maps as ``B @ X @ B.T`` is one batched matrix product,
    far faster on the CPU than a single-channel convolution with a long kernel.
    """
    radius = min(size - 1, max(1, math.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    matrix = np.zeros((size, size))
    for i in range(size):
        j = np.abs(i + offsets)  # reflect below 0 ...
        j = np.where(j > size - 1, 2 * (size - 1) - j, j)  # ... and above size - 1
        np.add.at(matrix[i], j, kernel)
    return torch.from_numpy(matrix).float()


def _gaussian_blur(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of maps of shape (..., H, W) with H == W, reflecting at the borders."""
    b = _blur_matrix(maps.shape[-1], float(sigma)).to(maps.device, maps.dtype)
    return b @ maps @ b.T


def opponent(images: torch.Tensor) -> torch.Tensor:
    """Luma and two colour-opponent channels (red−green, yellow−blue) of images in [-1, 1].

    Returns
    -------
    Tensor of shape (n, 3, H, W): luma in [0, 1], the opponent channels in [-0.5, 0.5].
    """
    rgb = _unit(images)
    r, g, b = rgb.unbind(1)
    return torch.stack([_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b, (r - g) / 2, (r + g - 2 * b) / 4], dim=1)


def centre_surround(images: torch.Tensor, size: int = 64, centre: float = 1.0, surround: float = 8.0) -> torch.Tensor:
    """Centre-surround saliency: how much each place differs from its neighbourhood.

    Luma and colour-opponent channels (:func:`opponent`) are resized to
    ``size`` × ``size`` and blurred twice, by a Gaussian of ``centre`` pixels (the
    place) and of ``surround`` pixels (its neighbourhood); the saliency is the
    squared distance between the two, summed over channels: the difference of
    Gaussians of Itti, Koch & Niebur (1998) at one scale. An object that differs
    from its surroundings lights up; a flat background, however bright, stays 0.
    Squaring keeps the faint, wide halo the surround blur spreads around an
    object from outweighing the object itself.

    Returns
    -------
    Tensor of shape (n, size, size), non-negative, float32.
    """
    x = F.interpolate(opponent(images), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (_gaussian_blur(x, centre) - _gaussian_blur(x, surround)).pow(2).sum(dim=1)


class SaliencyPosition(Scorer):
    """Where the salient content is, and how far it spreads.

    The saliency map is a centre-surround difference (see :func:`centre_surround`):
    it responds to what differs from its neighbourhood in brightness or colour
    (an object and its outline, not a flat background). Treated as a weight
    distribution over pixel centres in image coordinates from -1 to 1 (x to the
    right, y down), it gives:

    - ``saliency_x``, ``saliency_y``: the barycentre, in [-1, 1]; 0 is the centre.
    - ``saliency_spread``: sqrt of the weighted mean squared distance from the
      barycentre, in the same units, in [0, sqrt(2)]; it grows with the size of
      the salient region (between r / sqrt(2) and r for a disc of radius r).
      An image with nothing salient (a flat one) counts every pixel alike:
      barycentre 0, spread sqrt(2/3) ≈ 0.82.

    The map is symmetric in its construction (reflecting borders), so a mirrored
    image gives the mirrored position. It is bottom-up saliency, not an object
    detector: on a face that fills the frame it follows the most contrasted
    features (eyes, mouth, hairline) and any bright patch of background.

    Parameters
    ----------
    size : int
        Side of the square the image is resized to, so scores do not depend on resolution.
    centre, surround : float
        Gaussian blurs of the place and of its neighbourhood, in pixels of that square.
    """

    names = ("saliency_x", "saliency_y", "saliency_spread")

    def __init__(self, size: int = 64, centre: float = 1.0, surround: float = 8.0) -> None:
        if size < 16 or not 0 < centre < surround or 3 * surround >= size:
            raise ValueError(
                f"SaliencyPosition needs size >= 16 and 0 < centre < surround < size / 3; "
                f"got size={size}, centre={centre}, surround={surround}"
            )
        self.size, self.centre, self.surround = int(size), float(centre), float(surround)

    @property
    def identity(self) -> str:
        return f"{super().identity}:size={self.size},centre={self.centre},surround={self.surround}"

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        """The weight maps the scores are taken over, shape (n, size, size), each summing to 1."""
        s = centre_surround(images, self.size, self.centre, self.surround).flatten(1)
        # A tiny uniform prior: a flat image (no saliency at all) counts every pixel alike.
        s = s + 1e-9 + 1e-6 * s.mean(dim=1, keepdim=True)
        return (s / s.sum(dim=1, keepdim=True)).view(-1, self.size, self.size)

    def score(self, images: torch.Tensor) -> np.ndarray:
        p = self.maps(images)
        coords = (2 * torch.arange(self.size, dtype=p.dtype, device=p.device) + 1) / self.size - 1
        px, py = p.sum(dim=1), p.sum(dim=2)  # marginals over x (columns) and y (rows)
        x = (px * coords).sum(dim=1)
        y = (py * coords).sum(dim=1)
        var = (px * (coords - x[:, None]) ** 2).sum(dim=1) + (py * (coords - y[:, None]) ** 2).sum(dim=1)
        return _numpy(torch.stack([x, y, var.clamp_min(0).sqrt()], dim=1))
