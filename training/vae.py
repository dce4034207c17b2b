"""The CPU route: our StyleGAN2 trained as the decoder of a variational autoencoder.

Where no GPU is at hand, an adversarial run of useful length is out of reach (a
default GAN step takes seconds on two cores). A VAE needs no discriminator and no
R1, converges in far fewer images, and keeps the generator exactly StyleGAN2's:

    image ─ Encoder ─→ μ, log σ² ─ z ~ N(μ, σ²) ─ mapping ─→ w ─ synthesis ─→ image

The decoder *is* the generator: z goes through the mapping network to one w,
broadcast to every layer, as StyleGAN2 samples without mixing. Sampling afterwards
draws z ~ N(0, I), the VAE's prior, so ``semwidget.load`` and every finder see an
ordinary StyleGAN2 checkpoint.

The likelihood is a Gaussian with one variance shared by all pixels, set to the
batch's mean squared error at every step (the "optimal σ" of Rybkin et al. 2021,
σ-VAE): the balance between reconstruction and the KL term then needs no tuning;
``sigma_min`` floors σ, and ``kl_weight`` is β. Even so, the reconstruction term
dominates and the encoder's codes drift away from N(0, I) — on the world they sat in
a narrow cone of z, which the mapping network's PixelNorm cannot tell apart from a
spread — so sampling from the prior needs the second stage, refit_mapping.py.

What is *not* StyleGAN2's training: no adversarial loss, so images are softer; no
style mixing, since an image has one code — a layer-wise latent mixing two codes
is never seen in training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: The VAE's own options and its defaults for the shared ones (applied when --objective vae).
VAE_DEFAULTS: dict[str, object] = {
    # 64 channels at every resolution: ~0.5M synthesis parameters, ~60 images/s for a
    # forward and backward pass of the decoder on 2 CPU cores.
    "style_dim": 64,
    "channel_max": 64,
    "batch": 32,
    "lr": 0.001,
    "kl_weight": 1.0,
    "sigma_min": 0.03,
    "encoder_channels": 32,
    # The mapping network's stored weights are 1/lr_mul = 100× its effective ones
    # (equalised lr); this multiplies its Adam lr so that it learns at the pace of the
    # rest rather than 100× slower, which only a GAN's stability needs.
    "mapping_lr_scale": 100.0,
    "ema_kimg": 5.0,
}


class Encoder(nn.Module):
    """64×64 image → (μ, log σ²) of shape (n, z_dim) each; strided convs, leaky ReLU.

    Channels double at every halving from ``channels`` at full resolution, up to 8×.
    """

    def __init__(self, size: int, z_dim: int, channels: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        c, r = channels, size
        while r > 4:
            c_next = min(c * 2, channels * 8)
            layers += [nn.Conv2d(c, c_next, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c, r = c_next, r // 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c * 16, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.features(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 6)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per sample, summed over dimensions: shape (n,)."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(dim=1)


def make_trainer_class(base: type) -> type:
    """:class:`VAETrainer` on top of the shared ``GeneratorRun`` (passed in, since the
    training scripts are loaded by path rather than as a package)."""

    class VAETrainer(base):
        """Encoder + StyleGAN2 decoder, Adam, and G_ema for the export."""

        STATE_KEYS = ("E", "optim")

        def __init__(self, config: dict, device: torch.device) -> None:
            super().__init__(config, device)
            c = config
            self.E = Encoder(c["size"], c["style_dim"], c["encoder_channels"]).to(device)
            mapping = list(self.G.style.parameters())
            mapping_ids = {id(p) for p in mapping}
            rest = [p for p in self.G.parameters() if id(p) not in mapping_ids] + list(self.E.parameters())
            self.optim = torch.optim.Adam(
                [{"params": rest, "scale": 1.0}, {"params": mapping, "scale": c["mapping_lr_scale"]}],
                betas=(0.9, 0.99),
            )
            self.set_optimizer_hyperparameters()

        def set_optimizer_hyperparameters(self) -> None:
            for group in self.optim.param_groups:
                group["lr"] = self.config["lr"] * group["scale"]

        def describe(self) -> str:
            return f"{super().describe()}, encoder {sum(p.numel() for p in self.E.parameters())} params"

        def train_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
            c = self.config
            n = real.shape[0]
            with self.autocast():
                mu, logvar = self.E(real)
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                recon, _ = self.G([z])
            mse = F.mse_loss(recon.float(), real, reduction="none").mean(dim=(1, 2, 3))  # per sample
            # One σ² for every pixel: the batch's MSE, floored; D/2·log σ² + SSE/(2σ²) per sample.
            var = mse.detach().mean().clamp_min(c["sigma_min"] ** 2)
            pixels = real[0].numel()
            nll = 0.5 * pixels * (mse / var + torch.log(var) + math.log(2 * math.pi))
            kl = kl_to_standard_normal(mu.float(), logvar.float())
            loss = (nll + c["kl_weight"] * kl).mean()
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            self.optim.step()
            self.step += 1
            self.nimg += n
            self.update_ema(n)
            active = (kl_per_dim(mu.detach(), logvar.detach()) > 0.1).sum()
            return {"mse": mse.detach().mean(), "kl": kl.detach().mean(), "active": active.float()}

        def extra_state(self) -> dict:
            return {"E": self.E.state_dict(), "optim": self.optim.state_dict()}

        def load_extra_state(self, ckpt: dict) -> None:
            self.E.load_state_dict(ckpt["E"])
            self.optim.load_state_dict(ckpt["optim"])
            self.set_optimizer_hyperparameters()

    return VAETrainer


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean KL of each z dimension over the batch, shape (z_dim,); dimensions above
    ~0.1 nat carry information ("active units")."""
    return (0.5 * (mu.square() + logvar.exp() - 1 - logvar)).mean(dim=0)
