"""Checkpoint files of known layouts → our own modules wrapped in their adapters.

Only tensors (and the few plain objects allowed below) are unpickled:
``torch.load(..., weights_only=True)`` runs no code from the file.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch

from ..files._errors import FileFormatError
from ..files._torchfile import TensorSpec, check_state, inspect_checkpoint, load_checked
from ..generators._stylegan_rosinality import RosinalityStyleGAN
from ..nets._stylegan2 import StyleGAN2, stylegan2_channels

log = logging.getLogger(__name__)

_ROSINALITY_LAYOUT = (
    "rosinality's stylegan2-pytorch checkpoint: a dict with 'g_ema' (the generator state dict: "
    "style.N.weight, input.input, conv1.conv.weight, convs.N.conv.weight, to_rgbs.N.conv.weight, "
    "noises.noise_N) and optionally 'latent_avg'"
)
_REQUIRED = ("input.input", "conv1.conv.weight", "conv1.conv.modulation.weight", "to_rgb1.conv.weight")


def load_rosinality_checkpoint(
    path: str | os.PathLike[str],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> RosinalityStyleGAN:
    """Build our :class:`~semwidget.nets.StyleGAN2` from a rosinality checkpoint.

    The architecture (size, style_dim, n_mlp, channel_multiplier) is read off
    the state-dict shapes; the weights then load with ``strict=True``.

    Parameters
    ----------
    path : path
        A ``torch.save`` file holding ``{'g_ema': state_dict, 'latent_avg': Tensor}``
        (as written by rosinality's ``train.py`` or ``convert_weight.py``).
    device, dtype
        Where and in what precision the adapter runs.

    Raises
    ------
    ValueError
        The file is not a torch file, or holds another layout.
    """
    path = Path(path)
    return rosinality_from_checkpoint(path, read_checkpoint(path), device=device, dtype=dtype)


def read_checkpoint(path: Path) -> object:
    """A ``torch.save`` file's content, read only after its archive, sizes and (for
    the layouts we know) keys, shapes and dtypes were checked without building a tensor;
    :class:`~semwidget.FileFormatError` for anything else.

    The pickle runs no code (``weights_only=True``, after our own restricted pass over
    it), a storage may claim no more bytes than its record holds, and weights are finite.
    """
    if not path.is_file() and not path.is_symlink():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    spec = inspect_checkpoint(path)
    if isinstance(spec, dict) and "g_ema" in spec:
        check_rosinality_spec(path, spec)
    return load_checked(path)


def check_rosinality_spec(path: Path, spec: dict) -> None:
    """The architecture read off the shapes in ``spec['g_ema']``, built on the meta
    device (nothing allocated), must have exactly the file's keys, shapes and dtypes."""
    state = spec["g_ema"]
    if not isinstance(state, dict):
        raise FileFormatError(f"{path}: 'g_ema' should be a state dict; found {type(state).__name__}")
    if not all(isinstance(v, TensorSpec) for v in state.values()):
        raise FileFormatError(f"{path}: 'g_ema' should hold tensors only")
    with torch.device("meta"):
        net = _build(path, state)
    check_state(path, state, net.state_dict(), _ROSINALITY_LAYOUT)
    avg = spec.get("latent_avg")
    if avg is not None and (
        not isinstance(avg, TensorSpec)
        or tuple(avg.shape) not in ((net.style_dim,), (1, net.style_dim))
        or avg.dtype not in (torch.float32, torch.float16, torch.bfloat16)
    ):
        raise FileFormatError(f"{path}: 'latent_avg' should be floats of shape ({net.style_dim},) or (1, style_dim)")


def rosinality_from_checkpoint(
    path: Path,
    ckpt: object,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    name: str | None = None,
) -> RosinalityStyleGAN:
    """The adapter for an already-read rosinality checkpoint ``ckpt`` (from ``path``),
    called ``name`` (the file's stem by default)."""
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        found = f"a dict with keys {sorted(map(str, ckpt))[:8]}" if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(f"{path} is not {_ROSINALITY_LAYOUT}; found {found}")
    state = ckpt["g_ema"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: 'g_ema' should be a state dict; found {type(state).__name__}")

    net = _build(path, state)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match {_ROSINALITY_LAYOUT}: {exc}") from None
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise ValueError(
            f"{path}: 'latent_avg' should be a tensor of style_dim values; found {type(latent_avg).__name__}"
        )
    log.info("loaded %s: StyleGAN2 %dx%d, style_dim %d", path, net.size, net.size, net.style_dim)
    return RosinalityStyleGAN(net, latent_avg=latent_avg, name=name or path.stem, device=device, dtype=dtype)


def _build(path: Path, state: dict) -> StyleGAN2:
    """A StyleGAN2 whose parameter shapes are those in ``state``.

    ``lr_mlp`` does not show in the shapes; rosinality's default 0.01 (also what
    ``train.py`` and the converted official weights use) is assumed.
    """
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise ValueError(
            f"{path}: 'g_ema' lacks {missing}, so it is not {_ROSINALITY_LAYOUT}; "
            f"found keys {sorted(map(str, state))[:8]}"
        )
    mlp = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    n_rgbs = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
    style_dim = int(state["conv1.conv.modulation.weight"].shape[1])
    size = 2 ** (n_rgbs + 2)
    # Channels per resolution as stored: the constant, then each upsampling conv's outputs.
    found = {4: int(state["input.input"].shape[1])}
    for j in range(n_rgbs):
        weight = state.get(f"convs.{2 * j}.conv.weight")
        if weight is None or weight.ndim != 5:
            raise ValueError(f"{path}: 'g_ema' has to_rgbs.{j} but no convs.{2 * j}.conv.weight of 5 dims")
        found[2 ** (j + 3)] = int(weight.shape[1])
    # rosinality's table has one free parameter (channel_multiplier); our channel_max
    # cap covers smaller models. The first combination that reproduces the table wins.
    for channel_max in [None, *sorted(set(found.values()))]:
        for multiplier in (2, 1, 4, 3, 5, 6, 7, 8):
            if stylegan2_channels(size, multiplier, channel_max) == found:
                return StyleGAN2(size, style_dim, len(mlp), multiplier, channel_max=channel_max)
    raise ValueError(
        f"{path}: channels per resolution {found} fit no StyleGAN2 channel table "
        f"(512 up to 32x32, then 16384 / r * channel_multiplier)"
    )
