"""What every way of training our StyleGAN2 shares: G, its moving average, the export.

:class:`GeneratorRun` holds the generator ``G`` and ``G_ema``, counts steps and images,
and writes what the package reads back: the fp16 export in rosinality's checkpoint
layout (``semwidget.load`` takes it) and a grid of samples. The objectives subclass it:
the adversarial one in ``train_stylegan2.py``, the VAE-decoder one in ``vae.py``. Each
names the extra entries its checkpoint holds in ``STATE_KEYS`` and fills them in
``extra_state`` / ``load_extra_state``.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import torch
from torch import nn

from semwidget.files._atomic import atomic_write
from semwidget.nets._stylegan2 import StyleGAN2

GRID_SEED, GRID_SIZE = 0, 64
LATENT_AVG_SAMPLES, LATENT_AVG_SEED = 4096, 0


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class GeneratorRun:
    """G, G_ema and the bookkeeping of one training run (subclasses add the objective).

    Subclasses implement ``train_step(real) -> dict of 0-dim loss tensors`` and may
    override ``describe()`` for the log.
    """

    #: Checkpoint entries besides the common ones (format, config, step, nimg, G, G_ema, rng).
    STATE_KEYS: tuple[str, ...] = ()

    def __init__(self, config: dict, device: torch.device) -> None:
        c = self.config = config
        self.device = device
        self.G = StyleGAN2(c["size"], c["style_dim"], c["n_mlp"], c["channel_multiplier"], channel_max=c["channel_max"])
        self.G.to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.step = self.nimg = 0
        self.train_seconds = 0.0
        self.amp = bool(c.get("amp")) and device.type == "cuda"

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def describe(self) -> str:
        n_g = count_params(self.G)
        return f"G {n_g} params ({n_g * 2 / 1e6:.1f} MB in fp16), {self.G.n_latent} latents"

    @torch.no_grad()
    def update_ema(self, batch: int) -> None:
        """G_ema ← β·G_ema + (1 − β)·G with a half-life of ema_kimg thousand images,
        shortened to ema_rampup × the images seen so far early on."""
        c = self.config
        half_life = c["ema_kimg"] * 1000
        if c["ema_rampup"]:
            half_life = min(half_life, self.nimg * c["ema_rampup"])
        beta = 0.5 ** (batch / max(half_life, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p, 1 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ---- saving and loading --------------------------------------------------

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, ckpt: dict) -> None:
        pass

    def state_dict(self, checkpoint_format: str) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": checkpoint_format,
            "config": dict(self.config),
            "step": self.step,
            "nimg": self.nimg,
            "train_seconds": self.train_seconds,
            "G": self.G.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "rng": rng,
            **self.extra_state(),
        }

    def load_state_dict(self, ckpt: dict) -> None:
        self.G.load_state_dict(ckpt["G"])
        self.G_ema.load_state_dict(ckpt["G_ema"])
        self.load_extra_state(ckpt)
        self.step, self.nimg = int(ckpt["step"]), int(ckpt["nimg"])
        self.train_seconds = float(ckpt.get("train_seconds", 0.0))
        torch.set_rng_state(ckpt["rng"]["torch"])
        if self.device.type == "cuda" and "cuda" in ckpt["rng"]:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"], self.device)

    @torch.no_grad()
    def latent_avg(self) -> torch.Tensor:
        """Mean w of G_ema over 4096 seeded z, float32 of shape (style_dim,)."""
        g = torch.Generator().manual_seed(LATENT_AVG_SEED)
        z = torch.randn(LATENT_AVG_SAMPLES, self.config["style_dim"], generator=g).to(self.device)
        return self.G_ema.style(z).double().mean(0).float().cpu()

    def export(self) -> dict:
        """G_ema in rosinality's checkpoint layout, weights in float16."""
        state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in self.G_ema.state_dict().items()}
        return {"g_ema": state, "latent_avg": self.latent_avg(), "config": dict(self.config), "step": self.step}

    @torch.no_grad()
    def sample_grid(self, path: Path) -> None:
        """G_ema on GRID_SIZE fixed z (stored noise), tiled into a PNG."""
        from semwidget.common._images import image_grid

        g = torch.Generator().manual_seed(GRID_SEED)
        z = torch.randn(GRID_SIZE, self.config["style_dim"], generator=g).to(self.device)
        images = torch.cat([self.G_ema([zz], randomize_noise=False)[0] for zz in z.split(16)])
        grid = image_grid(images.float(), ncols=8, scale=max(1.0, 64 / self.config["size"]))
        atomic_write(path, lambda f: grid.save(f, format="PNG"))
