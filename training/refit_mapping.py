"""Second stage of the VAE route: refit the mapping network so that z ~ N(0, I) lands
where the encoder puts real images.

    python training/refit_mapping.py --run runs/vae --steps 4000

A VAE's decoder is trained on codes drawn from the encoder's posteriors; sampling
draws them from the prior N(0, I) instead, and wherever the two disagree ("holes"
of the aggregate posterior) the decoder makes blends it never learned. Here the
synthesis network stays as it is and only the mapping network z → w is trained
again, adversarially and in W alone (a GAN on 64-d vectors, the idea of Adversarial
Latent Autoencoders, Pidhorskyi et al. 2020): real samples are w = mapping(z) of
posterior draws z ~ N(μ(x), σ²(x)) for rendered scenes x, fakes are mapping'(z) of
prior draws, and a small MLP discriminator with R1 tells them apart. It takes a
minute or two on a CPU.

Writes ``RUN/g_ema_refit_fp16.pt`` (the export layout of train_stylegan2.py, the
synthesis weights untouched) and ``RUN/samples/refit.png``; ``RUN/checkpoint.pt`` is
only read.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger("refit_mapping")


def _train_module():
    key = "_semwidget_training_train_stylegan2"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name("train_stylegan2.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


class LatentDiscriminator(nn.Module):
    """An MLP on w: dim → width → width → 1 logit, leaky ReLU."""

    def __init__(self, dim: int, width: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1)
        )

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.net(w).squeeze(1)


@torch.no_grad()
def posterior_ws(trainer, n: int, seed: int, batch: int = 250) -> torch.Tensor:
    """w = mapping(z), z drawn from the encoder's posterior of ``n`` fresh renders: (n, style_dim)."""
    train = _train_module()
    rng = np.random.default_rng([seed, 7])
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        real = train.fit_size(train.world_batch(min(batch, n - i), rng), trainer.config["size"])
        mu, logvar = trainer.E(real)
        z = mu + torch.randn(mu.shape, generator=gen) * (0.5 * logvar).exp()
        out.append(trainer.G_ema.style(z))
    return torch.cat(out)


def refit(
    trainer, real_w: torch.Tensor, steps: int, batch: int = 512, lr: float = 2e-4, r1_gamma: float = 1.0
) -> dict[str, float]:
    """Train ``trainer.G_ema.style`` adversarially towards ``real_w``; returns the last mean losses."""
    mapping = trainer.G_ema.style
    mapping.requires_grad_(True)
    D = LatentDiscriminator(real_w.shape[1])
    # The mapping's stored weights are 100× its effective ones (equalised lr, lr_mul 0.01).
    scale = trainer.config["mapping_lr_scale"]
    m_optim = torch.optim.Adam(mapping.parameters(), lr=lr * scale, betas=(0.5, 0.99))
    d_optim = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.99))
    gen = torch.Generator().manual_seed(0)
    sums = {"d": 0.0, "g": 0.0}
    t = time.monotonic()
    for step in range(1, steps + 1):
        w_real = real_w[torch.randint(len(real_w), (batch,), generator=gen)].requires_grad_(True)
        z = torch.randn(batch, real_w.shape[1], generator=gen)
        with torch.no_grad():
            w_fake = mapping(z)
        real_logit = D(w_real)
        d_loss = F.softplus(D(w_fake)).mean() + F.softplus(-real_logit).mean()
        (grad,) = torch.autograd.grad(real_logit.sum(), w_real, create_graph=True)
        d_total = d_loss + r1_gamma / 2 * grad.square().sum(1).mean()
        d_optim.zero_grad(set_to_none=True)
        d_total.backward()
        d_optim.step()

        D.requires_grad_(False)
        g_loss = F.softplus(-D(mapping(torch.randn(batch, real_w.shape[1], generator=gen)))).mean()
        m_optim.zero_grad(set_to_none=True)
        g_loss.backward()
        m_optim.step()
        D.requires_grad_(True)
        sums["d"] += d_loss.item()
        sums["g"] += g_loss.item()
        if step % 500 == 0 or step == steps:
            k = 500 if step % 500 == 0 else step % 500
            log.info("step %d  d %.4f  g %.4f  (%.1f s)", step, sums["d"] / k, sums["g"] / k, time.monotonic() - t)
            last = {key: v / k for key, v in sums.items()}
            sums = {"d": 0.0, "g": 0.0}
    mapping.requires_grad_(False)
    return last


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="a run directory of train_stylegan2.py --objective vae")
    p.add_argument("--steps", type=int, default=4000, help="adversarial steps (default 4000)")
    p.add_argument("--real", type=int, default=50_000, help="renders encoded for the real w (default 50000)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps < 1 or args.real < 1:
        p.error(f"--steps and --real must be >= 1; got {args.steps} and {args.real}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    train = _train_module()
    ckpt = train.read_checkpoint(args.run / "checkpoint.pt")
    if ckpt["config"].get("objective") != "vae":
        raise ValueError(f"{args.run}/checkpoint.pt was trained with objective {ckpt['config'].get('objective')!r}; "
                         f"the mapping refit needs a VAE run (it uses the encoder)")  # fmt: skip
    trainer = train.trainer_class("vae")(ckpt["config"], torch.device("cpu"))
    trainer.load_state_dict(ckpt)
    trainer.E.eval()
    torch.manual_seed(args.seed)
    real_w = posterior_ws(trainer, args.real, args.seed)
    log.info("encoded %d renders; refitting the mapping for %d steps", len(real_w), args.steps)
    before = copy.deepcopy(trainer.G_ema.style)
    refit(trainer, real_w, args.steps)
    moved = max((a - b).abs().max().item() for a, b in zip(trainer.G_ema.style.parameters(), before.parameters()))
    log.info("largest change of a mapping weight: %.4g", moved)

    out = args.run / "g_ema_refit_fp16.pt"
    export = trainer.export()
    export["refit"] = {"steps": args.steps, "real": args.real, "seed": args.seed}
    train.atomic_write(out, lambda f: torch.save(export, f))
    trainer.sample_grid(args.run / "samples" / "refit.png")
    log.info("wrote %s", out)
    return out


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
