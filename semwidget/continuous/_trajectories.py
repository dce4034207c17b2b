"""Trajectories: warm-started inversion of T_t(G(z₀)) along a curriculum of amounts t.

For each seed, z₀ (or w₀) is sampled and its image G(z₀) transformed by small, then
larger amounts, on each side (Plumerault et al., ICLR 2020, section 3.2): the latent
that reproduces T_{t_k}(G(z₀)) is searched from the one found for T_{t_{k-1}}(G(z₀)),
so each search starts close to its answer. Each target is a fresh Adam run (its
moments reset) on the blurred masked MSE (:class:`BlurredMaskedMSE`: inversion's
``BlurredMSE`` at a fixed σ); a z is kept inside the ball that holds 99.9 % of its prior.

The loop is our own rather than one :func:`~semwidget.inversion.invert` call per target:
a direction restricted to some layers needs the latent to move on those layers only
(``invert`` frees every layer), z must stay in a ball, not on a sphere, and a few
steps per target would pay ``invert``'s per-call synthesis, PSNR and SSIM and show a
new progress bar per target. The pixel loss and the latent's prior (the unit the
learning rate is in) are ``semwidget.inversion``'s own; the optimiser is Adam, written
out (:class:`_Adam`).

The seeds run in shards of ``batch_size`` through the shard map
(:mod:`semwidget.distributed`), in this process or on a Dask cluster: a shard is the
unit whose seeds step together, so it is the same in both places and so are the bits.
The trajectory cache (:mod:`._trajectory_cache`) keeps one file per seed; shards whose
seeds it holds finished are skipped.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..distributed import Models, Shard, ShardPlan, map_shards
from ..distributed._client import resolve_client
from ..generators._base import Generator
from ..inversion._space import prior_for, z_radius
from ._trajectory_cache import Trajectory, TrajectoryCache, TrajectoryStore, stack, unstack
from ._transforms import Transform

log = logging.getLogger(__name__)

#: Each image must keep at least this fraction of valid pixels at every amount; a seed
#: whose image does not (a near-black face darkened: its pixels clip) is left out of the
#: fit, and the fit is refused only when fewer than two seeds are left.
MIN_VALID = 0.2
#: The smallest amount must move the content by at least this many pixels.
MIN_PIXELS = 0.5
#: Names the trajectory loss in the cache's settings, so trajectories of an older loss are refused.
LOSS_VERSION = "blurred-masked-mse/2"


@dataclass(frozen=True)
class Plan:
    """What decides each seed's trajectory (all of it goes into the cache's settings).

    Attributes
    ----------
    transform : Transform
    branches : tuple of tuple of float
        The curriculum of each branch, smallest |t| first: one branch per sign that the
        range covers (negative first).
    steps : int
        Adam steps per target.
    sigma : float
        σ in pixels of the Gaussian blur on the masked difference.
    space : {"z", "w", "w+"}
    layers : tuple of int
        The layer-wise latents that move (all of them for z).
    lr : float
        Adam's learning rate, in units of the latent prior's spread.
    """

    transform: Transform
    branches: tuple[tuple[float, ...], ...]
    steps: int
    sigma: float
    space: str
    layers: tuple[int, ...]
    lr: float

    @property
    def amounts(self) -> np.ndarray:
        """Every target's t, branch after branch: shape (targets,)."""
        return np.array([t for branch in self.branches for t in branch], dtype=np.float64)

    @property
    def targets_per_branch(self) -> int:
        return len(self.branches[0])

    def settings(self, g: Generator) -> dict[str, Any]:
        return {
            "model": {"name": g.name, "fingerprint": g.fingerprint},
            "transform": self.transform.identity,
            "branches": [list(b) for b in self.branches],
            "steps_per_target": self.steps,
            "sigma": self.sigma,
            "space": self.space,
            "layers": list(self.layers),
            "lr": self.lr,
            "loss": LOSS_VERSION,
        }


# ---- the loss ------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _blur_matrix(size: int, sigma: float) -> torch.Tensor:
    """The (size, size) matrix of a Gaussian blur with zero padding, as
    :func:`semwidget.inversion._losses.gaussian_blur` applies it along one axis."""
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    offset = torch.arange(size)[None, :] - torch.arange(size)[:, None]
    matrix = torch.zeros(size, size, dtype=torch.float64)
    near = offset.abs() <= radius
    matrix[near] = kernel[offset[near] + radius]
    return matrix.float()


@dataclass(frozen=True)
class BlurredMaskedMSE:
    """The MSE of the Gaussian-blurred masked difference, per image: inversion's
    :class:`~semwidget.inversion.BlurredMSE` at a fixed σ (Plumerault et al.), computed
    as two matrix products, several times faster on a CPU than its convolution."""

    sigma: float

    def __call__(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        diff = mask * (pred - target)
        if self.sigma > 0:
            h, w = diff.shape[-2:]
            rows = _blur_matrix(h, self.sigma).to(diff.device)
            cols = rows if w == h else _blur_matrix(w, self.sigma).to(diff.device)
            diff = rows @ diff @ cols.T
        channels = diff.shape[1]
        # Averaged over the valid pixels only, as inversion's losses do.
        return (diff.square() * mask).flatten(1).sum(1) / (mask.flatten(1).sum(1) * channels).clamp_min(1e-8)


# ---- the latent being moved -------------------------------------------------------------


class _Latent:
    """How the optimised variable of shape (n, m, dim) becomes ``ws`` for a batch of starts."""

    def __init__(self, g: Generator, plan: Plan, ws0: torch.Tensor) -> None:
        self.g, self.plan, self.ws0 = g, plan, ws0
        self.layers = list(plan.layers)
        if plan.space == "z":
            self.radius = z_radius(g) + 3 / math.sqrt(2)  # √d + 3 σ of the norm: 99.9 % of N(0, I)
            self.scale = 1.0
        else:
            self.scale = prior_for(g, plan.space).scale

    def start(self) -> torch.Tensor:
        """The variable at t = 0: z₀ itself for z, no offset for w and w+."""
        if self.plan.space == "z":
            return self.ws0[:, :1].clone()
        m = len(self.layers) if self.plan.space == "w+" else 1
        return self.ws0.new_zeros(self.ws0.shape[0], m, self.ws0.shape[2])

    def ws(self, x: torch.Tensor, rows: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if self.plan.space == "z":
            return self.g.map(x[:, 0], c, None).float()
        base = self.ws0[rows]
        offset = self.scale * x
        ws = base.clone()
        ws[:, self.layers] = base[:, self.layers] + offset
        return ws

    @torch.no_grad()
    def project(self, x: torch.Tensor) -> None:
        if self.plan.space == "z":
            norm = x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            x.mul_(torch.clamp(self.radius / norm, max=1.0))


def variable_shape(g: Generator, plan: Plan) -> tuple[int, int, int]:
    """(branches, m, dim) of the stored variable."""
    m = len(plan.layers) if plan.space == "w+" else 1
    dim = g.z_dim if plan.space == "z" else g.w_dim
    return len(plan.branches), m, dim


def check_plan(g: Generator, plan: Plan) -> None:
    """Refuse a curriculum the model cannot show: steps under half a pixel, or the
    largest amount leaving too little of the image valid (checked on a mid-grey image)."""
    r = g.img_resolution
    for branch in plan.branches:
        moved = plan.transform.displacement(branch[0], r)
        if moved is not None and moved < MIN_PIXELS:
            raise ValueError(
                f"the {r}-pixel model is too small for {plan.transform.name} steps of t={branch[0]:g}: "
                f"they move the content {moved:.2f} px, under {MIN_PIXELS} px. Raise t_max or lower t_steps"
            )


def sample_starts(g: Generator, seeds: Sequence[int]) -> Any:
    """The start of each seed's trajectory; conditional models take class ``seed % c_dim``."""
    classes = [s % g.c_dim for s in seeds] if g.c_dim else None
    return g.sample(seeds=seeds, class_index=classes)


def usable_seeds(g: Generator, plan: Plan, seeds: Sequence[int], batch_size: int = 64) -> np.ndarray:
    """Which seeds keep at least :data:`MIN_VALID` of their image valid at every amount
    (bool, shape (n,)); raises when fewer than two do, naming the worst amount."""
    amounts = sorted({float(t) for branch in plan.branches for t in branch})
    worst = np.ones(len(seeds))
    worst_t = np.zeros(len(seeds))
    for lo in range(0, len(seeds), batch_size):
        lat = sample_starts(g, seeds[lo : lo + batch_size]).to(g.device)
        with torch.no_grad():
            img = g.render(lat.ws.float(), lat.c).clamp(-1, 1)
            for t in amounts:
                valid = plan.transform(img, t)[1].flatten(1).float().mean(1).cpu().numpy()
                part = slice(lo, lo + len(valid))
                lower = valid < worst[part]
                worst[part] = np.where(lower, valid, worst[part])
                worst_t[part] = np.where(lower, t, worst_t[part])
    ok = worst >= MIN_VALID
    if ok.sum() < 2:
        i = int(worst.argmax())  # even the best seed fails: the amounts are too large for the model
        raise ValueError(
            f"{plan.transform.name} at t={worst_t[i]:g} leaves {100 * worst[i]:.0f} % of the image valid "
            f"(at least {100 * MIN_VALID:.0f} % needed): lower t_max"
        )
    if not ok.all():
        bad = [int(s) for s in np.asarray(seeds)[~ok]]
        warnings.warn(
            f"{plan.transform.name}: {len(bad)} of {len(seeds)} seeds keep under {100 * MIN_VALID:.0f} % of their "
            f"image valid at some amount (seeds {bad[:8]}{'…' if len(bad) > 8 else ''}); their trajectories are "
            "left out of the fit",
            UsableSeedsWarning,
            stacklevel=3,
        )
    return ok


class UsableSeedsWarning(UserWarning):
    """Some seeds' images cannot show the transformation (too few valid pixels)."""


def _targets(transform: Transform, images: torch.Tensor, amounts: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """T_t of each image at its own amount, and the masks. An image left with too few
    valid pixels (its seed is dropped from the fit, see :func:`usable_seeds`) is compared
    on every pixel instead, so its trajectory stays finite."""
    out = []
    values = np.asarray(amounts, dtype=np.float64)
    for t in np.unique(values):
        idx = np.nonzero(values == t)[0]
        x, m = transform(images[idx], float(t))
        out.append((idx, x, m))
    n = images.shape[0]
    targets = images.new_empty(images.shape)
    mask = images.new_empty(n, 1, *images.shape[2:])
    for idx, x, m in out:
        targets[idx], mask[idx] = x.to(targets), m.to(mask)
    mask[mask.flatten(1).mean(1) < MIN_VALID] = 1.0
    return targets, mask


def run_trajectories(
    g: Generator,
    plan: Plan,
    seed: int,
    n: int,
    *,
    cache: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    progress: bool = True,
    client: Any = None,
) -> tuple[list[Trajectory], np.ndarray | None]:
    """The finished trajectories of seeds ``seed … seed + n − 1``, in order, and the
    starting z₀ of each (shape (n, dim); None for w and w+, whose variable is an offset).

    The seeds run in shards of ``batch_size`` (a shard's seeds step together) through
    :func:`semwidget.distributed.map_shards`, in this process or on a Dask ``client``:
    the same shards either way, so the same bits. Seeds whose trajectories the cache
    holds finished are not computed; unfinished ones go on from their last target.
    """
    check_plan(g, plan)
    client = resolve_client(client)
    targets = plan.targets_per_branch
    cache_ = None if cache is None else TrajectoryCache(cache, plan.settings(g), variable_shape(g, plan))
    found: dict[int, Trajectory] = {}
    if cache_ is not None:
        for s in range(seed, seed + n):
            t = cache_.load(s)
            if t is not None:
                found[s] = t
    store = TrajectoryStore(found, targets, cache_, write=client is not None)
    # Each shard carries what the cache holds of its seeds, so a worker resumes them too.
    shards = [replace(s, data=tuple(found.get(x) for x in s.seeds)) for s in ShardPlan(seed, n, batch_size).shards()]
    work = TrajectoryWork(plan, cache_ if client is None else None)
    results: list[Trajectory] = []
    for shard, arrays in map_shards(
        work,
        shards,
        generator=g,
        client=client,
        store=store,
        desc=f"{plan.transform.name} trajectories",
        unit="step",
        # One tick per optimisation step of a shard (its seeds step together).
        units=lambda shard: (targets - min(store.done(s) for s in shard.seeds)) * plan.steps,
        progress=progress,
    ):
        results.extend(unstack(shard.seeds, arrays))
    return results, start_codes(g, plan, range(seed, seed + n))


def start_codes(g: Generator, plan: Plan, seeds: Sequence[int]) -> np.ndarray | None:
    """Each seed's z₀ (float32, shape (n, z_dim)) for z; None for w and w+."""
    if plan.space != "z":
        return None
    return sample_starts(g, seeds).ws[:, 0].float().cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class TrajectoryWork:
    """One shard of seeds: each one's trajectory from where ``shard.data`` (what the cache
    held, one entry per seed, None for none) left it; yields them stacked (:func:`stack`).
    With ``cache`` (in this process) each seed is saved after every target."""

    plan: Plan
    cache: TrajectoryCache | None = None

    def __call__(self, shard: Shard, models: Models, tick: Callable[[int], None]) -> Iterator[dict[str, np.ndarray]]:
        g = models.generator
        assert g is not None, "a trajectory shard needs its generator"
        seeds = list(shard.seeds)
        held = shard.data if shard.data is not None else (None,) * len(seeds)
        found = {s: t for s, t in zip(seeds, held) if t is not None}
        done = _run_chunk(g, self.plan, seeds, found, self.cache, BlurredMaskedMSE(self.plan.sigma), tick)
        yield stack([done[s] for s in seeds])


def _run_chunk(
    g: Generator,
    plan: Plan,
    seeds: list[int],
    found: dict[int, Trajectory],
    store: TrajectoryCache | None,
    loss_fn: BlurredMaskedMSE,
    tick: Callable[[int], None],
) -> dict[int, Trajectory]:
    n_branch, m, dim = variable_shape(g, plan)
    n = len(seeds)
    lat0 = sample_starts(g, seeds).to(g.device)
    ws0 = lat0.ws.float()
    with torch.no_grad():
        img0 = g.render(ws0, lat0.c).clamp(-1, 1)
    # Items: branch-major, so item b * n + i is seed i on branch b.
    rows = torch.arange(n, device=g.device).repeat(n_branch)
    c = None if lat0.c is None else lat0.c[rows]
    latent = _Latent(g, plan, ws0)
    x = latent.start()[rows].clone()
    k_total = plan.targets_per_branch
    params = np.zeros((n_branch * n, k_total, m, dim), dtype=np.float32)
    losses = np.zeros((n_branch * n, k_total))
    baselines = np.zeros((n_branch * n, k_total))
    done = np.zeros(n_branch * n, dtype=int)
    for i, s in enumerate(seeds):
        t = found.get(s)
        if t is None or t.done == 0:
            continue
        for b in range(n_branch):
            j = b * n + i
            params[j, : t.done], losses[j, : t.done], baselines[j, : t.done] = t.params[b], t.loss[b], t.baseline[b]
            x[j] = torch.from_numpy(t.params[b, t.done - 1]).to(x)
            done[j] = t.done
    for k in range(int(done.min()), k_total):
        active = np.nonzero(done == k)[0]
        if len(active) == 0:
            continue
        amounts = [plan.branches[j // n][k] for j in active]
        idx = torch.as_tensor(active, device=g.device)
        target, mask = _targets(plan.transform, img0[rows[idx]], amounts)
        with torch.no_grad():
            baselines[active, k] = loss_fn(img0[rows[idx]], target, mask).cpu().numpy()
        var = x[idx].detach().clone().requires_grad_(True)
        opt = _Adam(var)  # a fresh optimiser per target: its moments reset
        ci = None if c is None else c[idx]
        last = None
        for step in range(plan.steps):
            per_image = loss_fn(g.render(latent.ws(var, rows[idx], ci), ci), target, mask)
            grad = torch.autograd.grad(per_image.sum(), var)[0]
            # A cosine ramp-down of the learning rate over the last third of each target.
            opt.step(grad, plan.lr * _ramp((step + 0.5) / plan.steps))
            latent.project(var)
            last = per_image.detach()
            tick(1)
        with torch.no_grad():
            x[idx] = var.detach()
        losses[active, k] = last.cpu().numpy() if last is not None else baselines[active, k]
        params[active, k] = var.detach().cpu().numpy()
        done[active] = k + 1
        if store is not None:
            for i in sorted({int(j) % n for j in active}):
                store.save(_trajectory(seeds[i], i, n, n_branch, done, params, losses, baselines))
    return {s: _trajectory(s, i, n, n_branch, done, params, losses, baselines) for i, s in enumerate(seeds)}


class _Adam:
    """Adam (Kingma & Ba, 2015) on one tensor, updated in place. Written out here because
    ``torch.optim`` loads torch's compiler stack on first use, seconds for a few steps."""

    def __init__(self, param: torch.Tensor, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.param, self.betas, self.eps = param, betas, eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lr: float) -> None:
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(grad, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        self.param.sub_(lr * m_hat / (v_hat.sqrt() + self.eps))


def _ramp(progress: float) -> float:
    tail = 1 / 3
    if progress <= 1 - tail:
        return 1.0
    return 0.5 + 0.5 * math.cos(math.pi * (progress - (1 - tail)) / tail)


def _trajectory(
    seed: int,
    i: int,
    n: int,
    n_branch: int,
    done: np.ndarray,
    params: np.ndarray,
    losses: np.ndarray,
    baselines: np.ndarray,
) -> Trajectory:
    rows = [b * n + i for b in range(n_branch)]
    k = int(min(done[rows]))
    return Trajectory(seed, params[rows, :k].copy(), losses[rows, :k].copy(), baselines[rows, :k].copy())


def trajectory_deltas(g: Generator, plan: Plan, trajectories: list[Trajectory], z0: np.ndarray | None) -> np.ndarray:
    """Latent differences from each start, averaged over the moved layers (w+): shape
    (n, targets, dim), targets in the order of :attr:`Plan.amounts`."""
    params = np.stack([t.params for t in trajectories]).astype(np.float64)  # (n, branches, k, m, dim)
    n, b, k, m, dim = params.shape
    if plan.space == "z":
        assert z0 is not None
        d = params - z0.astype(np.float64)[:, None, None, None, :]
    else:
        d = params * prior_for(g, plan.space).scale
    return d.mean(axis=3).reshape(n, b * k, dim)
