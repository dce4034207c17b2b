"""``semwidget.load``: a zoo name or a checkpoint file → a generator adapter."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from ..files._errors import FileFormatError
from ..generators import Generator, SingleInputGenerator, as_generator
from . import CATALOG, load_zoo

_LAYOUTS = (
    "a zoo name (semwidget.available())",
    "a torch.save file holding rosinality's {'g_ema': state_dict, 'latent_avg': tensor}",
    "a torch.save file holding a DCGAN state dict (keys main.N.weight, optionally under 'netG_state_dict')",
    "NVIDIA's network .pkl (StyleGAN2-ADA / StyleGAN3), only with trust_pickle=True",
)


class UntrustedPickleError(PermissionError):
    """Refused to unpickle a file the caller did not say they trust."""


def load(
    name_or_path: str | os.PathLike[str],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    weights: str | os.PathLike[str] | None = None,
    trust_pickle: bool = False,
) -> Generator:
    """Load a generator by zoo name or from a checkpoint file.

    Parameters
    ----------
    name_or_path : str or path
        A zoo name such as ``"digiface-dcgan"``, or a checkpoint file.
    device : "cpu", "cuda", ... ; default: the GPU when there is one.
    dtype : torch.float16 for half precision on a GPU; default float32.
    weights : path, optional
        For zoo names: a weight file you fetched yourself (still sha256-checked).
    trust_pickle : bool
        Unpickling runs code from the file. NVIDIA's ``.pkl`` networks are
        pickles, so they load only when you say you trust the file.
    """
    if isinstance(name_or_path, str) and name_or_path in CATALOG:
        return load_zoo(name_or_path, device=device, dtype=dtype, weights=weights)
    path = Path(name_or_path)
    if not path.exists() and isinstance(name_or_path, str) and not path.suffix and "/" not in name_or_path:
        return load_zoo(name_or_path)  # not a file, so a name: the zoo's error lists the known ones
    if not path.exists():
        expected = "\n".join(f"  - {x}" for x in _LAYOUTS)
        raise ValueError(f"{str(name_or_path)!r} is neither a zoo model nor an existing file; expected:\n{expected}")
    if path.suffix == ".pkl":
        generator = _load_pickle(path, device, dtype, trust_pickle)
    else:
        generator = _load_torch_file(path, device, dtype)
    generator.source = {"path": str(path.resolve()), "trust_pickle": bool(trust_pickle)}
    return generator


def _load_pickle(path: Path, device: Any, dtype: Any, trust: bool) -> Generator:
    if not trust:
        raise UntrustedPickleError(
            f"{path} is a pickle, and unpickling runs code stored in the file. Load it only if you trust "
            f"its source: semwidget.load({str(path)!r}, trust_pickle=True)"
        )
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)  # noqa: S301 -- the caller said they trust this file
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"{path} needs the module {exc.name!r} to unpickle; NVIDIA's pickles need their repository's "
            f"dnnlib and torch_utils on sys.path"
        ) from None
    net = data.get("G_ema", data.get("G")) if isinstance(data, dict) else data
    return as_generator(net, device=device, dtype=dtype)


def _load_torch_file(path: Path, device: Any, dtype: Any) -> Generator:
    from ..files._torchfile import inspect_checkpoint, load_checked
    from ._checkpoints import check_rosinality_spec, rosinality_from_checkpoint

    spec = inspect_checkpoint(path)  # nothing built yet: structure, shapes, dtypes
    if isinstance(spec, dict) and "g_ema" in spec:
        check_rosinality_spec(path, spec)
        return rosinality_from_checkpoint(path, load_checked(path), device=device, dtype=dtype)
    key = "netG_state_dict" if isinstance(spec, dict) and "netG_state_dict" in spec else None
    state = spec[key] if key else spec
    if isinstance(state, dict) and "main.0.weight" in state:
        _check_dcgan_spec(path, state)
        loaded = load_checked(path)
        return _dcgan_from_state(path, loaded[key] if key else loaded, device, dtype)
    keys = sorted(map(str, state))[:6] if isinstance(state, dict) else type(state).__name__
    expected = "\n".join(f"  - {x}" for x in _LAYOUTS[1:])
    raise FileFormatError(f"{path} holds no checkpoint layout semwidget knows (found {keys}); expected:\n{expected}")


def _check_dcgan_spec(path: Path, state: dict[str, Any]) -> None:
    from ..files._torchfile import TensorSpec, check_state
    from ..nets import DCGAN

    first = state["main.0.weight"]
    if not isinstance(first, TensorSpec) or first.ndim != 4 or first.shape[1] % 8 or 0 in first.shape[:2]:
        shape = tuple(first.shape) if isinstance(first, TensorSpec) else type(first).__name__
        raise FileFormatError(f"{path}: main.0.weight has shape {shape}; a DCGAN's is (z_dim, 8·ngf, 4, 4)")
    z_dim, ngf = int(first.shape[0]), int(first.shape[1]) // 8
    with torch.device("meta"):  # the architecture's shapes, nothing allocated
        expected = DCGAN(z_dim=z_dim, ngf=ngf).state_dict()
    check_state(path, state, expected, f"its layout (a DCGAN with z_dim {z_dim}, ngf {ngf})")


def _dcgan_from_state(path: Path, state: dict[str, torch.Tensor], device: Any, dtype: Any) -> Generator:
    from ..nets import DCGAN

    first = state["main.0.weight"]
    net = DCGAN(z_dim=first.shape[0], ngf=first.shape[1] // 8)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise FileFormatError(
            f"{path} looks like a DCGAN but does not match its layout: {str(exc).splitlines()[0]}"
        ) from None
    return SingleInputGenerator(net, name=path.stem, device=device, dtype=dtype)
