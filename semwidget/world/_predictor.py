"""A small CNN that reads the scene factors back from an image, and a scorer around it.

It regresses :func:`~semwidget.world.factor_targets` (continuous factors in [-1, 1],
hues as (cos, sin), ``shape`` as logits) from 64×64 renders, trained on images made
on the fly. The trained weights ship with the package (float16, about 0.4 MB) and are
checked against :data:`PREDICTOR_SHA256` on load, then read through the bounded
checkpoint readers; ``weights/README.md`` is their card.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..files._atomic import sha256_file
from ..files._errors import FileFormatError
from ..files._safe import open_regular
from ..files._torchfile import read_state
from ..scorers._base import Scorer
from ._scene import FACTORS, HUES, RESOLUTION, TARGET_NAMES, factor_targets, render, sample_factors, to_tensor

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).parent / "weights" / "predictor.pt"
PREDICTOR_SHA256 = "06aecaa0183704239d60b81f4dc7cc70e54c90f75acf7f845eae22b984f20484"

_SHAPE_COLS = [i for i, n in enumerate(TARGET_NAMES) if n.startswith("shape_")]
_REG_COLS = [i for i, n in enumerate(TARGET_NAMES) if not n.startswith("shape_")]
SCORE_NAMES: tuple[str, ...] = tuple(f.name for f in FACTORS if not f.categories) + ("shape",)


class FactorNet(nn.Module):
    """Four stride-2 conv blocks (64→4 pixels) and a linear head: (n, 3, 64, 64) → (n, len(TARGET_NAMES))."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 3 * width, 4 * width]
        layers: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1] * (RESOLUTION // 16) ** 2, len(TARGET_NAMES))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).flatten(1))


def _loss(out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    mse = F.mse_loss(out[:, _REG_COLS], targets[:, _REG_COLS])
    ce = F.cross_entropy(out[:, _SHAPE_COLS], targets[:, _SHAPE_COLS].argmax(1))
    return mse + 0.1 * ce


def decode(out: np.ndarray) -> np.ndarray:
    """Network outputs (n, len(TARGET_NAMES)) → factors (n, len(FACTORS)) in factor units.

    Continuous factors are clipped to their range, hues are in [0, 1), ``shape`` is the
    argmax class.
    """
    out = np.asarray(out, dtype=np.float64)
    cols: list[np.ndarray] = []
    j = 0
    for f in FACTORS:
        if f.categories:
            cols.append(out[:, j : j + f.categories].argmax(1).astype(np.float64))
            j += f.categories
        elif f.name in HUES:
            cols.append(np.arctan2(out[:, j + 1], out[:, j]) / (2 * np.pi) % 1.0)
            j += 2
        else:
            cols.append(np.clip(f.low + (out[:, j] + 1) / 2 * (f.high - f.low), f.low, f.high))
            j += 1
    return np.stack(cols, axis=1)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Factors read back from images (n, 3, H, W) in [-1, 1]: ndarray (n, len(FACTORS))."""
    model.eval()
    images = images.detach().float().cpu()
    if images.shape[-2:] != (RESOLUTION, RESOLUTION):
        images = F.interpolate(images, size=(RESOLUTION, RESOLUTION), mode="bilinear", antialias=True)
    outs = [model(images[i : i + batch_size]).numpy() for i in range(0, len(images), batch_size)]
    return decode(np.concatenate(outs) if outs else np.zeros((0, len(TARGET_NAMES))))


def train_predictor(
    steps: int = 2000, batch_size: int = 128, seed: int = 0, progress: bool = True, lr: float = 2e-3
) -> tuple[FactorNet, dict[str, Any]]:
    """Train a :class:`FactorNet` on fresh renders; returns ``(model, report)``.

    Adam with a cosine learning-rate decay; every batch is new, so there is no overfitting
    to watch. ``report`` has the steps, seconds, final loss and :func:`evaluate`'s table.
    """
    from ..common._progress import progress as bar

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FactorNet()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=max(0.05, 2 / steps))
    start, losses = time.perf_counter(), []
    model.train()
    with bar(steps, "training factor predictor", enabled=progress, unit="step") as b:
        for step in range(steps):
            factors = sample_factors(batch_size, rng)
            x = to_tensor(render(factors))
            y = torch.from_numpy(factor_targets(factors))
            loss = _loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            b.update()
            if (step + 1) % 200 == 0:
                log.info("step %d: loss %.4f", step + 1, float(np.mean(losses[-200:])))
    seconds = time.perf_counter() - start
    model.eval()
    report = {
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "seconds": seconds,
        "final_loss": float(np.mean(losses[-100:])),
        "params": sum(p.numel() for p in model.parameters()),
        "heldout": evaluate(model),
    }
    return model, report


def evaluate(model: nn.Module, n: int = 2000, seed: int = 12345) -> dict[str, Any]:
    """Held-out figures on ``n`` fresh renders.

    Returns ``{"mae": {factor: ...}, "r2": {factor: ...}, "shape_accuracy": float}``: MAE in
    factor units (hues: circular distance in turns), R² of the factor's target columns
    (a hue's (cos, sin) pair together).
    """
    factors = sample_factors(n, np.random.default_rng(seed))
    images = to_tensor(render(factors))
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(images[i : i + 256]) for i in range(0, n, 256)]).numpy()
    pred, targets = decode(out), factor_targets(factors)
    mae: dict[str, float] = {}
    r2: dict[str, float] = {}
    j = 0
    for i, f in enumerate(FACTORS):
        width = f.categories or (2 if f.name in HUES else 1)
        cols = slice(j, j + width)
        j += width
        if f.categories:
            continue
        err = np.abs(pred[:, i] - factors[:, i])
        mae[f.name] = float(np.minimum(err, 1 - err).mean() if f.name in HUES else err.mean())
        t, o = targets[:, cols], out[:, cols]
        r2[f.name] = float(1 - ((o - t) ** 2).sum() / ((t - t.mean(0)) ** 2).sum())
    shape_i = [f.name for f in FACTORS].index("shape")
    accuracy = float((pred[:, shape_i] == factors[:, shape_i]).mean())
    return {"mae": mae, "r2": r2, "shape_accuracy": accuracy}


def save_predictor(model: nn.Module, path: str | os.PathLike[str] = WEIGHTS) -> str:
    """Save a float16 state dict; returns its sha256."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return sha256_file(path)


_LAYOUT = "a FactorNet state dict (semwidget.world's factor predictor, as save_predictor writes it)"


def load_predictor(path: str | os.PathLike[str] | None = None, sha256: str | None = PREDICTOR_SHA256) -> FactorNet:
    """The predictor from ``path`` (the shipped weights by default), checked against ``sha256``.

    Pass ``sha256=None`` to skip the check for weights you trained yourself. The file is
    read through the bounded checkpoint readers: at most :func:`max_predictor_bytes`
    long, its keys, shapes and dtypes those of :class:`FactorNet` before anything is
    loaded, its weights finite; :class:`~semwidget.FileFormatError` naming the file otherwise.
    """
    return _read_predictor(Path(WEIGHTS if path is None else path), sha256)[0]


def max_predictor_bytes() -> int:
    """The largest predictor file read: FactorNet's weights in float32 and 1 MB for the
    archive around them (the shipped float16 file is about 0.4 MB)."""
    return _bytes_limit(_architecture())


def _architecture() -> dict[str, torch.Tensor]:
    with torch.device("meta"):  # shapes and dtypes only, nothing allocated
        return FactorNet().state_dict()


def _bytes_limit(expected: dict[str, torch.Tensor]) -> int:
    return 4 * sum(t.numel() for t in expected.values()) + (1 << 20)


def _read_predictor(path: Path, sha256: str | None) -> tuple[FactorNet, str]:
    """The predictor in ``path`` and the file's sha256."""
    expected = _architecture()
    limit = _bytes_limit(expected)
    hasher = hashlib.sha256()
    with open_regular(path, "the factor predictor's weights", limit) as f:
        for block in iter(lambda: f.read(1 << 16), b""):  # read(n) allocates n: small blocks for small files
            hasher.update(block)
    digest = hasher.hexdigest()
    if sha256 is not None and digest != sha256:
        raise FileFormatError(
            f"predictor weights {path} have sha256 {digest}; expected {sha256} "
            f"(pass sha256=None for weights you trained yourself)"
        )
    state = read_state(path, expected, _LAYOUT, max_bytes=limit)
    model = FactorNet()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval(), digest


class FactorScorer(Scorer):
    """The scene factors read back from images by the shipped predictor.

    Columns (:data:`SCORE_NAMES`): the continuous factors in factor units (``horizon``,
    ``view``, ``scale``, ``position``, ``floor_hue``, ``wall_hue``, ``object_hue``,
    ``lighting``; hues in [0, 1)), then ``shape`` as the predicted class index into
    :data:`~semwidget.world.SHAPES`. Images other than 64×64 are resized first.
    ``weights`` (a path) replaces the shipped file; it is checked against ``sha256``
    when one is given.
    """

    names = SCORE_NAMES
    #: Hues are circular, in turns: a change from 0.95 to 0.05 is +0.1.
    periods = MappingProxyType(dict.fromkeys(HUES, 1.0))

    def __init__(self, weights: str | os.PathLike[str] | None = None, sha256: str | None = None) -> None:
        if weights is None:
            sha256 = PREDICTOR_SHA256
        self.weights = None if weights is None else str(Path(weights).resolve())
        self.model, self.sha256 = _read_predictor(Path(WEIGHTS if weights is None else weights), sha256)

    @property
    def identity(self) -> str:
        return f"{super().identity}:{self.sha256}"

    def recipe(self) -> tuple[str, dict[str, Any]]:
        """Rebuilt elsewhere from the shipped weights, or from the same file checked by its sha256."""
        kwargs = {} if self.weights is None else {"weights": self.weights, "sha256": self.sha256}
        return "semwidget.world:FactorScorer", kwargs

    def score(self, images: torch.Tensor) -> np.ndarray:
        pred = predict(self.model, images)
        order = [i for i, f in enumerate(FACTORS) if not f.categories] + [
            i for i, f in enumerate(FACTORS) if f.categories
        ]
        return pred[:, order]
