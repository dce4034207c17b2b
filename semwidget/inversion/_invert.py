"""``invert``: find the latents a generator turns into given images, by gradient descent.

The loop is NVIDIA's StyleGAN2-ADA projector's, generalised: Adam on a pixel loss,
learning-rate warm-up and cosine ramp-down, Gaussian noise on the latent that decays
to zero (:class:`~._schedule.Schedule`), a start at the encoder's guess or the mean w
(:mod:`._starts`). Noise inputs of StyleGAN stay fixed at the stored maps, as
``synthesize`` uses them, unless ``optimize_noise=True`` asks for them to be optimised
too (:mod:`._noise`; the result's latents then carry their own maps).

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

So the shard of the work (:mod:`semwidget.distributed`) is the batch: images
``lo … lo + batch_size − 1`` of the call, with seeds ``seed + lo …``. The same batches
run in this process and on a Dask cluster (``client=``), so the bits are the same;
another ``batch_size`` may change the last bits, not the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..common._checks import is_finite_number
from ..distributed import Models, Shard, ShardPlan, map_shards
from ..distributed._client import resolve_client
from ..generators._base import Generator
from ..generators._latents import Latents
from ._images import input_size, prepare_images, prepare_mask
from ._losses import LossFn, make_loss, psnr, ssim_index
from ._noise import NOISE_REGULARIZE, NoiseMaps
from ._schedule import Adam, Schedule
from ._space import LatentVariable, check_space
from ._starts import resolve as resolve_init
from ._starts import start as _start

log = logging.getLogger(__name__)

#: Steps when ``steps=None``, per space: what meets benchmarks/inversion.py's targets
#: within its budgets (300 forward-backward passes for w+, 500 for z), start included.
DEFAULT_STEPS = {"z": 330, "w": 270, "w+": 270}
#: The schedule when none is given, per space: NVIDIA's projector's shape, with the peak
#: learning rate and noise measured best on the zoo models (benchmarks/inversion.py). In z,
#: latent noise 0.1 rather than 0.2: on digiface's samples at held-out seeds the hardest
#: image of 48 went from 24.8 to 25.3 dB and the mean from 36.4 to 36.7 dB, same steps.
DEFAULT_SCHEDULES = {"z": Schedule(lr=0.5, noise=0.1), "w": Schedule(lr=0.3), "w+": Schedule(lr=0.3)}
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
    maps: NoiseMaps | None = None,
    noise_regularize: float = NOISE_REGULARIZE,
) -> list[torch.Tensor]:
    """Run the schedule on one batch; returns each step's per-image losses.

    With ``chains > 1`` the variable holds that many rows per image (image-major): they
    run side by side for the first :data:`CHAIN_PHASE` of the steps, then each image keeps
    the row whose image is closest (a clean forward pass, no noise) and goes on alone.
    With ``maps`` the noise inputs are optimised too, with their own Adam moments and
    the autocorrelation penalty of :mod:`._noise`; the curve holds the image loss alone.
    """
    n = len(targets)
    if chains > 1:
        targets = targets.repeat_interleave(chains, 0)
        mask = None if mask is None else mask.repeat_interleave(chains, 0)
    select = max(1, round(CHAIN_PHASE * steps)) if chains > 1 else -1
    opt = Adam(var.param, betas=schedule.betas)
    map_opts = [] if maps is None else [Adam(m, betas=schedule.betas) for m in maps.maps]
    shape = var.param.shape[1:]
    curve = []
    for step in range(steps):
        t = (step + 0.5) / steps
        if step == select:
            with torch.no_grad():
                clean = loss_fn(_render(g, var, maps), targets, mask, t).view(n, chains)
            rows = torch.arange(n, device=clean.device) * chains + clean.argmin(1)
            _keep_rows(var, maps, rows)
            opt.keep(rows, var.param)
            for map_opt, m in zip(map_opts, maps.maps if maps is not None else ()):
                map_opt.keep(rows, m)
            targets, mask, chains = targets[rows], None if mask is None else mask[rows], 1
        sigma = schedule.noise_at(t)
        noise = None
        if sigma > 0:
            draws = [torch.randn((chains, *shape), generator=gen) for gen in gens]
            noise = torch.cat(draws).to(g.device) * sigma
        per_row = loss_fn(_render(g, var, maps, noise), targets, mask, t)
        var.param.grad = None
        objective = per_row.sum()
        if maps is not None:
            for m in maps.maps:
                m.grad = None
            objective = objective + noise_regularize * maps.penalty().sum()
        objective.backward()
        if var.space == "w+" and t < schedule.tie and var.param.grad is not None:
            var.param.grad = var.param.grad.mean(1, keepdim=True).expand_as(var.param).contiguous()
        opt.step(schedule.lr_at(t))
        var.project()
        if maps is not None:
            for map_opt in map_opts:
                map_opt.step(schedule.lr_at(t))
            maps.normalize()
        losses = per_row.detach().float().cpu().view(n, chains).min(1).values
        curve.append(losses)
        if tick(step, losses):
            break
    if chains > 1:  # stopped before the choice: keep each image's best row as it stands
        with torch.no_grad():
            clean = loss_fn(_render(g, var, maps), targets, mask, 1.0).view(n, chains)
        _keep_rows(var, maps, torch.arange(n, device=clean.device) * chains + clean.argmin(1))
    return curve


def _keep_rows(var: LatentVariable, maps: NoiseMaps | None, rows: torch.Tensor) -> None:
    """One row per image from now on: the latent's and, when optimised, the noise maps'."""
    var.keep(rows)
    if maps is not None:
        maps.keep(rows)


def _render(
    g: Generator, var: LatentVariable, maps: NoiseMaps | None, noise: torch.Tensor | None = None
) -> torch.Tensor:
    return g.render(var.ws(noise), var.c, None if maps is None else maps.maps)


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
    client: Any = None,
    optimize_noise: bool = False,
    noise_regularize: float = NOISE_REGULARIZE,
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
        Images optimised at once, and one shard of the work (in this process or on a
        Dask worker); results depend on it only by floating-point rounding (see the
        module notes).
    callback : callable, optional
        ``callback(step, losses)`` after every step with the per-image losses; a true
        return value stops the run there (the result holds the latents reached). An
        exception it raises (a widget's ``Cancelled``) ends the run and propagates.
        In this process only.
    client : dask.distributed.Client, optional
        Invert the batches on this Dask cluster (``pip install 'semwidget[distributed]'``);
        default: the enclosing :func:`semwidget.distributed` block's, else this process.
        Each batch is a shard: its images travel to a worker as float32 arrays at the
        model's resolution (at most :data:`MAX_SHARD_BYTES` a batch), the generator by
        its zoo name or checkpoint file and sha256 (it must come from
        :func:`semwidget.load`), the encoder from the worker's own copy. The result is
        bit-identical to this process's when the workers compute on the same kind of
        device, whatever the number of workers or the order batches finish in.
    optimize_noise : bool
        Optimise the generator's noise inputs too, one set of maps per image (for
        models with noise inputs: rosinality-layout StyleGAN2s such as
        shapes-stylegan2). Each image's maps start at the stored ones and are kept
        noise-like (:mod:`semwidget.inversion._noise`); the result's latents carry them,
        so ``synthesize`` and ``edit`` use them. Off by default: with fixed noise an
        inverted code means what a sampled one does, and on shapes-stylegan2, whose
        noise barely moves a pixel, they gain nothing (benchmarks/inversion.py
        ``--noise``). The Explorer keeps one code per real image and refuses such latents.
    noise_regularize : float
        With ``optimize_noise``: the weight of the maps' autocorrelation penalty
        against the pixel loss (:data:`~semwidget.inversion._noise.NOISE_REGULARIZE`);
        larger keeps them closer to white noise, smaller lets them fit more detail.

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
    client = resolve_client(client)
    if client is not None and callback is not None:
        raise ValueError(
            "callback= hears every step of a run in this process; on a Dask cluster (client= or "
            "semwidget.distributed) the progress bar counts finished shards: leave callback out there"
        )
    if not isinstance(optimize_noise, bool):
        raise TypeError(f"optimize_noise must be True or False; got {optimize_noise!r}")
    if not is_finite_number(noise_regularize) or noise_regularize < 0:
        raise ValueError(f"noise_regularize must be a number >= 0; got {noise_regularize!r}")
    if optimize_noise and not g.noise_shapes:
        raise ValueError(
            f"optimize_noise=True needs a generator with noise inputs (a rosinality-layout StyleGAN2 such as "
            f"shapes-stylegan2); {g.name} has none semwidget can set"
        )
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
    used_init = resolve_init(g, space, init, n)

    # One shard per batch: images lo … lo + batch_size − 1 of this call, whose seeds
    # are seed + lo, …, the same batches in this process and on a cluster.
    plan = ShardPlan(int(seed), n, int(batch_size))
    shards = [
        replace(
            s,
            data=ImageShard(
                targets[s.rows],
                None if masks is None else masks[s.rows],
                None if c_all is None else c_all[s.rows],
                init[s.rows] if isinstance(init, Latents) else None,
            ),
        )
        for s in plan.shards()
    ]
    if client is not None:
        _check_payload(shards, batch_size)
    work = InvertWork(
        space,
        int(steps),
        loss_fn,
        used_init,
        schedule,
        int(batch_size),
        CHAINS[space],
        None if callback is None else _Callback(callback),
        optimize_noise,
        float(noise_regularize),
    )
    ws_parts, curves, done_steps = [], [], []
    noise_parts: list[list[np.ndarray]] = [[] for _ in (g.noise_shapes if optimize_noise else ())]
    for _, arrays in map_shards(
        work,
        shards,
        generator=g,
        client=client,
        desc=f"inverting {n} images",
        unit="step",
        units=lambda shard: int(steps) * -(-len(shard) // int(batch_size)),
        progress=progress,
    ):
        ws_parts.append(arrays["ws"])
        curves.append(arrays["curve"])
        done_steps.append(arrays["steps"])
        for k, part in enumerate(noise_parts):
            part.append(arrays[f"noise{k}"])
    ws = torch.from_numpy(np.concatenate(ws_parts)).to(g.device, g.dtype)
    done = int(np.concatenate(done_steps).max()) if n else 0
    noise_maps = tuple(torch.from_numpy(np.concatenate(p)).to(g.device, g.dtype) for p in noise_parts) or None
    latents = Latents(ws=ws, c=c_all, model=g.fingerprint, space=g.latent_space, noise=noise_maps)
    reconstructions = g.synthesize(latents, batch_size=batch_size)
    return Inversion(
        latents=latents,
        images=reconstructions,
        targets=targets,
        psnr=psnr(reconstructions, targets).numpy().astype(np.float64),
        ssim=ssim_index(reconstructions, targets).numpy().astype(np.float64),
        loss_curve=np.ascontiguousarray(np.concatenate(curves)[:, :done].T),
        space=space,
        init=used_init,
        steps=done,
        seconds=time.perf_counter() - start_time,
    )


#: The most image data one shard carries to a Dask worker (targets, masks, classes).
MAX_SHARD_BYTES = 64 << 20


@dataclass(frozen=True, eq=False)
class ImageShard:
    """What a shard of an inversion carries to where it runs: its images as inverted
    (float32, model resolution), their masks, classes and given start latents."""

    targets: torch.Tensor
    mask: torch.Tensor | None
    c: torch.Tensor | None
    init: Latents | None

    @property
    def nbytes(self) -> int:
        parts = (self.targets, self.mask, self.c, None if self.init is None else self.init.ws)
        return sum(t.element_size() * t.nelement() for t in parts if t is not None)

    def to(self, device: str | torch.device) -> ImageShard:
        def move(t: Any) -> Any:
            return None if t is None else t.to(device)

        return ImageShard(move(self.targets), move(self.mask), move(self.c), move(self.init))


def _check_payload(shards: Sequence[Shard], batch_size: int) -> None:
    biggest = max((s.data.nbytes for s in shards), default=0)
    if biggest > MAX_SHARD_BYTES:
        raise ValueError(
            f"a batch of {batch_size} images is {biggest / 2**20:.0f} MiB, more than the {MAX_SHARD_BYTES >> 20} MiB "
            f"a shard may carry to a Dask worker; lower batch_size (one batch is one shard)"
        )


class _Callback:
    """The caller's ``callback(step, losses)``; once it returns true, later batches are not optimised."""

    def __init__(self, fn: Callable[[int, np.ndarray], object]) -> None:
        self.fn, self.stopped = fn, False

    def __call__(self, step: int, losses: torch.Tensor) -> bool:
        if self.fn(step, losses.numpy()):
            self.stopped = True
        return self.stopped


@dataclass(frozen=True)
class InvertWork:
    """One shard of an inversion: its batches, each started and optimised as
    :func:`invert` describes; yields per image ``ws`` (float32 of the generator's dtype's
    values), ``curve`` (the loss at each step, NaN after the last step run), ``steps``,
    and with ``optimize_noise`` its maps ``noise0``, ``noise1``, ... (n, 1, h, w)."""

    space: str
    steps: int
    loss: LossFn
    init: str
    schedule: Schedule
    batch_size: int
    chains: int
    callback: _Callback | None = None  # in this process only
    optimize_noise: bool = False
    noise_regularize: float = NOISE_REGULARIZE

    def __call__(self, shard: Shard, models: Models, tick: Callable[[int], None]) -> Iterator[dict[str, np.ndarray]]:
        g = models.generator
        assert g is not None and isinstance(shard.data, ImageShard), "an inversion shard needs its generator and images"
        data, callback = shard.data, self.callback
        gens = [torch.Generator().manual_seed(s) for s in shard.seeds]

        def step_done(step: int, losses: torch.Tensor) -> bool:
            tick(1)
            return callback is not None and callback(step, losses)

        for lo in range(0, len(shard), self.batch_size):
            hi = min(len(shard), lo + self.batch_size)
            target = data.targets[lo:hi].to(g.device)
            c = None if data.c is None else data.c[lo:hi].to(g.device)
            m = None if data.mask is None else data.mask[lo:hi].to(g.device)
            init = data.init[lo:hi] if data.init is not None else self.init
            start = _start(g, self.space, init, target, c, gens[lo:hi], self.loss, m, self.chains)
            chains = start.shape[1] if self.steps > 0 else 1
            start = start[:, :chains].flatten(0, 1)
            var = LatentVariable(g, self.space, start, None if c is None else c.repeat_interleave(chains, 0))
            maps = NoiseMaps(g, len(start)) if self.optimize_noise else None
            curve: list[torch.Tensor] = []
            if callback is None or not callback.stopped:
                curve = _optimise(
                    g,
                    var,
                    target,
                    m,
                    self.loss,
                    self.schedule,
                    self.steps,
                    gens[lo:hi],
                    step_done,
                    chains,
                    maps,
                    self.noise_regularize,
                )
            if len(var.param) != hi - lo:  # a callback stopped the run before this batch: its best start
                _keep_rows(var, maps, torch.arange(hi - lo, device=var.param.device) * chains)
            losses = np.full((hi - lo, self.steps), np.nan, dtype=np.float32)
            if curve:
                losses[:, : len(curve)] = torch.stack(curve).numpy().T
            with torch.no_grad():
                ws = var.ws().detach().to(g.dtype).float().cpu().numpy()
            out = {"ws": ws, "curve": losses, "steps": np.full(hi - lo, len(curve))}
            for k, noise_map in enumerate(maps.maps if maps is not None else ()):
                out[f"noise{k}"] = noise_map.detach().to(g.dtype).float().cpu().numpy()
            yield out
