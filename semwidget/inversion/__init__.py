"""Real images into a generator's latent space (GAN inversion).

    inv = semwidget.invert(G, ["photo.jpg"], steps=300)
    inv.psnr, inv.ssim                      # per image
    G.synthesize(semwidget.edit(inv.latents, direction, alpha=2.0))

``_images`` turns what the caller has into tensors, ``_losses`` holds the pixel
losses, ``_schedule`` the optimiser's schedule, ``_space`` the latent being optimised,
``_invert`` the loop and :class:`Inversion`; ``_encoder`` (when present) the encoders
that give the search its start.
"""

from ._invert import DEFAULT_SCHEDULES, DEFAULT_STEPS, Inversion, invert
from ._losses import LOSSES, MSE, SSIM, BlurredMSE, Lap1, make_loss, psnr, ssim_index
from ._schedule import Schedule

__all__ = [
    "DEFAULT_SCHEDULES",
    "DEFAULT_STEPS",
    "LOSSES",
    "MSE",
    "SSIM",
    "BlurredMSE",
    "Inversion",
    "Lap1",
    "Schedule",
    "invert",
    "make_loss",
    "psnr",
    "ssim_index",
]
