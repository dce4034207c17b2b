"""Small image encoders that give GAN inversion its starting latent (``init="encoder"``).

Each encoder is a conv net trained on one zoo generator's own samples
(``training/train_encoder.py``): for a StyleGAN it predicts ``w+`` (one w per layer,
as an offset from the mean w), for a DCGAN it predicts ``z``. The weights ship with
the package in float16 beside a model card (``weights/<model>-encoder.md``).

:func:`encoder_for` looks a generator up by its ``name`` *and* its ``fingerprint`` (a
sha of its weights), so an encoder never starts an inversion on weights it was not
trained for; it returns ``None`` when there is no encoder, and the caller falls back to
the mean latent. The file is checked against the sha256 recorded here, its structure,
keys and shapes are checked before anything is built, and it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..files._errors import FileFormatError

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SPACES = ("z", "w+")
#: How a "z" encoder's prediction is post-processed: kept as is, or put on the sphere of
#: radius sqrt(z_dim) where inversion keeps z.
NORMALIZE = ("none", "sphere")
_MAX_FILE_BYTES = 64 << 20
_LAYOUT = (
    "an encoder file written by training/train_encoder.py --export: {'state_dict': float16 EncoderNet "
    "state dict, 'config': {model, fingerprint, space, resolution, channels, num_ws, dim, normalize}}"
)


@dataclass(frozen=True)
class EncoderEntry:
    """One shipped encoder: which generator it belongs to and the file that holds it."""

    model: str  # the generator's zoo name (``generator.name``)
    fingerprint: str  # ``generator.fingerprint`` of the weights it was trained on
    file: str  # file name inside ``weights/``
    sha256: str
    space: str  # "z" or "w+"

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.file


#: Zoo name -> its encoder. An entry whose file is not there yet is skipped (no encoder).
REGISTRY: dict[str, EncoderEntry] = {
    e.model: e
    for e in [
        EncoderEntry(
            model="shapes-stylegan2",
            fingerprint="6035470791a7d468",
            file="shapes-stylegan2-encoder.pt",
            sha256="3a14c47f46f4b84369c428cfd40963183aa923cff6e2c44ce71bfb4a128e7bc8",
            space="w+",
        ),
        EncoderEntry(
            model="digiface-dcgan",
            fingerprint="635980a9d3983454",
            file="digiface-dcgan-encoder.pt",
            sha256="3286b1d3b0b269ed337dd434438771e593960db86e3c00455cf3fdcb218fd597",
            space="z",
        ),
    ]
}


class EncoderNet(nn.Module):
    """Strided conv blocks and a linear head: images (n, 3, R, R) in [-1, 1] → latents.

    Each block halves the resolution (3×3 stride-2 conv, then a 3×3 conv, each with
    BatchNorm and ReLU); the head reads the flattened last feature map. The output is
    ``out_mean + out_std * head(...)``, so the network learns a standardised offset from
    the mean latent (``out_mean``: the mean w for ``w+``, zero for ``z``).

    Parameters
    ----------
    resolution : int
        Input size R; a multiple of ``2 ** len(channels)``.
    channels : sequence of int
        Output channels of each block.
    out_shape : (num_ws, dim)
        The latent shape predicted per image (``num_ws == 1`` for ``z``).
    """

    out_mean: torch.Tensor
    out_std: torch.Tensor

    def __init__(
        self,
        resolution: int = 64,
        channels: Sequence[int] = (32, 64, 128, 256),
        out_shape: tuple[int, int] = (1, 100),
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        if not channels or resolution % 2 ** len(channels) or resolution < 2 ** len(channels):
            raise ValueError(f"resolution {resolution} must be a multiple of 2**{len(channels)} (one per block)")
        self.resolution = int(resolution)
        self.out_shape = (int(out_shape[0]), int(out_shape[1]))
        layers: list[nn.Module] = []
        for a, b in zip([3, *channels[:-1]], channels):
            layers += [
                nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                nn.Conv2d(b, b, 3, padding=1, bias=False),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
            ]
        self.features = nn.Sequential(*layers)
        side = resolution // 2 ** len(channels)
        self.head = nn.Linear(channels[-1] * side * side, math.prod(self.out_shape))
        self.register_buffer("out_mean", torch.zeros(self.out_shape))
        self.register_buffer("out_std", torch.ones(self.out_shape))

    def standardised(self, images: torch.Tensor) -> torch.Tensor:
        """The head's raw output, shape (n, num_ws, dim): (latent - out_mean) / out_std."""
        return self.head(self.features(images).flatten(1)).view(-1, *self.out_shape)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out_mean + self.out_std * self.standardised(images)


class Encoder:
    """A trained encoder bound to one generator's device and dtype.

    Attributes
    ----------
    space : str
        ``"z"`` (predicts (n, z_dim)) or ``"w+"`` (predicts (n, num_ws, w_dim)).
    resolution : int
        The image size the network reads; other sizes are resized first.
    sha256 : str
        Of the weight file.
    """

    def __init__(
        self,
        net: EncoderNet,
        config: dict[str, Any],
        *,
        sha256: str,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.space: str = config["space"]
        self.normalize: str = config["normalize"]
        self.resolution = net.resolution
        self.sha256 = sha256
        self.device = torch.device(device)
        self.dtype = dtype
        self.net = net.eval().requires_grad_(False).to(self.device)

    def __repr__(self) -> str:
        return f"Encoder(space={self.space!r}, out_shape={self.net.out_shape}, device={str(self.device)!r})"

    def predict(self, images: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """The latents of ``images``.

        Parameters
        ----------
        images : Tensor of shape (n, 3, R, R)
            Float images in [-1, 1], on any device; resized when R differs from
            :attr:`resolution`.

        Returns
        -------
        Tensor of shape (n, z_dim) for ``"z"`` or (n, num_ws, w_dim) for ``"w+"``, on the
        generator's device and in its dtype, without grad.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
            raise ValueError(f"expected images of shape (n, 3, R, R) in [-1, 1]; got {shape}")
        out = []
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                x = images[start : start + batch_size].to(self.device, torch.float32)
                if x.shape[-2:] != (self.resolution, self.resolution):
                    x = F.interpolate(x, size=(self.resolution,) * 2, mode="bilinear", antialias=True)
                out.append(self.net(x))
        latents = torch.cat(out) if out else torch.empty(0, *self.net.out_shape, device=self.device)
        if self.space == "z":
            latents = latents[:, 0]
            if self.normalize == "sphere":
                dim = latents.shape[1]
                latents = latents * (math.sqrt(dim) / latents.norm(dim=1, keepdim=True).clamp_min(1e-8))
        return latents.to(self.dtype).clone()


def encoder_for(generator: object) -> Encoder | None:
    """The shipped encoder for ``generator``, or ``None`` when it has none.

    The generator is identified by ``generator.name`` and must carry the exact
    ``generator.fingerprint`` the encoder was trained on: other weights under a known
    name get no encoder. A registered file that is not there yet also means ``None``.
    A file that is there but fails its checks raises :class:`~semwidget.FileFormatError`.
    """
    name = getattr(generator, "name", None)
    entry = REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None:
        log.debug("no encoder for %r", name)
        return None
    fingerprint = getattr(generator, "fingerprint", None)
    if fingerprint != entry.fingerprint:
        log.info(
            "%s has fingerprint %s; its encoder was trained on %s, so it has none", name, fingerprint, entry.fingerprint
        )
        return None
    if not entry.path.is_file():
        log.info("%s: encoder weights %s are not there", name, entry.path)
        return None
    net, config = _load_cpu(entry)
    device = getattr(generator, "device", "cpu")
    dtype = getattr(generator, "dtype", torch.float32)
    return Encoder(copy.deepcopy(net), config, sha256=entry.sha256, device=device, dtype=dtype)


@functools.lru_cache(maxsize=8)
def _load_cpu(entry: EncoderEntry) -> tuple[EncoderNet, dict[str, Any]]:
    """The float32 network on the CPU and its config; read and checked once per file."""
    return load_encoder_file(entry.path, sha256=entry.sha256, model=entry.model, fingerprint=entry.fingerprint)


def load_encoder_file(
    path: str | Path,
    *,
    sha256: str | None,
    model: str | None = None,
    fingerprint: str | None = None,
) -> tuple[EncoderNet, dict[str, Any]]:
    """Read an encoder file: sha256 (when given), then the archive and the config, then
    keys, shapes and dtypes against the architecture the config describes (built on the
    meta device), then ``torch.load(weights_only=True)``; float16 is cast up to float32.

    ``model`` and ``fingerprint``, when given, must be what the file records.
    """
    from ..files._safe import open_regular
    from ..files._torchfile import check_state, inspect_checkpoint, load_checked

    path = Path(path)
    if sha256 is not None:
        with open_regular(path, "an encoder file", max_bytes=_MAX_FILE_BYTES) as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if got != sha256:
            raise FileFormatError(f"encoder file {path} has sha256 {got}; expected {sha256}")
    spec = inspect_checkpoint(path)
    if not isinstance(spec, dict) or set(spec) != {"state_dict", "config"} or not isinstance(spec["state_dict"], dict):
        raise FileFormatError(f"{path} is not {_LAYOUT}")
    config = check_config(path, spec["config"])
    for key, want in (("model", model), ("fingerprint", fingerprint)):
        if want is not None and config[key] != want:
            raise FileFormatError(f"{path} is an encoder for {key} {config[key]!r}; expected {want!r}")
    with torch.device("meta"):
        expected = build_net(config).state_dict()
    check_state(path, spec["state_dict"], expected, "an EncoderNet of its config")
    state = load_checked(path)["state_dict"]
    net = build_net(config)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net.eval(), config


def save_encoder_file(path: str | Path, net: EncoderNet, config: dict[str, Any]) -> str:
    """Write ``net`` in float16 with its ``config`` (atomically); returns the file's sha256."""
    from ..files._atomic import atomic_write, sha256_file

    config = check_config(path, dict(config))
    state = {
        k: v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().cpu()
        for k, v in net.state_dict().items()
    }
    atomic_write(path, lambda f: torch.save({"state_dict": state, "config": config}, f))
    return sha256_file(path)


def build_net(config: dict[str, Any]) -> EncoderNet:
    """The (untrained) network a checked config describes."""
    return EncoderNet(config["resolution"], config["channels"], (config["num_ws"], config["dim"]))


def check_config(path: str | Path, config: object) -> dict[str, Any]:
    """A plain copy of an encoder file's config, or :class:`FileFormatError` naming what is wrong."""

    def small_int(x: object, low: int, high: int) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and low <= x <= high

    if not isinstance(config, dict):
        raise FileFormatError(f"{path}: config is a {type(config).__name__}; expected a dict ({_LAYOUT})")
    problems = []
    for key in ("model", "fingerprint"):
        if not isinstance(config.get(key), str) or not 0 < len(config[key]) <= 200:
            problems.append(f"{key} should be a short string")
    if config.get("space") not in SPACES:
        problems.append(f"space should be one of {SPACES}, got {config.get('space')!r:.40}")
    if config.get("normalize") not in NORMALIZE:
        problems.append(f"normalize should be one of {NORMALIZE}, got {config.get('normalize')!r:.40}")
    channels = config.get("channels")
    if not isinstance(channels, (list, tuple)) or not 1 <= len(channels) <= 8:
        problems.append("channels should be a list of 1 to 8 ints")
    elif not all(small_int(c, 1, 2048) for c in channels):
        problems.append("channels should be ints in [1, 2048]")
    if not small_int(config.get("resolution"), 4, 1024):
        problems.append("resolution should be an int in [4, 1024]")
    elif not problems and config["resolution"] % 2 ** len(channels):  # type: ignore[arg-type]
        problems.append(f"resolution should be a multiple of 2**{len(channels)}")  # type: ignore[arg-type]
    if not small_int(config.get("num_ws"), 1, 64) or not small_int(config.get("dim"), 1, 4096):
        problems.append("num_ws should be an int in [1, 64] and dim in [1, 4096]")
    elif config.get("space") == "z" and config["num_ws"] != 1:
        problems.append("a z encoder has num_ws 1")
    if problems:
        raise FileFormatError(f"{path}: bad encoder config: {'; '.join(problems)}")
    return {**config, "channels": [int(c) for c in config["channels"]]}
