"""``invert``: find the latents a generator turns into given images, by gradient descent.

The loop is NVIDIA's StyleGAN2-ADA projector's, generalised: Adam on a pixel loss,
learning-rate warm-up and cosine ramp-down, Gaussian noise on the latent that decays
to zero (:class:`~._schedule.Schedule`), a start at the encoder's guess or the mean w.
Noise inputs of StyleGAN stay fixed at the stored maps, as ``synthesize`` uses them.

Each image has its own latent and its own loss term (the batch loss is their sum, and
Adam works per coordinate), and image ``i`` draws its random start and its noise from
seed ``seed + i``: image ``i``'s result is what inverting it alone with seed
``seed + i`` gives, whatever else is in the batch, up to floating-point rounding
(batched convolutions may round differently from single ones).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
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
from ._space import LatentVariable, check_space, is_style_based, prior_for

log = logging.getLogger(__name__)

#: Steps when ``steps=None``, per space (see ``invert``'s docstring for the measurements).
DEFAULT_STEPS = {"z": 400, "w": 280, "w+": 280}
#: The schedule when none is given: NVIDIA's projector's shape, tuned on the zoo models.
DEFAULT_SCHEDULE = Schedule()
INITS = ("encoder", "mean", "random")

_warned: set[str] = set()
_warned_lock = threading.Lock()


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


def _encoder_for(g: Generator) -> Any:
    """The model's encoder, or None (no encoder module, or none for this model)."""
    try:
        from ._encoder import encoder_for  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return encoder_for(g)


def _warn_once(g: Generator, fallback: str) -> None:
    with _warned_lock:
        if g.fingerprint in _warned:
            return
        _warned.add(g.fingerprint)
    warnings.warn(
        f"invert: no encoder for {g.name}; starting from {fallback} instead "
        f"(pass init={fallback.split()[0]!r} to choose this and silence the warning)",
        stacklevel=3,
    )


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _random_start(g: Generator, space: str, gens: Sequence[torch.Generator], c: torch.Tensor | None) -> torch.Tensor:
    z = torch.stack([torch.randn(g.z_dim, generator=gen) for gen in gens]).to(g.device, g.dtype)
    if space == "z":
        return z.float()
    with torch.inference_mode():
        ws = g.map(z, c, None).float()
    return ws[:, 0] if space == "w" else ws


def _from_codes(g: Generator, space: str, codes: torch.Tensor, code_space: str, c: torch.Tensor | None) -> torch.Tensor:
    """An encoder's guess (``code_space`` "z" or "w+") or given ws (``"ws"``) in ``space``."""
    codes = codes.detach().to(g.device, torch.float32)
    if code_space == "z":
        if space == "z":
            return codes
        with torch.inference_mode():
            codes, code_space = g.map(codes.to(g.dtype), c, None).float(), "w+"
    if space == "z":  # ws of a z model: every layer holds the same z (BigGAN: take the first)
        return codes[:, 0]
    return codes.mean(1) if space == "w" else codes


def _start(
    g: Generator,
    space: str,
    init: object,
    targets: torch.Tensor,
    c: torch.Tensor | None,
    gens: Sequence[torch.Generator],
) -> tuple[torch.Tensor, str]:
    """The initial value in ``space`` for each image, and the name of the start used."""
    if isinstance(init, Latents):
        if init.model and init.model != g.fingerprint:
            raise ValueError(f"init latents belong to model {init.model}, not {g.name} ({g.fingerprint})")
        if len(init) != len(targets):
            raise ValueError(f"init has {len(init)} latents for {len(targets)} images; expected one per image")
        g.check_latents(init.replace(offsets={}))
        return _from_codes(g, space, init.ws, "ws", c), "latents"
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)} or semwidget.Latents (a warm start); got {init!r}")
    if init == "encoder":
        encoder = _encoder_for(g)
        if encoder is not None and not (encoder.space == "w+" and space == "z"):
            with torch.no_grad():
                guess = encoder.predict(targets.to(g.device))
            return _from_codes(g, space, guess, encoder.space, c), "encoder"
        init = "mean" if is_style_based(g) else "random"
        _warn_once(g, "the mean w" if init == "mean" else "a seeded random z on the sphere")
    if init == "mean":
        if space == "z":
            raise ValueError(f"init='mean' needs a w space; {g.name} is inverted in z: use init='random' or 'encoder'")
        mean = prior_for(g, space).mean.to(g.device).float()
        shape = (len(targets), g.num_ws, g.w_dim) if space == "w+" else (len(targets), g.w_dim)
        return (mean.expand(shape).clone()), "mean"
    return _random_start(g, space, gens, c), "random"


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
) -> list[torch.Tensor]:
    """Run the schedule on one batch; returns each step's per-image losses."""
    opt = Adam(var.param, betas=schedule.betas)
    shape = var.param.shape[1:]
    curve = []
    for step in range(steps):
        t = (step + 0.5) / steps
        sigma = schedule.noise_at(t)
        noise = None
        if sigma > 0:
            noise = torch.stack([torch.randn(shape, generator=gen) for gen in gens]).to(g.device) * sigma
        per_image = loss_fn(g.render(var.ws(noise), var.c), targets, mask, t)
        var.param.grad = None
        per_image.sum().backward()
        opt.step(schedule.lr_at(t))
        var.project()
        losses = per_image.detach().float().cpu()
        curve.append(losses)
        if tick(step, losses):
            break
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
        default is w+ for style models: it is the most faithful (a single w cannot
        reach most real images: on world renders of shapes-stylegan2 w+ gains about
        1 dB over w), and because the search starts at the mean w (or the encoder's
        guess, which lies in w+ already), anneals its noise and stops after a few
        hundred steps, the per-layer codes stay close to one another and edit as
        sampled codes do (the benchmark's edit fidelity). ``"z"`` for the rest.
    steps : int, optional
        Optimisation steps; ``None`` gives :data:`DEFAULT_STEPS` for the space
        (280 for w and w+, 400 for z): what beats the benchmark's targets within
        its compute budget. ``0`` returns the start (the encoder's guess).
    loss : str, mapping or callable
        ``"mse"``, ``"blurred-mse"`` (the default: MSE of the Gaussian-blurred masked
        difference, σ annealed from 2 px to 0, coarse to fine), ``"ssim"``,
        ``"ms-ssim"`` (pytorch-msssim, windows that fit the resolution), ``"lap1"``
        (Laplacian-pyramid L1), a mapping ``{"mse": 1, "ssim": 0.1}`` of them to
        weights, or a callable ``(pred, target, mask, progress) -> (n,)``.
    init : {"encoder", "mean", "random"} or Latents
        The start: the model's encoder (when it has none, the mean w for style models
        and a seeded random z for the rest, with a warning once per model); the mean
        w; a random sample (z drawn with seed ``seed + i``); or given latents (a warm
        start, one per image).
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
        Learning rate, warm-up, ramp-down and latent noise; :data:`DEFAULT_SCHEDULE`.
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
    schedule = DEFAULT_SCHEDULE if schedule is None else schedule
    res = g.img_resolution
    targets = prepare_images(images, res)
    n = len(targets)
    masks = prepare_mask(mask, n, res, input_size(images))
    c_all: torch.Tensor | None
    if isinstance(init, Latents) and init.c is not None and class_index is None and g.c_dim:
        c_all = init.c.to(g.device, g.dtype)
    else:
        c_all = _conditioning(g, class_index, n)

    gens = [_seeded(seed + i) for i in range(n)]
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
            start, used_init = _start(g, space, part_init, target, c, gens[lo:hi])
            var = LatentVariable(g, space, start, c)
            curve = [] if stop else _optimise(g, var, target, m, loss_fn, schedule, steps, gens[lo:hi], tick)
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
