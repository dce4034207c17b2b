"""``invert``: find the latents a generator turns into given images, by gradient descent.

The loop is NVIDIA's StyleGAN2-ADA projector's, generalised: Adam on a pixel loss,
learning-rate warm-up and cosine ramp-down, Gaussian noise on the latent that decays
to zero (:class:`~._schedule.Schedule`), a start at the encoder's guess or the mean w
(:mod:`._starts`). Noise inputs of StyleGAN stay fixed at the stored maps, as
``synthesize`` uses them; they are not optimised.

A random start in z (a DCGAN without an encoder) is where inversion fails most: many
images have a basin that a plain run from one random z misses. So a random start
draws :data:`~._starts.RANDOM_CANDIDATES` z per image and scores them with forward
passes only; the best :data:`CHAINS` run side by side for the first
:data:`CHAIN_PHASE` of the steps, and each image then keeps its closest chain.

Each image has its own latent and its own loss term (the batch loss is their sum, and
Adam works per coordinate), and image ``i`` draws its random start and its noise from
seed ``seed + i``: image ``i``'s result is what inverting it alone with seed
``seed + i`` gives, whatever else is in the batch, up to floating-point rounding
(batched convolutions may round differently from single ones).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..common._progress import progress as progress_bar
from ..generators._base import Generator
from ..generators._latents import Latents
from ._images import input_size, prepare_images, prepare_mask
from ._losses import LossFn, make_loss, psnr, ssim_index
from ._schedule import Adam, Schedule
from ._space import LatentVariable, check_space
from ._starts import start as _start

log = logging.getLogger(__name__)

#: Steps when ``steps=None``, per space: what meets benchmarks/inversion.py's targets
#: within its budgets (300 forward-backward passes for w+, 500 for z), start included.
DEFAULT_STEPS = {"z": 330, "w": 270, "w+": 270}
#: The schedule when none is given, per space: NVIDIA's projector's shape, with the peak
#: learning rate and noise measured best on the zoo models (benchmarks/inversion.py).
DEFAULT_SCHEDULES = {"z": Schedule(lr=0.5, noise=0.2), "w": Schedule(lr=0.3), "w+": Schedule(lr=0.3)}
#: Chains run side by side per image from a random start (the best candidates), and the
#: fraction of the steps they run before each image keeps its best one.
CHAINS = {"z": 4, "w": 1, "w+": 1}
CHAIN_PHASE = 0.12


@dataclass(frozen=True, eq=False)
class Inversion:
    """What :func:`invert` found.

    Attributes
    ----------
    latents : Latents
        The codes, ``ws`` of shape (n, num_ws, w_dim), ready for ``synthesize``,
        ``edit``, the Explorer and annotations.
    images : Tensor of shape (n, 3, R, R)
        The reconstructions, ``generator.synthesize(latents)`` (float32 in [-1, 1], CPU).
    targets : Tensor of shape (n, 3, R, R)
        The images as inverted: converted, centre-cropped and resized to R.
    psnr, ssim : ndarray of shape (n,)
        PSNR in dB and SSIM of each reconstruction against its target, whole image.
    loss_curve : ndarray of shape (steps, n)
        Each image's loss at each step (with the step's latent noise).
    space : str
        ``"z"``, ``"w"`` or ``"w+"``.
    init : str
        Where the search started: ``"encoder"``, ``"mean"``, ``"random"`` or ``"latents"``.
    steps : int
        Steps taken (fewer than asked when a callback stopped the run).
    seconds : float
        Wall time of the whole call.
    """

    latents: Latents
    images: torch.Tensor
    targets: torch.Tensor
    psnr: np.ndarray
    ssim: np.ndarray
    loss_curve: np.ndarray
    space: str
    init: str
    steps: int
    seconds: float

    def __len__(self) -> int:
        return len(self.latents)

    def __repr__(self) -> str:
        return (
            f"Inversion(n={len(self)}, space={self.space!r}, init={self.init!r}, steps={self.steps}, "
            f"psnr={self.psnr.mean():.2f} dB (min {self.psnr.min():.2f}), ssim={self.ssim.mean():.3f}, "
            f"seconds={self.seconds:.1f})"
        )


def _conditioning(g: Generator, class_index: int | Sequence[int] | None, n: int) -> torch.Tensor | None:
    if g.c_dim == 0:
        if class_index is not None:
            raise ValueError(f"{g.name} is unconditional; call invert() without class_index=")
        return None
    if class_index is None:
        raise ValueError(
            f"{g.name} is class-conditional ({g.c_dim} classes); expected class_index= "
            f"(an int in [0, {g.c_dim}) or one per image)"
        )
    return g._conditioning(class_index, n)


def _optimise(
    g: Generator,
    var: LatentVariable,
    targets: torch.Tensor,
    mask: torch.Tensor | None,
    loss_fn: LossFn,
    schedule: Schedule,
    steps: int,
    gens: Sequence[torch.Generator],
    tick: Callable[[int, torch.Tensor], bool],
    chains: int = 1,
) -> list[torch.Tensor]:
    """Run the schedule on one batch; returns each step's per-image losses.

    With ``chains > 1`` the variable holds that many rows per image (image-major): they
    run side by side for the first :data:`CHAIN_PHASE` of the steps, then each image keeps
    the row whose image is closest (a clean forward pass, no noise) and goes on alone.
    """
    n = len(targets)
    if chains > 1:
        targets = targets.repeat_interleave(chains, 0)
        mask = None if mask is None else mask.repeat_interleave(chains, 0)
    select = max(1, round(CHAIN_PHASE * steps)) if chains > 1 else -1
    opt = Adam(var.param, betas=schedule.betas)
    shape = var.param.shape[1:]
    curve = []
    for step in range(steps):
        t = (step + 0.5) / steps
        if step == select:
            with torch.no_grad():
                clean = loss_fn(g.render(var.ws(), var.c), targets, mask, t).view(n, chains)
            rows = torch.arange(n, device=clean.device) * chains + clean.argmin(1)
            var.keep(rows)
            opt.keep(rows, var.param)
            targets, mask, chains = targets[rows], None if mask is None else mask[rows], 1
        sigma = schedule.noise_at(t)
        noise = None
        if sigma > 0:
            draws = [torch.randn((chains, *shape), generator=gen) for gen in gens]
            noise = torch.cat(draws).to(g.device) * sigma
        per_row = loss_fn(g.render(var.ws(noise), var.c), targets, mask, t)
        var.param.grad = None
        per_row.sum().backward()
        if var.space == "w+" and t < schedule.tie and var.param.grad is not None:
            var.param.grad = var.param.grad.mean(1, keepdim=True).expand_as(var.param).contiguous()
        opt.step(schedule.lr_at(t))
        var.project()
        losses = per_row.detach().float().cpu().view(n, chains).min(1).values
        curve.append(losses)
        if tick(step, losses):
            break
    if chains > 1:  # stopped before the choice: keep each image's best row as it stands
        with torch.no_grad():
            clean = loss_fn(g.render(var.ws(), var.c), targets, mask, 1.0).view(n, chains)
        var.keep(torch.arange(n, device=clean.device) * chains + clean.argmin(1))
    return curve


def invert(
    generator: Generator,
    images: object,
    *,
    space: str | None = None,
    steps: int | None = None,
    loss: str | Mapping[Any, float] | LossFn = "blurred-mse",
    init: str | Latents = "encoder",
    mask: object = None,
    seed: int = 0,
    progress: bool = True,
    class_index: int | Sequence[int] | None = None,
    schedule: Schedule | None = None,
    batch_size: int = 32,
    callback: Callable[[int, np.ndarray], object] | None = None,
) -> Inversion:
    """Find latents that ``generator`` turns into ``images`` (GAN inversion).

    Parameters
    ----------
    generator : Generator
        From ``semwidget.load`` or ``semwidget.as_generator``.
    images
        A float tensor (N, C, H, W) in [-1, 1], a uint8 array (H, W[, C]) or
        (N, H, W, C), PIL images or image file paths (or a list mixing them). Each is
        centre-cropped to a square and resized (antialiased) to the model's
        resolution ``generator.img_resolution``; grey images get three channels, an
        alpha channel is composited over white. Palette and 16-bit images, images
        under 8×8 or over 50 megapixels (refused from the file header) are errors.
    space : {"z", "w", "w+"}, optional
        ``"z"`` for single-input generators (DCGAN, PGGAN, BigGAN with its class
        fixed), kept on the sphere of radius √z_dim. For style-based generators
        ``"w"`` (one code shared by all layers) or ``"w+"`` (one per layer). The
        default is w+ for style models: it is the most faithful (one w cannot reach
        most real images: on world renders of shapes-stylegan2 w+ gains about 2 dB
        over w at the same steps), and it still edits well, because the search starts
        at the mean w (or the encoder's guess) and stops after a few hundred steps, so
        the per-layer codes stay near the mapped distribution; benchmarks/inversion.py
        measures it (edit fidelity: an InterFaceGAN boundary moves its factor on
        inverted latents as on sampled ones). ``"z"`` for the rest.
    steps : int, optional
        Optimisation steps; ``None`` gives :data:`DEFAULT_STEPS` for the space (270
        for w and w+, 330 for z): what meets benchmarks/inversion.py's targets within
        its compute budgets (300 forward-backward passes of the batch for world renders
        in w+, 500 for digiface in z, where the random start's candidates and chains
        take about a third). ``0`` returns the start (the encoder's guess).
    loss : str, mapping or callable
        ``"mse"``, ``"blurred-mse"`` (the default: MSE of the Gaussian-blurred masked
        difference, σ annealed from 2 px to 0, coarse to fine), ``"ssim"``,
        ``"ms-ssim"`` (pytorch-msssim, windows that fit the resolution), ``"lap1"``
        (Laplacian-pyramid L1), a mapping ``{"mse": 1, "ssim": 0.1}`` of them to
        weights, or a callable ``(pred, target, mask, progress) -> (n,)``.
    init : {"encoder", "mean", "random"} or Latents
        The start: the model's encoder (when it has none, the mean w for style models
        and a seeded random z for the rest, with a warning once per model); the mean
        w; random samples (drawn from seed ``seed + i``; in z the best of 64, run as 4
        chains, see the module notes); or given latents (a warm start, one per image:
        ``ws`` averaged over layers for w, the first layer's z for z).
    mask : array or tensor, optional
        Weights in [0, 1] of shape (R, R), (N, R, R) or (N, 1, R, R) at the model's
        resolution (or at the images' own size for a tensor or array input): every
        loss sees only the pixels it weights. PSNR and SSIM are still reported on
        the whole image.
    seed : int
        Image ``i`` draws its random start and latent noise from seed ``seed + i``;
        the same call gives the same result.
    progress : bool
        Show a progress bar (one tick per step; a widget's listener also hears them
        and may cancel the run by raising from its hook).
    class_index : int or sequence of int, optional
        The class of each image, for class-conditional generators (required there).
    schedule : Schedule, optional
        Learning rate, warm-up, ramp-down and latent noise; :data:`DEFAULT_SCHEDULES`
        gives one per space.
    batch_size : int
        Images optimised at once; results do not depend on it (see the module notes).
    callback : callable, optional
        ``callback(step, losses)`` after every step with the per-image losses; a true
        return value stops the run there (the result holds the latents reached). An
        exception it raises (a widget's ``Cancelled``) ends the run and propagates.

    Returns
    -------
    Inversion
        ``.latents``, ``.images``, ``.psnr``, ``.ssim``, ``.loss_curve``, ...
    """
    start_time = time.perf_counter()
    if not isinstance(generator, Generator):
        raise TypeError(f"invert needs a semwidget Generator (semwidget.load or as_generator); got {type(generator)}")
    g = generator
    space = check_space(g, space)
    steps = DEFAULT_STEPS[space] if steps is None else steps
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be an int >= 0; got {steps!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    loss_fn = make_loss(loss)
    schedule = DEFAULT_SCHEDULES[space] if schedule is None else schedule
    res = g.img_resolution
    targets = prepare_images(images, res)
    n = len(targets)
    masks = prepare_mask(mask, n, res, input_size(images))
    c_all: torch.Tensor | None
    if isinstance(init, Latents) and init.c is not None and class_index is None and g.c_dim:
        c_all = init.c.to(g.device, g.dtype)
    else:
        c_all = _conditioning(g, class_index, n)

    gens = [torch.Generator().manual_seed(int(seed) + i) for i in range(n)]
    parts: list[torch.Tensor] = []
    curves: list[list[torch.Tensor]] = []
    used_init = ""
    stop = False
    done = 0
    total = steps * ((n + batch_size - 1) // batch_size)
    with progress_bar(total, f"inverting {n} images", enabled=progress, unit="step") as bar:

        def tick(step: int, losses: torch.Tensor) -> bool:
            nonlocal stop
            bar.update(1)
            if callback is not None and callback(step, losses.numpy()):
                stop = True
            return stop

        for lo in range(0, n, batch_size):
            hi = min(n, lo + batch_size)
            target = targets[lo:hi].to(g.device)
            c = None if c_all is None else c_all[lo:hi]
            m = None if masks is None else masks[lo:hi].to(g.device)
            part_init = init[lo:hi] if isinstance(init, Latents) else init
            start, used_init = _start(g, space, part_init, target, c, gens[lo:hi], loss_fn, m, CHAINS[space])
            chains = start.shape[1] if steps > 0 else 1
            start = start[:, :chains].flatten(0, 1)
            rows_c = None if c is None else c.repeat_interleave(chains, 0)
            var = LatentVariable(g, space, start, rows_c)
            if not stop:
                curve = _optimise(g, var, target, m, loss_fn, schedule, steps, gens[lo:hi], tick, chains)
            else:
                curve = []
            done = max(done, len(curve))
            curves.append(curve)
            with torch.no_grad():
                parts.append(var.ws().detach().to(g.dtype))

    ws = torch.cat(parts)
    latents = Latents(ws=ws, c=c_all, model=g.fingerprint, space=g.latent_space)
    reconstructions = g.synthesize(latents, batch_size=batch_size)
    loss_curve = np.full((done, n), np.nan, dtype=np.float32)
    col = 0
    for part, curve in zip(parts, curves):
        if curve:
            loss_curve[: len(curve), col : col + len(part)] = torch.stack(curve).numpy()
        col += len(part)
    return Inversion(
        latents=latents,
        images=reconstructions,
        targets=targets,
        psnr=psnr(reconstructions, targets).numpy().astype(np.float64),
        ssim=ssim_index(reconstructions, targets).numpy().astype(np.float64),
        loss_curve=loss_curve,
        space=space,
        init=used_init,
        steps=done,
        seconds=time.perf_counter() - start_time,
    )
