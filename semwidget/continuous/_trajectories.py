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

With a cache folder, each seed's trajectory is written (atomically) after every target,
so an interrupted fit resumes at the target it was on; ``settings.json`` there records
what made the trajectories, and a fit with other settings is refused, never mixed in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..common._progress import progress as progress_bar
from ..files._atomic import atomic_write_bytes
from ..files._errors import FileFormatError, MissingFileError, ModelMismatchError
from ..files._safe import ArraySpec, npz_bytes, parse_json, read_json, read_npz
from ..generators._base import Generator
from ..inversion._space import prior_for, z_radius
from ._transforms import Transform

log = logging.getLogger(__name__)

FORMAT = "semwidget.continuous-trajectories"
VERSION = 1
#: Each image must keep at least this fraction of valid pixels at the largest amount.
MIN_VALID = 0.2
#: The smallest amount must move the content by at least this many pixels.
MIN_PIXELS = 0.5
#: Names the trajectory loss in the cache's settings, so trajectories of an older loss are refused.
LOSS_VERSION = "blurred-masked-mse/2"
_FIX = "use another cache folder, or delete this one to start again"


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


def digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Trajectory:
    """One seed's trajectory (both branches), possibly unfinished.

    Attributes
    ----------
    seed : int
    params : ndarray of shape (branches, done, m, dim), float32
        The optimised variable at the end of each target done (prior units for w and
        w+, z itself for z); ``m`` is 1 for z and w, the number of layers for w+.
    loss : ndarray of shape (branches, done)
        The blurred masked error at the last step of each target.
    baseline : ndarray of shape (branches, done)
        The same error for the unedited image G(z₀).
    """

    seed: int
    params: np.ndarray
    loss: np.ndarray
    baseline: np.ndarray

    @property
    def done(self) -> int:
        return int(self.params.shape[1])


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


# ---- the cache -----------------------------------------------------------------------


class TrajectoryCache:
    """A folder of per-seed trajectories made with one set of settings."""

    def __init__(self, folder: str | os.PathLike[str], settings: dict[str, Any], shape: tuple[int, int, int]) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.digest = digest(settings)
        self.branches, self.m, self.dim = shape
        self.targets = len(settings["branches"][0])
        if self.folder.exists() and not self.folder.is_dir():
            raise FileFormatError(f"the trajectory cache {self.folder} is a file, not a folder; {_FIX}")
        head = self.folder / "settings.json"
        if head.exists():
            self._check(read_json(head, "a continuous-factor trajectory cache's settings"))
        else:
            stray = sorted(self.folder.glob("seed-*.npz")) if self.folder.exists() else []
            if stray:
                raise FileFormatError(
                    f"the trajectory cache {self.folder} holds {len(stray)} trajectories but no settings.json; {_FIX}"
                )
            record = {"format": FORMAT, "version": VERSION, "digest": self.digest, "settings": settings}
            atomic_write_bytes(head, json.dumps(record, indent=2).encode())

    def _check(self, stored: dict[str, Any]) -> None:
        where = self.folder / "settings.json"
        if stored.get("format") != FORMAT or stored.get("version") != VERSION:
            raise FileFormatError(f"{where} is not version {VERSION} of {FORMAT}; {_FIX}")
        old = stored.get("settings")
        if not isinstance(old, dict):
            raise FileFormatError(f"{where} holds no settings; {_FIX}")
        if stored.get("digest") == self.digest and digest(old) == self.digest:
            return
        changed = [
            f"{key}={json.dumps(old.get(key))[:120]} (this fit: {json.dumps(value)[:120]})"
            for key, value in self.settings.items()
            if old.get(key) != value
        ]
        raise ModelMismatchError(
            f"the trajectory cache {self.folder} was made with other settings: {'; '.join(changed) or 'its digest'}. "
            f"Trajectories are never mixed: {_FIX}, or fit with the settings it was made with."
        )

    def _path(self, seed: int) -> Path:
        return self.folder / f"seed-{seed}.npz"

    def load(self, seed: int) -> Trajectory | None:
        path = self._path(seed)
        if not os.path.lexists(path):
            return None
        b, m, dim = self.branches, self.m, self.dim
        what = "a continuous-factor trajectory"
        expected = {
            "meta": ArraySpec("<U", ()),
            "params": ArraySpec("<f4", (b, None, m, dim)),
            "loss": ArraySpec("<f8", (b, None)),
            "baseline": ArraySpec("<f8", (b, None)),
        }
        try:
            arrays = read_npz(path, expected, what)
            meta = parse_json(str(arrays["meta"][()]), f"{path}: its metadata", f"the JSON of {what}")
        except MissingFileError:
            return None
        except FileFormatError as exc:
            raise FileFormatError(f"{exc}; {_FIX}") from None
        if meta.get("digest") != self.digest or meta.get("seed") != seed:
            raise ModelMismatchError(
                f"{path} was made with other settings (digest {str(meta.get('digest'))[:20]!r}, seed "
                f"{str(meta.get('seed'))[:20]}; expected {self.digest!r}, seed {seed}); {_FIX}"
            )
        params, loss, baseline = arrays["params"], arrays["loss"], arrays["baseline"]
        done = params.shape[1]
        if loss.shape[1] != done or baseline.shape[1] != done or done > self.targets:
            raise FileFormatError(f"{path} is damaged: {done} targets of latents, {loss.shape[1]} of losses; {_FIX}")
        return Trajectory(seed, params, loss, baseline)

    def save(self, trajectory: Trajectory) -> None:
        meta = {"format": FORMAT, "version": VERSION, "digest": self.digest, "seed": trajectory.seed}
        data = npz_bytes(
            {
                "meta": np.array(json.dumps(meta)),
                "params": np.ascontiguousarray(trajectory.params, dtype=np.float32),
                "loss": np.asarray(trajectory.loss, dtype=np.float64),
                "baseline": np.asarray(trajectory.baseline, dtype=np.float64),
            }
        )
        atomic_write_bytes(self._path(trajectory.seed), data)


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


def _targets(transform: Transform, images: torch.Tensor, amounts: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """T_t of each image at its own amount, and the masks; checked for valid pixels."""
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
    valid = mask.flatten(1).mean(1)
    if bool((valid < MIN_VALID).any()):
        worst = int(valid.argmin())
        raise ValueError(
            f"{transform.name} at t={values[worst]:g} leaves {100 * float(valid[worst]):.0f} % of the image valid "
            f"(at least {100 * MIN_VALID:.0f} % needed): lower t_max"
        )
    return targets, mask


def run_trajectories(
    g: Generator,
    plan: Plan,
    seeds: Sequence[int],
    *,
    cache: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> tuple[list[Trajectory], np.ndarray | None]:
    """Every seed's finished trajectory, in the order of ``seeds``, and the starting z₀
    of each (shape (n, dim); None for w and w+, whose variable is an offset)."""
    check_plan(g, plan)
    shape = variable_shape(g, plan)
    store = None if cache is None else TrajectoryCache(cache, plan.settings(g), shape)
    found: dict[int, Trajectory] = {}
    if store is not None:
        for s in seeds:
            t = store.load(int(s))
            if t is not None:
                found[int(s)] = t
    k_total = plan.targets_per_branch
    chunks = [[int(s) for s in seeds[lo : lo + batch_size]] for lo in range(0, len(seeds), batch_size)]
    # One tick per optimisation step of a chunk (its seeds step together).
    remaining = sum(k_total - min(found[s].done if s in found else 0 for s in chunk) for chunk in chunks)
    loss_fn = BlurredMaskedMSE(plan.sigma)
    results: dict[int, Trajectory] = {}
    starts: list[np.ndarray] = []
    label = f"{plan.transform.name} trajectories"
    with progress_bar(remaining * plan.steps, label, unit="step", enabled=progress) as bar:
        for chunk in chunks:
            done, z0 = _run_chunk(g, plan, chunk, found, store, loss_fn, bar)
            results.update(done)
            if z0 is not None:
                starts.append(z0)
    z0_all = np.concatenate(starts) if starts else None
    return [results[int(s)] for s in seeds], z0_all


def _run_chunk(
    g: Generator,
    plan: Plan,
    seeds: list[int],
    found: dict[int, Trajectory],
    store: TrajectoryCache | None,
    loss_fn: BlurredMaskedMSE,
    bar: Any,
) -> tuple[dict[int, Trajectory], np.ndarray | None]:
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
    z0 = None if plan.space != "z" else x[:n, 0].detach().cpu().numpy().astype(np.float32)
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
            bar.update(1)
        with torch.no_grad():
            x[idx] = var.detach()
        losses[active, k] = last.cpu().numpy() if last is not None else baselines[active, k]
        params[active, k] = var.detach().cpu().numpy()
        done[active] = k + 1
        if store is not None:
            for i in sorted({int(j) % n for j in active}):
                store.save(_trajectory(seeds[i], i, n, n_branch, done, params, losses, baselines))
    out = {s: _trajectory(s, i, n, n_branch, done, params, losses, baselines) for i, s in enumerate(seeds)}
    return out, z0


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
