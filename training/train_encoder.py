"""Train a small image encoder on a zoo generator's own samples, for GAN inversion's init.

    python training/train_encoder.py --model shapes-stylegan2 --out runs/enc-shapes --minutes 35
    python training/train_encoder.py --out runs/enc-shapes --resume --minutes 20   # continue
    python training/train_encoder.py --out runs/enc-shapes --export                # -> semwidget/inversion/weights/

A StyleGAN's encoder predicts ``w+`` (one w per layer) as a standardised offset from the
mean w; a DCGAN's predicts ``z``. The training set is generated once and cached in the
run directory (``data/``, in shards written atomically, so an interrupted generation
resumes too): images as uint8 and their latents. For ``w+``, a share ``--mix`` of the
samples is style-mixed (the layers from a random crossover on take a second sample's w),
so the encoder sees layers that disagree, as real images inverted into w+ do.

The loss is the mean squared error of the standardised latents, plus, from step
``--recon-from`` × steps on and when ``--recon-weight`` > 0, the pixel MSE of the
generator's image of the prediction against the input on ``--recon-batch`` images.

Writes into ``--out``:

    data/train-NNNN.pt  the cached training shards; data/held-out.pt the held-out set
    checkpoint.pt       network, AdamW state, step, config, training seconds, evaluations
                        (atomic, every --checkpoint-every steps and at the end)
    log.txt             the progress lines also printed to stdout
    export.json         held-out figures of the exported float16 file (--export)

Seeds: training sample i is drawn with seed i (and, when mixed, its partner with
PARTNER_SEED + i); held-out sample i with HELD_OUT_SEED + i, never trained on. ``--seed``
fixes the network's initialisation, the mixing draws and the order of batches.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from semwidget.files._atomic import atomic_write, sha256_file  # noqa: E402
from semwidget.inversion._encoder import (  # noqa: E402
    REGISTRY,
    WEIGHTS_DIR,
    EncoderNet,
    build_net,
    load_encoder_file,
    save_encoder_file,
)

log = logging.getLogger("train_encoder")

CHECKPOINT_FORMAT = "semwidget-encoder-train/1"
PARTNER_SEED = 50_000_000
HELD_OUT_SEED = 90_000_000
SHARD = 1024
DEFAULTS: dict[str, Any] = {
    "model": None,
    "train": 32768,
    "held_out": 512,
    "steps": 12000,
    "batch": 64,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "warmup": 200,
    "channels": [32, 64, 128, 256],
    "mix": None,  # w+: 0.5; z: 0 (no layers to mix)
    "normalize": None,  # z: "sphere"; w+: "none"
    "recon_weight": 0.0,
    "recon_from": 0.8,
    "recon_batch": 8,
    "seed": 0,
}
#: Held-out samples evaluated at each checkpoint (all of them at --export).
EVAL_DURING = 128


class ConfigMismatchError(ValueError):
    """--resume with settings other than the checkpoint's."""


# ---- the generator and its data ------------------------------------------------------


def load_generator(name: str, device: str | None = None) -> Any:
    import semwidget

    return semwidget.load(name, device=device or "cpu")


def space_of(generator: Any) -> str:
    return "w+" if generator.latent_space == "w" else "z"


def mean_latent(generator: Any) -> torch.Tensor:
    """The mean latent inversion falls back to, shape (num_ws, dim): the mean w for a
    StyleGAN (``latent_avg``), zero for z."""
    if space_of(generator) == "w+":
        return generator.latent_avg.float().cpu().view(1, -1).repeat(generator.num_ws, 1)
    return torch.zeros(1, generator.z_dim)


def _to_uint8(images: torch.Tensor) -> torch.Tensor:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _from_uint8(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def make_shard(generator: Any, config: dict, index: int) -> dict[str, torch.Tensor]:
    """Training samples ``index * SHARD`` onward: uint8 images and float32 latents (n, num_ws, dim)."""
    start = index * SHARD
    n = min(SHARD, config["train"] - start)
    seeds = list(range(start, start + n))
    latents = generator.sample(seeds=seeds)
    ws = latents.ws.float().cpu().clone()
    rng = torch.Generator().manual_seed(config["seed"] * 1_000_003 + index)
    cross = torch.full((n,), ws.shape[1], dtype=torch.int64)
    if config["mix"] > 0 and ws.shape[1] > 1:
        mixed = torch.rand(n, generator=rng) < config["mix"]
        points = torch.randint(1, ws.shape[1], (n,), generator=rng)
        cross = torch.where(mixed, points, cross)
        partner = generator.sample(seeds=[PARTNER_SEED + s for s in seeds]).ws.float().cpu()
        layer = torch.arange(ws.shape[1]).view(1, -1, 1)
        ws = torch.where(layer >= cross.view(-1, 1, 1), partner, ws)
    images = generator.synthesize(latents.replace(ws=ws.to(generator.device, generator.dtype)), batch_size=64)
    return {"images": _to_uint8(images), "ws": ws, "seeds": torch.tensor(seeds), "cross": cross}


def held_out_set(generator: Any, n: int) -> dict[str, torch.Tensor]:
    """Plain (unmixed) samples from seeds never trained on; float images as the generator made them."""
    latents = generator.sample(seeds=[HELD_OUT_SEED + i for i in range(n)])
    images = generator.synthesize(latents, batch_size=64)
    return {"images": images, "ws": latents.ws.float().cpu(), "seeds": torch.tensor(latents.seeds)}


def prepare_data(
    generator: Any, config: dict, out: Path, stop: list[str], deadline: float = math.inf
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cached training set (generated where missing): uint8 images (N, 3, R, R), latents (N, num_ws, dim).
    Stops between shards on a signal or at ``deadline`` (``time.monotonic()``), keeping what it wrote."""
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    shards = math.ceil(config["train"] / SHARD)
    images, ws = [], []
    t0 = time.monotonic()
    made = 0
    for index in range(shards):
        path = folder / f"train-{index:04d}.pt"
        if not path.exists():
            if stop:
                raise KeyboardInterrupt(f"{stop[0]} received while generating the training set")
            if time.monotonic() >= deadline:
                raise KeyboardInterrupt("time budget reached while generating the training set")
            shard = make_shard(generator, config, index)
            atomic_write(path, lambda f, s=shard: torch.save(s, f))
            made += 1
            if made % 4 == 0 or index == shards - 1:
                rate = made * SHARD / (time.monotonic() - t0)
                log.info("training set: shard %d/%d (%.0f samples/s)", index + 1, shards, rate)
        shard = torch.load(path, map_location="cpu", weights_only=True)
        expected = min(SHARD, config["train"] - index * SHARD)
        if shard["images"].shape[0] != expected or shard["ws"].shape[0] != expected:
            raise ValueError(f"{path} holds {shard['images'].shape[0]} samples; expected {expected}. Delete it")
        images.append(shard["images"])
        ws.append(shard["ws"])
    if made:
        log.info("training set: %d shards generated in %.0f s", made, time.monotonic() - t0)
    return torch.cat(images), torch.cat(ws)


def held_out(generator: Any, config: dict, out: Path) -> dict[str, torch.Tensor]:
    path = out / "data" / "held-out.pt"
    if not path.exists():
        data = held_out_set(generator, config["held_out"])
        atomic_write(path, lambda f: torch.save(data, f))
    return torch.load(path, map_location="cpu", weights_only=True)


# ---- the network, its loss and its evaluation -------------------------------------------


def new_net(generator: Any, config: dict, latents: torch.Tensor) -> EncoderNet:
    """The network, with ``out_mean``/``out_std`` set from the training latents (w+:
    their mean per layer and dimension and one std per dimension; z: 0 and 1)."""
    space = space_of(generator)
    shape = (generator.num_ws, generator.w_dim) if space == "w+" else (1, generator.z_dim)
    net = EncoderNet(generator.img_resolution, config["channels"], shape)
    if space == "w+":
        net.out_mean.copy_(latents.mean(0))
        net.out_std.copy_(latents.std(dim=(0, 1)).clamp_min(1e-6).expand(shape))
    return net


def file_config(generator: Any, config: dict) -> dict[str, Any]:
    space = space_of(generator)
    return {
        "model": generator.name,
        "fingerprint": generator.fingerprint,
        "space": space,
        "resolution": generator.img_resolution,
        "channels": list(config["channels"]),
        "num_ws": generator.num_ws if space == "w+" else 1,
        "dim": generator.w_dim if space == "w+" else generator.z_dim,
        "normalize": config["normalize"],
    }


def as_ws(generator: Any, predicted: torch.Tensor, normalize: str) -> torch.Tensor:
    """Network output (n, num_ws, dim) → the ws the generator synthesizes (z on the sphere
    of radius sqrt(z_dim) under ``"sphere"``)."""
    if normalize == "sphere":
        return predicted * (math.sqrt(predicted.shape[-1]) / predicted.norm(dim=-1, keepdim=True).clamp_min(1e-8))
    return predicted


def lr_at(step: int, config: dict) -> float:
    """Linear warm-up, then a cosine to zero at ``steps``."""
    if step < config["warmup"]:
        return config["lr"] * (step + 1) / config["warmup"]
    t = (step - config["warmup"]) / max(1, config["steps"] - config["warmup"])
    return config["lr"] * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image, for images in [-1, 1] (peak-to-peak 2)."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return 10 * torch.log10(4 / mse)


def _latents(generator: Any, ws: torch.Tensor) -> Any:
    from semwidget.generators._latents import Latents

    ws = ws.to(generator.device, generator.dtype)
    return Latents(ws=ws, model=generator.fingerprint, space=generator.latent_space)


def evaluate(generator: Any, predict: Any, data: dict[str, torch.Tensor], normalize: str, n: int) -> dict:
    """Latent and image figures of ``predict`` (images → (n, num_ws, dim)) on ``n`` held-out
    samples, beside the mean latent's."""
    images, target = data["images"][:n], data["ws"][:n]
    with torch.inference_mode():
        device = next(iter(predict.parameters())).device if isinstance(predict, torch.nn.Module) else "cpu"
        pred = as_ws(generator, predict(images.to(device)).float().cpu(), normalize)
    mean = mean_latent(generator).expand_as(target)
    latent_mse = (pred - target).pow(2).mean().item()
    mean_mse = (mean - target).pow(2).mean().item()
    recon = generator.synthesize(_latents(generator, pred))
    base = generator.synthesize(_latents(generator, mean))
    p, p_mean = psnr(recon, images), psnr(base, images)
    cos = F.cosine_similarity(pred.flatten(1) - mean.flatten(1), target.flatten(1) - mean.flatten(1)).mean().item()
    return {
        "n": n,
        "latent_mse": latent_mse,
        "latent_mse_of_mean": mean_mse,
        "latent_relative_mse": latent_mse / mean_mse,
        "latent_cosine": cos,
        "psnr": p.mean().item(),
        "psnr_median": p.median().item(),
        "psnr_p10": p.quantile(0.1).item(),
        "psnr_of_mean": p_mean.mean().item(),
        "image_mse": (recon - images).pow(2).mean().item(),
    }


# ---- the checkpoint and the command line -------------------------------------------------


def read_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train into that --out first (without --resume)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, ...
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(
            f"could not read the training checkpoint {path} ({type(exc).__name__}: {first}); it is damaged. "
            f"It was left as it is; train into another --out"
        ) from None
    required = {"format", "config", "step", "net", "optim", "train_seconds", "evals"}
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT or not required <= set(ckpt):
        raise ValueError(f"{path} is not a checkpoint of train_encoder.py (format {CHECKPOINT_FORMAT!r})")
    return ckpt


def resolve_config(explicit: dict, saved: dict | None) -> dict:
    """The defaults and the options given (new run), or the checkpoint's config, which
    options given on the command line must equal (resume)."""
    if saved is None:
        if not explicit.get("model"):
            raise ValueError("--model is required for a new run (a zoo name such as shapes-stylegan2)")
        return {**DEFAULTS, **explicit}
    clash = {k: (saved.get(k), v) for k, v in explicit.items() if saved.get(k) != v}
    if clash:
        detail = ", ".join(f"{k}: checkpoint {a!r}, given {b!r}" for k, (a, b) in clash.items())
        raise ConfigMismatchError(
            f"cannot resume with other settings ({detail}); resume without them (the checkpoint's are "
            f"used), or train from scratch into another --out"
        )
    return dict(saved)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="run directory (data, checkpoint, log)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--export", action="store_true", help="write the float16 weights of OUT's checkpoint and exit")
    p.add_argument("--dest", type=Path, help="--export: file to write (default semwidget/inversion/weights/...)")
    p.add_argument("--minutes", type=float, help="wall-clock budget of this process (data generation included)")
    p.add_argument("--until", type=int, help="stop this process at this step (a later --resume continues)")
    p.add_argument("--device", help="where the generator and the encoder run (default cpu; cuda when lent one)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    p.add_argument("--log-seconds", type=float, default=30.0, help="seconds between progress lines (default 30)")
    g = p.add_argument_group("configuration (saved in the checkpoint; --resume refuses other values)")
    g.add_argument("--model", help="zoo name of the generator (shapes-stylegan2, digiface-dcgan, ...)")
    g.add_argument("--train", type=int, help=f"training samples (default {DEFAULTS['train']})")
    g.add_argument("--held-out", type=int, help=f"held-out samples (default {DEFAULTS['held_out']})")
    g.add_argument("--steps", type=int, help=f"total steps; the LR schedule ends there (default {DEFAULTS['steps']})")
    g.add_argument("--batch", type=int, help=f"(default {DEFAULTS['batch']})")
    g.add_argument("--lr", type=float, help=f"AdamW peak learning rate (default {DEFAULTS['lr']})")
    g.add_argument("--weight-decay", type=float, help=f"(default {DEFAULTS['weight_decay']})")
    g.add_argument("--warmup", type=int, help=f"linear warm-up steps (default {DEFAULTS['warmup']})")
    g.add_argument("--channels", help="channels per block, comma-separated (default 32,64,128,256)")
    g.add_argument("--mix", type=float, help="share of style-mixed training samples (default 0.5 for w+, 0 for z)")
    g.add_argument("--normalize", choices=("none", "sphere"), help="z: put predictions on the sphere (default)")
    g.add_argument("--recon-weight", type=float, help="pixel MSE weight through the generator (default 0: off)")
    g.add_argument("--recon-from", type=float, help="share of steps after which it is on (default 0.8)")
    g.add_argument("--recon-batch", type=int, help="images per step it is computed on (default 8)")
    g.add_argument("--seed", type=int, help=f"(default {DEFAULTS['seed']})")
    args = p.parse_args(argv)
    explicit = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    if "channels" in explicit:
        try:
            explicit["channels"] = [int(c) for c in explicit["channels"].split(",")]
        except ValueError:
            p.error(f"--channels takes comma-separated ints; got {args.channels!r}")
    for k in ("train", "held_out", "steps", "batch", "recon_batch"):
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


def main(argv: list[str] | None = None, *, generator: Any = None) -> dict:
    """Train (or ``--export``); returns the last evaluation. ``generator`` replaces
    ``semwidget.load(config['model'])`` (tests pass a tiny one)."""
    t_start = time.monotonic()
    args, explicit = parse_args(argv)
    torch.set_num_threads(args.threads)
    out: Path = args.out
    ckpt_path = out / "checkpoint.pt"
    if args.export:
        return export(read_checkpoint(ckpt_path), out, args.dest, generator)
    ckpt = read_checkpoint(ckpt_path) if args.resume else None
    if ckpt is None and ckpt_path.exists():
        raise FileExistsError(f"{ckpt_path} exists; pass --resume to continue it, or choose another --out")
    config = resolve_config(explicit, ckpt["config"] if ckpt else None)
    generator = generator if generator is not None else load_generator(config["model"], args.device)
    if ckpt is None:
        space = space_of(generator)
        config["mix"] = config["mix"] if config["mix"] is not None else (0.5 if space == "w+" else 0.0)
        config["normalize"] = config["normalize"] or ("sphere" if space == "z" else "none")
        config["fingerprint"] = generator.fingerprint
    elif config["fingerprint"] != generator.fingerprint:
        raise ConfigMismatchError(
            f"the checkpoint was trained on {config['model']} with fingerprint {config['fingerprint']}; "
            f"the generator loaded now has {generator.fingerprint}"
        )

    out.mkdir(parents=True, exist_ok=True)
    handlers = _setup_logging(out)
    stop: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: stop.append(signal.Signals(signum).name))
    try:
        log.info("config %s; %d thread(s)", json.dumps(config), torch.get_num_threads())
        try:
            deadline = t_start + args.minutes * 60 if args.minutes is not None else math.inf
            images, latents = prepare_data(generator, config, out, stop, deadline)
        except KeyboardInterrupt as exc:
            again = "with --resume" if ckpt is not None else "without --resume (no checkpoint yet)"
            log.info("%s; the shards written so far are kept: run again %s to continue", exc, again)
            return {}
        data = held_out(generator, config, out)
        return _train(generator, config, ckpt, images, latents, data, args, out, t_start, stop)
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()


def _train(
    generator: Any,
    config: dict,
    ckpt: dict | None,
    images: torch.Tensor,
    latents: torch.Tensor,
    data: dict[str, torch.Tensor],
    args: argparse.Namespace,
    out: Path,
    t_start: float,
    stop: list[str],
) -> dict:
    torch.manual_seed(config["seed"])
    net = new_net(generator, config, latents).to(generator.device)
    optim = torch.optim.AdamW(net.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    step, train_seconds, evals = 0, 0.0, []
    if ckpt is not None:
        net.load_state_dict(ckpt["net"])
        optim.load_state_dict(ckpt["optim"])  # moves its state to the parameters' device
        step, train_seconds, evals = ckpt["step"], float(ckpt["train_seconds"]), list(ckpt["evals"])
        log.info("resumed %s at step %d (trained %s)", out / "checkpoint.pt", step, _hms(train_seconds))
    log.info("%s parameters; %d training samples", f"{sum(p.numel() for p in net.parameters()):,}", len(images))
    mean, std = net.out_mean, net.out_std
    n, b = len(images), config["batch"]
    per_epoch = n // b
    recon_start = int(config["recon_from"] * config["steps"]) if config["recon_weight"] > 0 else math.inf
    deadline = t_start + args.minutes * 60 if args.minutes is not None else math.inf
    reserve = 15.0

    def save() -> None:
        nonlocal reserve
        t = time.monotonic()
        state = {
            "format": CHECKPOINT_FORMAT,
            "config": config,
            "step": step,
            "net": net.state_dict(),
            "optim": optim.state_dict(),
            "train_seconds": train_seconds,
            "evals": evals,
        }
        atomic_write(out / "checkpoint.pt", lambda f: torch.save(state, f))
        reserve = max(reserve, 3 * (time.monotonic() - t) + 10)

    def run_eval() -> dict:
        net.eval()
        result = evaluate(generator, net, data, config["normalize"], min(EVAL_DURING, len(data["images"])))
        net.train()
        result = {"step": step, **result}
        evals.append(result)
        log.info(
            "eval step %d: latent rel. MSE %.4f, PSNR %.2f dB (mean latent %.2f dB) on %d held-out",
            step, result["latent_relative_mse"], result["psnr"], result["psnr_of_mean"], result["n"],
        )  # fmt: skip
        return result

    net.train()
    sums: dict[str, float] = {}
    count = 0
    t_log = t_mark = time.monotonic()
    step_log = step
    while step < config["steps"]:
        if args.until is not None and step >= args.until:
            break
        if time.monotonic() + reserve >= deadline:
            log.info("time budget of %.1f min reached", args.minutes)
            break
        if stop:
            log.info("%s received: stopping after step %d", stop[0], step)
            break
        epoch, k = divmod(step, per_epoch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config["seed"] * 7919 + epoch))
        index = order[k * b : (k + 1) * b]
        x = _from_uint8(images[index]).to(generator.device)
        target = (latents[index].to(generator.device) - mean) / std
        for group in optim.param_groups:
            group["lr"] = lr_at(step, config)
        pred = net.standardised(x)
        loss_latent = F.mse_loss(pred, target)
        loss = loss_latent
        terms = {"latent": loss_latent.item()}
        if step >= recon_start:
            r = config["recon_batch"]
            ws = as_ws(generator, mean + std * pred[:r], config["normalize"])
            img = generator._forward(ws, None).float()
            loss_recon = F.mse_loss(img, x[:r])
            loss = loss + config["recon_weight"] * loss_recon
            terms["recon"] = loss_recon.item()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        step += 1
        for key, v in terms.items():
            sums[key] = sums.get(key, 0.0) + v
        count += 1
        now = time.monotonic()
        if now - t_log >= args.log_seconds or step == config["steps"]:
            if not all(math.isfinite(v) for v in sums.values()):
                raise FloatingPointError(f"non-finite loss at step {step}; checkpoint.pt from the last save is kept")
            train_seconds += now - t_mark
            t_mark = now
            losses = "  ".join(f"{key} {v / count:.4f}" for key, v in sums.items())
            log.info(
                "step %d/%d  %s  lr %.2e  img/s %.0f  elapsed %s  (trained %s)",
                step, config["steps"], losses, lr_at(step - 1, config), (step - step_log) * b / (now - t_log),
                _hms(now - t_start), _hms(train_seconds),
            )  # fmt: skip
            sums, count, t_log, step_log = {}, 0, now, step
        if step % args.checkpoint_every == 0 or step == config["steps"]:
            train_seconds += time.monotonic() - t_mark
            run_eval()
            save()
            t_mark = t_log = time.monotonic()
    train_seconds += time.monotonic() - t_mark
    if not evals or evals[-1]["step"] != step:
        run_eval()
    save()
    log.info("stopped at step %d of %d; trained %s in all", step, config["steps"], _hms(train_seconds))
    return evals[-1]


def export(ckpt: dict, out: Path, dest: Path | None, generator: Any = None) -> dict:
    """Write the float16 encoder file, evaluate it as shipped on all held-out samples,
    print its sha256 and write ``export.json``."""
    config = ckpt["config"]
    generator = generator if generator is not None else load_generator(config["model"])
    if generator.fingerprint != config["fingerprint"]:
        raise ConfigMismatchError(f"{config['model']} now has fingerprint {generator.fingerprint}, not the run's")
    fconfig = file_config(generator, config)
    net = build_net(fconfig)
    net.load_state_dict(ckpt["net"])
    dest = dest or WEIGHTS_DIR / f"{config['model']}-encoder.pt"
    sha = save_encoder_file(dest, net, fconfig)
    shipped, _ = load_encoder_file(dest, sha256=sha, model=config["model"], fingerprint=config["fingerprint"])
    data = torch.load(out / "data" / "held-out.pt", map_location="cpu", weights_only=True)
    figures = evaluate(generator, shipped.eval(), data, config["normalize"], len(data["images"]))
    entry = REGISTRY.get(config["model"])
    result = {
        "file": str(dest),
        "bytes": dest.stat().st_size,
        "sha256": sha,
        "parameters": sum(p.numel() for p in net.parameters()),
        "step": ckpt["step"],
        "steps": config["steps"],
        "train_seconds": ckpt["train_seconds"],
        "config": config,
        "held_out": figures,
        "held_out_seeds": [HELD_OUT_SEED, HELD_OUT_SEED + len(data["images"]) - 1],
    }
    atomic_write(out / "export.json", lambda f: f.write(json.dumps(result, indent=1).encode()))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))
    print(f"sha256 {sha}  {dest}  ({result['bytes']:,} bytes)")
    if entry is not None and entry.sha256 != sha:
        print(f"note: the registry in semwidget/inversion/_encoder.py records {entry.sha256} for {config['model']}")
    assert sha256_file(dest) == sha
    return result


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
