"""Where the search starts: an encoder's guess, the mean w, seeded random draws, or
given latents (a warm start).

Every start comes back with a chain axis, shape (n, k, ...): one row per chain the
optimiser runs side by side for an image (``k > 1`` only for random starts, which keep
their best few candidates).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..generators._base import Generator
from ..generators._latents import Latents
from ._losses import LossFn
from ._space import is_style_based, prior_for

INITS = ("encoder", "mean", "random")
#: Random starts drawn per image for init="random"; the best by the loss are kept.
RANDOM_CANDIDATES = {"z": 64, "w": 1, "w+": 1}

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _encoder_for(g: Generator) -> Any:
    """The model's encoder, or None (no encoder module, or none for this model)."""
    try:
        from ._encoder import encoder_for  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return encoder_for(g)


def _warn_once(g: Generator, init: str, fallback: str) -> None:
    with _warned_lock:
        if g.fingerprint in _warned:
            return
        _warned.add(g.fingerprint)
    warnings.warn(
        f"invert: no encoder for {g.name}; starting from {fallback} instead "
        f"(pass init={init!r} to choose this and silence the warning)",
        stacklevel=4,
    )


def _random_start(
    g: Generator,
    space: str,
    gens: Sequence[torch.Generator],
    c: torch.Tensor | None,
    pick: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    candidates: int = 1,
    keep: int = 1,
) -> torch.Tensor:
    """Seeded random starts, shape (n, keep, ...): z (or its mapped w). With
    ``candidates > 1``, each image draws that many and keeps the ``keep`` that ``pick``
    scores lowest, best first (forward passes only, a third of a step each); the
    first draw alone is the plain random start."""
    z = torch.stack([torch.randn(candidates, g.z_dim, generator=gen) for gen in gens]).to(g.device, g.dtype)
    n = len(gens)
    if candidates > 1 and pick is not None:
        with torch.no_grad():
            flat = z.reshape(n * candidates, g.z_dim)
            cc = None if c is None else c.repeat_interleave(candidates, 0)
            ws = g.map(flat, cc, None)
            losses = torch.cat(
                [
                    pick(g.render(ws[i : i + 256], None if cc is None else cc[i : i + 256]), i)
                    for i in range(0, len(ws), 256)
                ]
            )
        best = losses.view(n, candidates).argsort(dim=1, stable=True)[:, :keep]
        z = z[torch.arange(n)[:, None], best]
    else:
        z = z[:, :keep]
    if space == "z":
        return z.float()
    with torch.inference_mode():
        cc = None if c is None else c.repeat_interleave(z.shape[1], 0)
        ws = g.map(z.flatten(0, 1), cc, None).float().unflatten(0, z.shape[:2])
    return ws[:, :, 0] if space == "w" else ws


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


def resolve(g: Generator, space: str, init: object, n: int) -> str:
    """What ``init`` starts from, decided once per call (in the calling process):
    ``"encoder"`` (the model has one that fits ``space``), ``"mean"``, ``"random"`` or
    ``"latents"`` (given latents, checked against the model and the images). Without an
    encoder, "encoder" falls back to the mean w (style models) or a random z, with a
    warning once per model."""
    if isinstance(init, Latents):
        if init.model and init.model != g.fingerprint:
            raise ValueError(f"init latents belong to model {init.model}, not {g.name} ({g.fingerprint})")
        if len(init) != n:
            raise ValueError(f"init has {len(init)} latents for {n} images; expected one per image")
        g.check_latents(init.replace(offsets={}))
        return "latents"
    if init not in INITS:
        raise ValueError(f"init must be one of {list(INITS)} or semwidget.Latents (a warm start); got {init!r}")
    if init == "encoder":
        encoder = _encoder_for(g)
        if encoder is not None and not (encoder.space == "w+" and space == "z"):
            return "encoder"
        init = "mean" if is_style_based(g) else "random"
        _warn_once(g, init, "the mean w" if init == "mean" else "a seeded random z on the sphere")
    if init == "mean" and space == "z":
        raise ValueError(f"init='mean' needs a w space; {g.name} is inverted in z: use init='random' or 'encoder'")
    return str(init)


def start(
    g: Generator,
    space: str,
    init: object,
    targets: torch.Tensor,
    c: torch.Tensor | None,
    gens: Sequence[torch.Generator],
    loss_fn: LossFn,
    mask: torch.Tensor | None,
    chains: int = 1,
) -> torch.Tensor:
    """The initial values in ``space`` for each image, shape (n, k, ...) with one row per
    chain (``k = chains`` for a random start, else 1). ``init`` is what :func:`resolve`
    decided (given latents themselves for ``"latents"``)."""
    if isinstance(init, Latents):
        if len(init) != len(targets):
            raise ValueError(f"init has {len(init)} latents for {len(targets)} images; expected one per image")
        return _from_codes(g, space, init.ws, "ws", c)[:, None]
    if init == "encoder":
        encoder = _encoder_for(g)
        if encoder is None:  # a Dask worker without the encoder file the caller has
            raise FileNotFoundError(
                f"no encoder for {g.name} in this process, while the calling one has it: give every worker the "
                f"encoder weights (pip install the same semwidget), or invert with init='mean' or 'random'"
            )
        with torch.no_grad():
            guess = encoder.predict(targets.to(g.device))
        return _from_codes(g, space, guess, encoder.space, c)[:, None]
    if init == "mean":
        mean = prior_for(g, space).mean.to(g.device).float()
        shape = (len(targets), g.num_ws, g.w_dim) if space == "w+" else (len(targets), g.w_dim)
        return mean.expand(shape).clone()[:, None]
    if init != "random":
        raise ValueError(f"start() takes what resolve() decided; got {init!r}")
    candidates = RANDOM_CANDIDATES[space]

    def pick(images: torch.Tensor, offset: int) -> torch.Tensor:
        idx = torch.arange(offset, offset + len(images), device=targets.device) // candidates
        return loss_fn(images.float(), targets[idx], None if mask is None else mask[idx], 0.0)

    return _random_start(g, space, gens, c, pick, candidates, min(chains, candidates))
