"""Weight-free saliency: the spectral residual (Hou & Zhang, CVPR 2007), and its moments.

The log amplitude spectrum of natural images is smooth; what an image holds beyond that
smooth trend (the *spectral residual*: the log amplitude minus its local 3×3 mean),
put back with the image's own phase, marks the parts that stand out. The map is
squared, blurred and normalised into a weight distribution; its barycentre says where
the content is, its spread how large it is, its principal axis how it is turned.

Everything is measured in the units of the transformations' ``t`` (:mod:`._transforms`),
so a transformation performed exactly changes its own column by ``t``:

========  ==============================================================================
x, y      barycentre in fractions of the image width and height (0 left / top)
zoom      the spread (root mean squared distance from the barycentre) as a ratio to the
          unedited image's, minus 1 (the :func:`moments` column is the spread itself)
angle     the principal axis, counter-clockwise on screen, in units of 90°, in (-1, 1]
          (ill-defined for round content: see ``elongation``)
========  ==============================================================================
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..inversion._losses import gaussian_blur

#: The side images are resized to (Hou & Zhang work at 64 px).
SIZE = 64
#: The blur of the squared map, in pixels at :data:`SIZE` (Hou & Zhang: σ = 8 at 64 px;
#: 3 keeps the position sharper on 64-pixel scenes with one object).
BLUR = 3.0
#: The level kept, in multiples of the map's mean. Hou & Zhang's object map keeps what
#: exceeds 3: on world renders whose object moves, 1 tracks it best (r 0.81 for the
#: barycentre against the object's shift, 0.76 at 3; 0.86 with no threshold, but then
#: the barycentre moves a third as far as the object, pulled towards the centre).
THRESHOLD = 1.0
_LUMA = (0.299, 0.587, 0.114)


def spectral_residual(images: torch.Tensor, size: int = SIZE, blur: float = BLUR) -> torch.Tensor:
    """Saliency maps of shape (n, size, size), each summing to 1, for images (n, 3, H, W) in [-1, 1]."""
    x = images.detach().float().cpu()
    luma = (_LUMA[0] * x[:, 0] + _LUMA[1] * x[:, 1] + _LUMA[2] * x[:, 2]).unsqueeze(1)
    if luma.shape[-2:] != (size, size):
        luma = F.interpolate(luma, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    spectrum = torch.fft.fft2(luma.double()[:, 0])
    amplitude = spectrum.abs()
    # A floor keeps the exact zeros of synthetic spectra (a flat square's sinc) from ruling the residual.
    log_amp = torch.log(amplitude + 1e-3 * amplitude.flatten(1).mean(1)[:, None, None] + 1e-12)
    padded = F.pad(log_amp.unsqueeze(1), (1, 1, 1, 1), mode="circular")  # the spectrum is periodic
    residual = log_amp - F.avg_pool2d(padded, 3, stride=1)[:, 0]
    phase = torch.angle(spectrum)
    saliency = torch.fft.ifft2(torch.exp(torch.complex(residual, phase))).abs().square()
    saliency = gaussian_blur(saliency.unsqueeze(1).float(), blur)[:, 0]
    # Like Hou & Zhang's object map, only what exceeds THRESHOLD times the mean counts
    # (as weights above that level, so the measures stay continuous in the image).
    above = (saliency - THRESHOLD * saliency.mean((1, 2), keepdim=True)).clamp_min(0)
    flat = above.flatten(1).sum(1) <= 0
    saliency = torch.where(flat[:, None, None], saliency, above) + 1e-12
    return saliency / saliency.flatten(1).sum(1)[:, None, None]


def moments(maps: torch.Tensor) -> torch.Tensor:
    """Barycentre, spread, principal angle and elongation of weight maps (n, H, W)
    summing to 1: shape (n, 5) with columns ``x, y, spread, angle, elongation``.

    x and y are fractions of the width and height; spread is in fractions of the width;
    angle is the principal axis counter-clockwise on screen in units of 90° (in (-1, 1]);
    elongation is 1 − (minor / major) spread, 0 for round content.
    """
    n, h, w = maps.shape
    p = maps.double()
    xs = (torch.arange(w, dtype=p.dtype) + 0.5) / w
    ys = (torch.arange(h, dtype=p.dtype) + 0.5) / h * (h / w)  # in widths, so the spread is isotropic
    px, py = p.sum(1), p.sum(2)
    mx, my = (px * xs).sum(1), (py * ys).sum(1)
    dx = xs[None, None, :] - mx[:, None, None]
    dy = ys[None, :, None] - my[:, None, None]
    cxx, cyy, cxy = (p * dx * dx).sum((1, 2)), (p * dy * dy).sum((1, 2)), (p * dx * dy).sum((1, 2))
    spread = (cxx + cyy).clamp_min(0).sqrt()
    # The principal axis in screen coordinates (y down); counter-clockwise on screen is −atan2.
    axis = 0.5 * torch.atan2(2 * cxy, cxx - cyy)
    angle = -axis / (math.pi / 2)
    root = ((cxx - cyy) ** 2 / 4 + cxy**2).sqrt()
    major, minor = ((cxx + cyy) / 2 + root).clamp_min(0).sqrt(), ((cxx + cyy) / 2 - root).clamp_min(0).sqrt()
    elongation = 1 - minor / major.clamp_min(1e-12)
    return torch.stack([mx, my * (w / h), spread, angle, elongation], dim=1).float()
