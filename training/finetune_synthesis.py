"""Third stage of the VAE route: sharpen the synthesis network on real renders, in w+.

    python training/finetune_synthesis.py --out runs/sharpen --minutes 60
    python training/finetune_synthesis.py --out runs/sharpen --resume --minutes 60
    python training/finetune_synthesis.py --out runs/sharpen --export

Why: the VAE decoder draws thin parts soft. Inverting a render of a tall cone gives a
blunt tip, and the world's predictor then reads the cone as smaller. w+ inversion goes
around the mapping network, and no loss or step count tried fixed it; the synthesis
weights can. Tuning them (lr 3e-4, MSE) on two such renders alone, their inverted w+
held fixed, took the predictor's scale error on them from −0.13/−0.15 to −0.06/−0.06 in
300 steps: the network can draw the tips, it had not learned to.

What it trains: a deterministic autoencoder on fresh renders,

    render ─ w+ encoder ─→ w+ ─ synthesis ─→ image,   loss = MSE(image, render)
                                                       + anchor · ‖codes − shipped codes‖²

The encoder starts as the shipped w+ encoder (``shapes-stylegan2-encoder.pt``) and the
anchor (in its standardised units) keeps its codes where the shipped encoder puts them,
near the codes of the generator's own samples; so the sharper synthesis is learned where
samples and inversions land, and the mapping network (frozen here) still reaches it. The
synthesis starts from the shipped weights; the stored noise maps stay fixed (semwidget
renders with them). ``--keep`` optionally also holds G(w) of mapped prior samples near the
shipped generator's images.

The encoder's BatchNorm statistics stay frozen (eval mode): batches of 32 renders would
move them away from those the shipped encoder was trained with.

Writes ``OUT/checkpoint.pt`` (resumable; our own file, read with ``weights_only=True``),
``OUT/log.txt`` and, with ``--export``, ``OUT/g_ema_fp16.pt`` in the layout of the shipped
``shapes-stylegan2.pt`` with a ``'finetune'`` record added.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from semwidget.files._atomic import atomic_write  # noqa: E402

log = logging.getLogger("finetune_synthesis")

DEFAULTS = {
    "batch": 32,
    "lr": 1e-3,  # synthesis; Adam (0, 0.99) as StyleGAN2's generator (the VAE stage: 2e-3)
    "encoder_lr": 1e-4,
    "anchor": 1.0,
    "keep": 0.0,
    "lap1": 0.0,  # weight of a Laplacian-pyramid L1 term beside the MSE (edges count more)
    "ema_kimg": 2.0,
    "seed": 0,
}
#: Held-out renders for the progress figures (never drawn in training: other seed entropy).
EVAL_SEED, EVAL_N = 2024, 64
#: benchmarks/inversion.py's held-out world renders (WORLD_SEED there).
BENCHMARK_SEED = 20_261_201


def shipped() -> tuple[Any, torch.nn.Module, dict]:
    """The shipped generator (float32), its w+ encoder network and its checkpoint dict."""
    import semwidget
    from semwidget.inversion._encoder import REGISTRY, load_encoder_file

    g = semwidget.load("shapes-stylegan2", device="cpu")
    entry = REGISTRY["shapes-stylegan2"]
    enc, _ = load_encoder_file(entry.path, sha256=entry.sha256, model=entry.model, fingerprint=entry.fingerprint)
    ckpt = torch.load(Path(semwidget.__file__).parent / "world/weights/shapes-stylegan2.pt", weights_only=True)
    return g, enc.float(), ckpt


def renders(n: int, rng: np.random.Generator) -> torch.Tensor:
    from semwidget.world import render, sample_factors, to_tensor

    return to_tensor(render(sample_factors(n, rng)))


def synth(module: torch.nn.Module, ws: torch.Tensor) -> torch.Tensor:
    return module([ws], input_is_latent=True, randomize_noise=False)[0]


@torch.no_grad()
def evaluate(g_ema: torch.nn.Module, enc: torch.nn.Module, x: torch.Tensor, factors: np.ndarray) -> dict:
    """PSNR of G(E(x)) on held-out renders ``x`` of ``factors``, and the predictor's scale error on it."""
    from semwidget.world._measure import factor_error
    from semwidget.world._predictor import SCORE_NAMES

    y = synth(g_ema, enc(x)).clamp(-1, 1)
    psnr = 10 * torch.log10(4 / (y - x).square().mean((1, 2, 3)))
    scale = factor_error(y, factors)[SCORE_NAMES.index("scale")]
    return {"psnr": float(psnr.mean()), "scale_mae": float(scale)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", action="store_true", help="write OUT/g_ema_fp16.pt and exit")
    p.add_argument(
        "--evaluate",
        type=int,
        metavar="N",
        help="invert N of benchmarks/inversion.py's world renders with the shipped generator and with OUT's "
        "(each from its own encoder's codes) and print PSNR and factor error; then exit",
    )
    p.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this process")
    p.add_argument("--until", type=int, help="stop at this total step count (a later --resume continues)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=250, help="steps between held-out figures (0: none)")
    for k, v in DEFAULTS.items():
        p.add_argument("--" + k.replace("_", "-"), type=type(v), default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "log.txt")],
    )
    ckpt_path = args.out / "checkpoint.pt"
    if not (args.resume or args.export or args.evaluate) and ckpt_path.exists():
        p.error(f"{ckpt_path} exists: pass --resume to continue it, or another --out")
    saved = torch.load(ckpt_path, weights_only=True) if (args.resume or args.export or args.evaluate) else None
    config = dict(saved["config"]) if saved else dict(DEFAULTS)
    for k in DEFAULTS:
        v = getattr(args, k)
        if v is not None and saved and v != config[k]:
            p.error(f"--{k} {v} differs from the checkpoint's {config[k]}; resume keeps its configuration")
        if v is not None:
            config[k] = v

    from semwidget.inversion._losses import Lap1

    lap1 = Lap1()
    generator, enc, shipped_ckpt = shipped()
    g = generator.module
    if args.export:
        return export(g, saved, shipped_ckpt, args.out)
    if args.evaluate:
        return compare(generator, enc, saved, args.evaluate)
    g_ema, enc_old = copy.deepcopy(g).eval(), copy.deepcopy(enc).eval().requires_grad_(False)
    g_old = copy.deepcopy(g).eval().requires_grad_(False) if config["keep"] else None
    # semwidget loads generators frozen; the synthesis trains, the mapping stays (prior
    # samples still land where the codes are).
    g.requires_grad_(True).style.requires_grad_(False)
    enc.requires_grad_(True).eval()  # BatchNorm statistics frozen; its weights train
    synth_params = [q for n, q in g.named_parameters() if not n.startswith("style.")]
    log.info("training %d synthesis parameters", sum(q.numel() for q in synth_params))
    opt_g = torch.optim.Adam(synth_params, lr=config["lr"], betas=(0.0, 0.99))
    opt_e = torch.optim.Adam(enc.parameters(), lr=config["encoder_lr"], betas=(0.9, 0.99))
    step = 0
    if saved:
        g.load_state_dict(saved["g"])
        g_ema.load_state_dict(saved["g_ema"])
        enc.load_state_dict(saved["enc"])
        opt_g.load_state_dict(saved["opt_g"])
        opt_e.load_state_dict(saved["opt_e"])
        step = int(saved["step"])
        log.info("resumed at step %d", step)
    from semwidget.world import render, sample_factors, to_tensor

    eval_factors = sample_factors(EVAL_N, np.random.default_rng(EVAL_SEED))
    eval_x = to_tensor(render(eval_factors))
    if step == 0 and args.eval_every:
        log.info("shipped: %s", evaluate(g_ema, enc, eval_x, eval_factors))
    beta = 0.5 ** (config["batch"] / (config["ema_kimg"] * 1000))

    def save() -> None:
        state = {
            "g": g.state_dict(),
            "g_ema": g_ema.state_dict(),
            "enc": enc.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_e": opt_e.state_dict(),
            "step": step,
            "config": config,
        }
        atomic_write(ckpt_path, lambda f: torch.save(state, f))

    start = time.perf_counter()
    while time.perf_counter() - start < args.minutes * 60 and (args.until is None or step < args.until):
        x = renders(config["batch"], np.random.default_rng([config["seed"], step]))
        codes = enc.standardised(x)
        with torch.no_grad():
            anchor_codes = enc_old.standardised(x)
        y = synth(g, enc.out_mean + enc.out_std * codes)
        recon = (y - x).square().mean()
        if config["lap1"]:
            recon = recon + config["lap1"] * lap1(y, x).mean()
        anchor = (codes - anchor_codes).square().mean()
        loss = recon + config["anchor"] * anchor
        if g_old is not None:
            z = torch.randn(config["batch"] // 2, g.style_dim, generator=torch.Generator().manual_seed(step))
            with torch.no_grad():
                w = g.style(z).unsqueeze(1).repeat(1, g.n_latent, 1)
                target = synth(g_old, w)
            loss = loss + config["keep"] * (synth(g, w) - target).square().mean()
        opt_g.zero_grad(set_to_none=True)
        opt_e.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        opt_e.step()
        with torch.no_grad():
            for a, b in zip(g_ema.parameters(), g.parameters()):
                a.lerp_(b, 1 - beta)
        step += 1
        if step % 50 == 0:
            log.info("step %d  recon %.5f  anchor %.5f", step, recon.item(), anchor.item())
        if args.eval_every and step % args.eval_every == 0:
            log.info("step %d  held-out %s", step, evaluate(g_ema, enc, eval_x, eval_factors))
            save()
    save()
    log.info("stopped at step %d after %.1f min", step, (time.perf_counter() - start) / 60)


def compare(generator: Any, enc: torch.nn.Module, saved: dict, n: int) -> None:
    """What the inversion benchmark measures on world renders, shipped weights against the run's."""
    from semwidget.generators import Latents
    from semwidget.inversion import invert
    from semwidget.world import render, sample_factors, to_tensor
    from semwidget.world._measure import factor_error, summed_factor_error
    from semwidget.world._predictor import SCORE_NAMES

    factors = sample_factors(n, np.random.default_rng(BENCHMARK_SEED))
    x = to_tensor(render(factors))
    own = factor_error(x, factors)
    for label, state in (("shipped", None), (f"step {saved['step']}", saved)):
        if state is not None:
            generator.module.load_state_dict(state["g_ema"])
            enc.load_state_dict(state["enc"])
        with torch.no_grad():
            codes = enc.eval()(x)
        start = Latents(ws=codes, model=generator.fingerprint, space=generator.latent_space)
        inv = invert(generator, x, init=start, progress=False)
        error = factor_error(inv.images, factors)
        scale = SCORE_NAMES.index("scale")
        log.info(
            "%s: PSNR %.2f dB (worst %.2f); factor error %.2f× the predictor's on the renders (scale %.2f×)",
            label,
            float(inv.psnr.mean()),
            float(inv.psnr.min()),
            summed_factor_error(error) / summed_factor_error(own),
            error[scale] / own[scale],
        )


def export(g: torch.nn.Module, saved: dict, shipped_ckpt: dict, out: Path) -> None:
    """g_ema in float16, in the shipped file's layout, plus what this stage did."""
    g.load_state_dict(saved["g_ema"])
    state = {k: v.detach().half() if v.is_floating_point() else v for k, v in g.state_dict().items()}
    file = dict(shipped_ckpt, g_ema=state, finetune={"step": int(saved["step"]), **saved["config"]})
    atomic_write(out / "g_ema_fp16.pt", lambda f: torch.save(file, f))
    log.info("wrote %s", out / "g_ema_fp16.pt")


if __name__ == "__main__":
    main()
