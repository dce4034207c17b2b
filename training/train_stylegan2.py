"""Train our StyleGAN2 on images that ``semwidget.world`` renders on the fly.

    python training/train_stylegan2.py --out runs/shapes --minutes 9
    python training/train_stylegan2.py --out runs/shapes --minutes 9 --resume

Writes into ``--out``:

    checkpoint.pt      G, D, G_ema, both Adam states, step, config, RNG states (atomic,
                       every --checkpoint-every steps and at the end; tensors and plain
                       values only, so torch.load(weights_only=True) reads it)
    g_ema_fp16.pt      {'g_ema': fp16 state dict, 'latent_avg', 'config', 'step'}, the layout
                       of rosinality's checkpoints: semwidget.load(path) reads it
    samples/NNNNNNN.png  G_ema on fixed seeds at each checkpoint
    log.txt            the progress lines also printed to stdout

The objective is StyleGAN2's (Karras et al. 2020; rosinality's train.py):
non-saturating logistic loss, lazy R1 on reals, optional lazy path-length
regularisation, style mixing, an exponential moving average of G, and Adam with
the lazy-regularisation correction of its learning rate and betas.

``--objective vae`` trains the same generator as a VAE decoder instead, the route
for a machine without a GPU (vae.py; then refit_mapping.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import signal
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# semwidget imports its widget stack lazily: training needs only its core dependencies.
from semwidget.files._atomic import atomic_write  # noqa: E402


def _load_sibling(name: str) -> types.ModuleType:
    """training/<name>.py, imported by path (training/ is no package)."""
    key = f"_semwidget_training_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


Discriminator = _load_sibling("discriminator").Discriminator
_run = _load_sibling("generator_run")
GeneratorRun, count_params = _run.GeneratorRun, _run.count_params
_vae = _load_sibling("vae")

log = logging.getLogger("train_stylegan2")

CHECKPOINT_FORMAT = "semwidget-stylegan2-train/1"
#: Options that fix the shapes of G and D: a resumed run must keep them.
ARCH_KEYS = ("objective", "size", "style_dim", "n_mlp", "channel_multiplier", "channel_max", "encoder_channels")
DEFAULTS: dict[str, object] = {
    # "gan": StyleGAN2's adversarial training. "vae": G as the decoder of a VAE (vae.py),
    # the route for a CPU; its defaults for the shared options are vae.VAE_DEFAULTS.
    "objective": "gan",
    # 64 px, 256 channels at every resolution: about 6.6M generator parameters, 13 MB in fp16.
    "size": 64,
    "style_dim": 256,
    "n_mlp": 4,
    "channel_multiplier": 1,
    "channel_max": 256,
    "batch": 64,
    "lr": 0.0025,
    # R1 weight. NVIDIA's heuristic (StyleGAN2-ADA, cfg 'auto') is 0.0002 · res² / batch,
    # 0.013 at 64 px and batch 64, and their 32-px CIFAR config uses 0.01; the 10 of
    # rosinality's default is tuned for 256-1024 px, where the squared gradient sums
    # over 16-256× more pixels. 0.1 sits on the strong side of the small-image range:
    # the procedural world is simple, and a D that grows sharp on it early is the
    # usual way a short run collapses.
    "r1_gamma": 0.1,
    "d_reg_every": 16,
    # Path-length regularisation is off by default: it smooths the W → image map
    # (helpful at high resolution and long schedules) at the price of an extra G
    # forward/backward with double backprop every g_reg_every steps, and NVIDIA's
    # own small-image (CIFAR) config turns it off. A 64-px model trained for
    # minutes gains little from it. --pl-weight 2 turns it on (rosinality's value).
    "pl_weight": 0.0,
    "g_reg_every": 4,
    "pl_batch_shrink": 2,
    "mixing_prob": 0.9,
    # G_ema: half-life of 10k images, ramped up over the first images (StyleGAN2-ADA).
    "ema_kimg": 10.0,
    "ema_rampup": 0.05,
    "seed": 0,
    "amp": False,
    # Used by the VAE objective only; see vae.py.
    **{
        k: v
        for k, v in _vae.VAE_DEFAULTS.items()
        if k in ("kl_weight", "sigma_min", "encoder_channels", "mapping_lr_scale")
    },
}
#: Seconds kept back from --minutes for the final checkpoint and export.
MIN_RESERVE_S = 10.0

BatchFn = Callable[[int, np.random.Generator], torch.Tensor]


class ConfigMismatchError(ValueError):
    """--resume with architecture options other than the checkpoint's."""


# ---- data ------------------------------------------------------------------------


def world_api() -> tuple[Callable, Callable, Callable]:
    """``sample_factors, render, to_tensor`` of :mod:`semwidget.world`."""
    from semwidget.world import render, sample_factors, to_tensor

    return sample_factors, render, to_tensor


def world_batch(n: int, rng: np.random.Generator) -> torch.Tensor:
    """n images of the procedural world, float (n, 3, 64, 64) in [-1, 1]."""
    sample_factors, render, to_tensor = world_api()
    return torch.as_tensor(to_tensor(render(sample_factors(n, rng))), dtype=torch.float32)


def fit_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images resized to size × size (area averaging down, bilinear up) when they differ."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area" if images.shape[-1] > size else "bilinear")


class RenderedBatches(IterableDataset):
    """Endless batches from ``make_batch``; each DataLoader worker draws from its own
    generator seeded by (seed, first step, worker), so a resumed run sees fresh images
    and no two workers render the same ones."""

    def __init__(self, make_batch: BatchFn, batch: int, seed: int, start_step: int) -> None:
        self.make_batch, self.batch, self.seed, self.start_step = make_batch, batch, seed, start_step

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, self.start_step, 0 if info is None else info.id])
        while True:
            yield self.make_batch(self.batch, rng)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # one renderer per core, not one per core per worker


# ---- the checkpoint ---------------------------------------------------------------


def read_checkpoint(path: Path) -> dict:
    """Load and check a training checkpoint; a clear ValueError if it is damaged or foreign."""
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}; start without --resume to train from scratch")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, ...: torch raises many kinds
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(
            f"could not read the training checkpoint {path} ({type(exc).__name__}: {first}); the file is "
            f"damaged, e.g. truncated by a full disk or a copy that broke off. It was left as it is; restore "
            f"it from a copy, or train from scratch into another --out"
        ) from None
    required = {"format", "config", "step", "nimg", "G", "G_ema", "rng"}
    if isinstance(ckpt, dict) and isinstance(ckpt.get("config"), dict):
        required |= set(trainer_class(ckpt["config"].get("objective", "gan")).STATE_KEYS)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or not required <= set(ckpt):
        found = sorted(map(str, ckpt))[:10] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(
            f"{path} is not a training checkpoint of this script (format {CHECKPOINT_FORMAT!r} with keys "
            f"{sorted(required)}); found {found}"
        )
    return ckpt


def resolve_config(explicit: dict, saved: dict | None) -> dict:
    """The run's configuration: the defaults, then the checkpoint's (on resume), then
    the options given on the command line. Architecture options that differ from the
    checkpoint's raise :class:`ConfigMismatchError`."""
    if saved is None:
        return {**defaults_for(explicit.get("objective", "gan")), **explicit}
    clash = {k: (saved.get(k), explicit[k]) for k in ARCH_KEYS if k in explicit and explicit[k] != saved.get(k)}
    if clash:
        detail = ", ".join(f"{k}: checkpoint {a!r}, given {b!r}" for k, (a, b) in clash.items())
        raise ConfigMismatchError(
            f"cannot resume: the checkpoint was trained with another architecture ({detail}). Resume without "
            f"these options (the checkpoint's are used), or train from scratch into another --out"
        )
    objective = saved.get("objective", "gan")
    return {**defaults_for(objective), **{k: v for k, v in saved.items() if k in DEFAULTS}, **explicit}


def defaults_for(objective: str) -> dict:
    """DEFAULTS, with the VAE's own defaults for the shared options under ``"vae"``."""
    if objective == "vae":
        return {**DEFAULTS, **_vae.VAE_DEFAULTS}
    return dict(DEFAULTS)


def trainer_class(objective: str) -> type:
    if objective == "gan":
        return Trainer
    if objective == "vae":
        return VAETrainer
    raise ValueError(f"objective must be 'gan' or 'vae'; got {objective!r}")


# ---- the trainer ------------------------------------------------------------------


class Trainer(GeneratorRun):
    """The adversarial objective: G, D, G_ema and their optimisers, one step at a time."""

    STATE_KEYS = ("D", "g_optim", "d_optim")

    def __init__(self, config: dict, device: torch.device) -> None:
        super().__init__(config, device)
        c = config
        self.D = Discriminator(c["size"], c["channel_multiplier"], c["channel_max"]).to(device)
        self.g_optim = torch.optim.Adam(self.G.parameters())
        self.d_optim = torch.optim.Adam(self.D.parameters())
        self.set_optimizer_hyperparameters()
        self.mean_path_length = 0.0

    def describe(self) -> str:
        return f"{super().describe()}, D {count_params(self.D)} params"

    def set_optimizer_hyperparameters(self) -> None:
        """lr and betas with the lazy-regularisation correction: a regulariser applied every
        k steps in its own Adam step makes k + 1 steps per k minibatches, so lr and the
        betas are raised to the power k / (k + 1) (StyleGAN2, appendix B)."""
        c = self.config
        pl_on = c["pl_weight"] > 0
        for optim, every in ((self.g_optim, c["g_reg_every"] if pl_on else 0), (self.d_optim, c["d_reg_every"])):
            ratio = every / (every + 1) if every else 1.0
            for group in optim.param_groups:
                group["lr"] = c["lr"] * ratio
                group["betas"] = (0.0**ratio, 0.99**ratio)

    def make_z(self, n: int) -> list[torch.Tensor]:
        """One z per sample, or two (style mixing) with probability mixing_prob."""
        k = 2 if torch.rand(()).item() < self.config["mixing_prob"] else 1
        return [torch.randn(n, self.config["style_dim"], device=self.device) for _ in range(k)]

    def train_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D step, the lazy R1 step when due, one G step, the lazy path-length step
        when due, the EMA update. Returns the losses as 0-dim tensors (no host sync)."""
        c, G, D = self.config, self.G, self.D
        n = real.shape[0]
        out: dict[str, torch.Tensor] = {}

        # D: non-saturating logistic loss, softplus(D(fake)) + softplus(-D(real)).
        with torch.no_grad(), self.autocast():
            fake, _ = G(self.make_z(n))
        with self.autocast():
            d_loss = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        self.d_optim.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optim.step()
        out["d"] = d_loss.detach()

        if self.step % c["d_reg_every"] == 0 and c["r1_gamma"] > 0:
            # Lazy R1 (float32: double backprop is where low precision hurts most).
            real_r1 = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(real_r1).sum(), real_r1, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            self.d_optim.zero_grad(set_to_none=True)
            (c["r1_gamma"] / 2 * r1 * c["d_reg_every"]).backward()
            self.d_optim.step()
            out["r1"] = r1.detach()

        # G: softplus(-D(G(z))); D's weights need no gradient here.
        D.requires_grad_(False)
        with self.autocast():
            fake, _ = G(self.make_z(n))
            g_loss = F.softplus(-D(fake)).mean()
        self.g_optim.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_optim.step()
        D.requires_grad_(True)
        out["g"] = g_loss.detach()

        if c["pl_weight"] > 0 and self.step % c["g_reg_every"] == 0:
            out["pl"] = self.path_length_step(max(1, n // c["pl_batch_shrink"]))

        self.step += 1
        self.nimg += n
        self.update_ema(n)
        return out

    def path_length_step(self, n: int) -> torch.Tensor:
        """Lazy path-length regularisation: keep |J_w^T y| near its running mean."""
        c = self.config
        fake, latents = self.G(self.make_z(n), return_latents=True)
        y = torch.randn_like(fake) / math.sqrt(fake.shape[2] * fake.shape[3])
        (grad,) = torch.autograd.grad((fake * y).sum(), latents, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        mean = self.mean_path_length + 0.01 * (lengths.mean().item() - self.mean_path_length)
        penalty = (lengths - mean).square().mean()
        self.g_optim.zero_grad(set_to_none=True)
        (c["pl_weight"] * c["g_reg_every"] * penalty).backward()
        self.g_optim.step()
        self.mean_path_length = mean
        return penalty.detach()

    def extra_state(self) -> dict:
        return {
            "mean_path_length": self.mean_path_length,
            "D": self.D.state_dict(),
            "g_optim": self.g_optim.state_dict(),
            "d_optim": self.d_optim.state_dict(),
        }

    def load_extra_state(self, ckpt: dict) -> None:
        self.D.load_state_dict(ckpt["D"])
        self.g_optim.load_state_dict(ckpt["g_optim"])
        self.d_optim.load_state_dict(ckpt["d_optim"])
        self.set_optimizer_hyperparameters()  # lr may have been changed on the command line
        self.mean_path_length = float(ckpt.get("mean_path_length", 0.0))


VAETrainer = _vae.make_trainer_class(GeneratorRun)


def save_all(trainer: GeneratorRun, out: Path) -> float:
    """checkpoint.pt, g_ema_fp16.pt and a sample grid, each written atomically; returns seconds taken."""
    t = time.monotonic()
    state = trainer.state_dict(CHECKPOINT_FORMAT)
    atomic_write(out / "checkpoint.pt", lambda f: torch.save(state, f))
    export = trainer.export()
    atomic_write(out / "g_ema_fp16.pt", lambda f: torch.save(export, f))
    trainer.sample_grid(out / "samples" / f"{trainer.step:07d}.png")
    seconds = time.monotonic() - t
    log.info(
        "step %d: wrote %s, g_ema_fp16.pt and a sample grid (%.1f s)", trainer.step, out / "checkpoint.pt", seconds
    )
    return seconds


# ---- the command line -------------------------------------------------------------


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, dict]:
    """The parsed options and the configuration options given explicitly."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="run directory (checkpoint, export, samples, log)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--steps", type=int, help="stop at this total step count")
    p.add_argument("--minutes", type=float, help="wall-clock budget of this process, final save included")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints (default 1000)")
    p.add_argument("--log-seconds", type=float, default=30.0, help="seconds between progress lines (default 30)")
    p.add_argument(
        "--workers", type=int, help="DataLoader workers rendering the world (default: CPUs - 2 on CUDA, 0 on CPU)"
    )
    p.add_argument("--device", help="cuda, cpu, ... (default: cuda when there is a GPU)")
    p.add_argument(
        "--cudnn-benchmark",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="let cuDNN time its algorithms for each new shape (default off: on an H100 it cost\n"
        "about 14 s in the first plain and the first R1 step and was no faster afterwards)",
    )
    g = p.add_argument_group("configuration (saved in the checkpoint; on --resume the checkpoint's is the default)")
    g.add_argument("--size", type=int, help=f"image resolution (default {DEFAULTS['size']})")
    g.add_argument("--style-dim", type=int, help=f"z and w width (default {DEFAULTS['style_dim']})")
    g.add_argument("--n-mlp", type=int, help=f"mapping layers (default {DEFAULTS['n_mlp']})")
    g.add_argument("--channel-multiplier", type=int, help=f"(default {DEFAULTS['channel_multiplier']})")
    g.add_argument("--channel-max", type=int, help=f"channel cap, 0 for none (default {DEFAULTS['channel_max']})")
    g.add_argument("--batch", type=int, help=f"(default {DEFAULTS['batch']})")
    g.add_argument("--lr", type=float, help=f"Adam learning rate (default {DEFAULTS['lr']})")
    g.add_argument("--r1-gamma", type=float, help=f"R1 weight (default {DEFAULTS['r1_gamma']})")
    g.add_argument("--d-reg-every", type=int, help=f"(default {DEFAULTS['d_reg_every']})")
    g.add_argument("--pl-weight", type=float, help=f"path-length weight, 0 = off (default {DEFAULTS['pl_weight']})")
    g.add_argument("--g-reg-every", type=int, help=f"(default {DEFAULTS['g_reg_every']})")
    g.add_argument("--mixing-prob", type=float, help=f"style-mixing probability (default {DEFAULTS['mixing_prob']})")
    g.add_argument("--ema-kimg", type=float, help=f"G_ema half-life in kimg (default {DEFAULTS['ema_kimg']})")
    g.add_argument("--ema-rampup", type=float, help=f"0 for none (default {DEFAULTS['ema_rampup']})")
    g.add_argument("--seed", type=int, help=f"(default {DEFAULTS['seed']})")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, help="bf16 autocast on CUDA (default off)")
    g.add_argument(
        "--objective",
        choices=("gan", "vae"),
        help="gan: StyleGAN2's adversarial training (default); vae: G as a VAE decoder, the CPU route (vae.py)",
    )
    v = p.add_argument_group("VAE objective (see training/vae.py)")
    v.add_argument("--kl-weight", type=float, help=f"beta (default {DEFAULTS['kl_weight']})")
    v.add_argument("--sigma-min", type=float, help=f"floor of the likelihood's sigma (default {DEFAULTS['sigma_min']})")
    v.add_argument("--encoder-channels", type=int, help=f"(default {DEFAULTS['encoder_channels']})")
    v.add_argument("--mapping-lr-scale", type=float, help=f"(default {DEFAULTS['mapping_lr_scale']})")
    args = p.parse_args(argv)
    explicit = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    if explicit.get("channel_max") == 0:
        explicit["channel_max"] = None
    for k in (
        "size",
        "style_dim",
        "n_mlp",
        "channel_multiplier",
        "batch",
        "d_reg_every",
        "g_reg_every",
        "encoder_channels",
    ):
        if k in explicit and explicit[k] < 1:
            p.error(f"--{k.replace('_', '-')} must be >= 1; got {explicit[k]}")
    return args, explicit


def _setup_logging(out: Path) -> list[logging.Handler]:
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout), logging.FileHandler(out / "log.txt")]
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handlers


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def main(argv: list[str] | None = None, *, make_batch: BatchFn = world_batch) -> dict:
    """Train; returns the last progress values (step, kimg and mean losses).

    ``make_batch(n, rng)`` supplies the training images, float (n, 3, H, W) in
    [-1, 1], resized to ``size`` when H differs; the world by default.
    """
    t_start = time.monotonic()
    args, explicit = parse_args(argv)
    out: Path = args.out
    ckpt_path = out / "checkpoint.pt"
    # Everything that can refuse the run is checked before anything is written.
    ckpt = read_checkpoint(ckpt_path) if args.resume else None
    if ckpt is None and ckpt_path.exists():
        raise FileExistsError(f"{ckpt_path} exists; pass --resume to continue it, or choose another --out")
    config = resolve_config(explicit, ckpt["config"] if ckpt else None)
    if make_batch is world_batch:
        world_api()  # fail here, not in a DataLoader worker
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    out.mkdir(parents=True, exist_ok=True)
    handlers = _setup_logging(out)
    stop: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: stop.append(signal.Signals(signum).name))
    try:
        if ckpt is None:
            torch.manual_seed(config["seed"])
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = args.cudnn_benchmark
            torch.set_float32_matmul_precision("high")  # TF32 matmuls; cuDNN convs use TF32 by default
        trainer = trainer_class(config["objective"])(config, device)
        if ckpt is not None:
            trainer.load_state_dict(ckpt)
            log.info("resumed %s at step %d (%.1f kimg)", ckpt_path, trainer.step, trainer.nimg / 1000)
            saved = ckpt["config"]
            changed = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in explicit.items() if saved.get(k) != v]
            if changed:
                log.info("options changed on resume: %s", ", ".join(changed))
            del ckpt
        log.info("config %s", json.dumps(config))
        log.info("%s; device %s%s", trainer.describe(), device, ", bf16 autocast" if trainer.amp else "")
        return _train_loop(trainer, args, out, make_batch, t_start, stop)
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()


def _train_loop(
    trainer: GeneratorRun, args: argparse.Namespace, out: Path, make_batch: BatchFn, t_start: float, stop: list[str]
) -> dict:
    c, device = trainer.config, trainer.device
    workers = (
        args.workers
        if args.workers is not None
        else (max(1, min(16, (os.cpu_count() or 2) - 2)) if device.type == "cuda" else 0)
    )
    loader = DataLoader(
        RenderedBatches(make_batch, c["batch"], c["seed"], trainer.step),
        batch_size=None,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=_worker_init if workers else None,
        prefetch_factor=4 if workers else None,
        persistent_workers=workers > 0,
    )
    deadline = t_start + args.minutes * 60 if args.minutes is not None else math.inf
    reserve = MIN_RESERVE_S
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    last: dict = {}
    t_log = time.monotonic()
    img_log, wait = trainer.nimg, 0.0
    batches = iter(loader)

    def report() -> dict:
        nonlocal t_log, img_log, wait
        now = time.monotonic()
        means = {k: (v / counts[k]).item() for k, v in sums.items()}
        if not all(math.isfinite(v) for v in means.values()):
            raise FloatingPointError(
                f"non-finite loss at step {trainer.step} ({means}); checkpoint.pt from the last save is untouched"
            )
        span = max(now - t_log, 1e-9)
        trainer.train_seconds += span
        losses = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
        log.info(
            "step %d  kimg %.1f  %s  img/s %.0f  data-wait %.0f%%  elapsed %s  (trained %s)",
            trainer.step, trainer.nimg / 1000, losses, (trainer.nimg - img_log) / span, 100 * wait / span,
            _hms(now - t_start), _hms(trainer.train_seconds),
        )  # fmt: skip
        sums.clear()
        counts.clear()
        t_log, img_log, wait = now, trainer.nimg, 0.0
        return {"step": trainer.step, "kimg": trainer.nimg / 1000, **means}

    first = True
    saved_step = trainer.step if args.resume else -1
    while True:
        if args.steps is not None and trainer.step >= args.steps:
            break
        if time.monotonic() + reserve >= deadline:
            log.info("time budget of %.1f min reached", args.minutes)
            break
        if stop:
            log.info("%s received: stopping after step %d", stop[0], trainer.step)
            break
        t = time.monotonic()
        real = fit_size(next(batches).to(device, non_blocking=True), c["size"])
        wait += time.monotonic() - t
        for k, v in trainer.train_step(real).items():
            sums[k] = sums[k] + v if k in sums else v.float().clone()
            counts[k] = counts.get(k, 0) + 1
        if first or time.monotonic() - t_log >= args.log_seconds:
            last = report()
            first = False
        if trainer.step % args.checkpoint_every == 0:
            reserve = max(reserve, 2 * save_all(trainer, out))
            saved_step = trainer.step
    if sums:
        last = report()
    if trainer.step != saved_step:
        save_all(trainer, out)
    return last or {"step": trainer.step, "kimg": trainer.nimg / 1000}


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
