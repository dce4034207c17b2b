"""How another process rebuilds a generator or a scorer, without pickling a live model.

A generator travels as its source (a zoo name, or a checkpoint path and its sha256) and
its fingerprint; a scorer with weights as its ``recipe()`` (an importable factory and
plain keyword arguments, such as a weight path and its sha256); a scorer without weights
(brightness, a plain function) as a pickle, refused if it holds a torch module or is
large. A worker builds each once and checks the result has the identity it was sent
with (:class:`~semwidget.ModelMismatchError` otherwise), on its own device.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from dataclasses import dataclass
from typing import Any

import torch

from ..files._atomic import sha256_file
from ..files._errors import ModelMismatchError
from ..generators import Generator
from ..scorers import Scorer, ScorerSet

# A pickled scorer larger than this holds data a worker should load itself.
_MAX_PICKLE_BYTES = 8 << 20


class NotPortableError(TypeError):
    """A live object that workers cannot rebuild (a generator wrapped by hand, a scorer
    holding a model without a recipe)."""


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator as workers rebuild it: ``semwidget.load`` of a zoo name or a
    checkpoint (whose sha256 is checked first), then its fingerprint checked."""

    name: str
    fingerprint: str
    dtype: str
    zoo: str | None = None
    weights: str | None = None
    path: str | None = None
    sha256: str | None = None
    trust_pickle: bool = False

    @property
    def key(self) -> str:
        return f"generator:{self.fingerprint}:{self.dtype}"

    def build(self) -> Generator:
        from ..zoo import load_zoo
        from ..zoo._load import load

        dtype = getattr(torch, self.dtype)
        if self.zoo is not None:
            import os

            weights = self.weights if self.weights is not None and os.path.isfile(self.weights) else None
            generator = load_zoo(self.zoo, dtype=dtype, weights=weights)
        else:
            assert self.path is not None and self.sha256 is not None, "a spec names a zoo model or a file"
            digest = sha256_file(self.path)
            if digest != self.sha256:
                raise ModelMismatchError(
                    f"{self.path} has sha256 {digest} on this worker; the generator sent was loaded from a file "
                    f"with sha256 {self.sha256} (give the workers the same file)"
                )
            generator = load(self.path, dtype=dtype, trust_pickle=self.trust_pickle)
        if generator.fingerprint != self.fingerprint:
            raise ModelMismatchError(
                f"{self.zoo or self.path} loads as a generator with fingerprint {generator.fingerprint} on this "
                f"worker; the caller's {self.name} has fingerprint {self.fingerprint}"
            )
        return generator


def describe_generator(generator: Generator) -> GeneratorSpec:
    """The spec of a generator loaded by :func:`semwidget.load`; else :class:`NotPortableError`."""
    source = generator.source
    dtype = str(generator.dtype).removeprefix("torch.")
    if source and isinstance(source.get("zoo"), str):
        weights = source.get("weights")
        return GeneratorSpec(
            generator.name,
            generator.fingerprint,
            dtype,
            zoo=str(source["zoo"]),
            weights=None if weights is None else str(weights),
        )
    if source and isinstance(source.get("path"), str):
        path = str(source["path"])
        return GeneratorSpec(
            generator.name,
            generator.fingerprint,
            dtype,
            path=path,
            sha256=sha256_file(path),
            trust_pickle=bool(source.get("trust_pickle")),
        )
    raise NotPortableError(
        f"{generator.name} was not loaded by semwidget.load, so Dask workers cannot rebuild it (they load a "
        f"generator from a zoo name or a checkpoint file and its sha256, never from a pickle of the live model); "
        f"save its weights and load them with semwidget.load(path), or leave client= out to run in this process"
    )


@dataclass(frozen=True)
class ScorerSpec:
    """A scorer as workers rebuild it: from a recipe, from parts (a scorer set), or from a
    pickle of a scorer that holds no model."""

    identity: str
    names: tuple[str, ...]
    factory: str | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()
    parts: tuple[ScorerSpec, ...] = ()
    pickled: bytes | None = None

    @property
    def key(self) -> str:
        if self.pickled is not None:
            return f"scorer:{hashlib.sha256(self.pickled).hexdigest()}"
        return f"scorer:{self.factory}:{self.kwargs!r}:{[p.key for p in self.parts]}"

    def build(self) -> Scorer:
        if self.pickled is not None:
            import cloudpickle

            scorer = cloudpickle.loads(self.pickled)
        elif self.factory is None:
            scorer = ScorerSet([p.build() for p in self.parts])
        else:
            module, _, name = self.factory.partition(":")
            factory = importlib.import_module(module)
            for part in name.split("."):
                factory = getattr(factory, part)
            scorer = factory(**dict(self.kwargs))  # type: ignore[operator]
        if scorer.identity != self.identity or tuple(scorer.names) != self.names:
            raise ModelMismatchError(
                f"the scorer rebuilt on this worker is {scorer.identity} scoring {list(scorer.names)}; "
                f"the caller's is {self.identity} scoring {list(self.names)}"
            )
        return scorer


def describe_scorer(scorer: Scorer) -> ScorerSpec:
    """The spec of a scorer: its ``recipe()``, its parts, or its pickle; else :class:`NotPortableError`."""
    if type(scorer) is ScorerSet:
        parts = tuple(describe_scorer(s) for s in scorer.scorers)
        return ScorerSpec(scorer.identity, tuple(scorer.names), parts=parts)
    recipe = scorer.recipe()
    if recipe is not None:
        factory, kwargs = recipe
        return ScorerSpec(scorer.identity, tuple(scorer.names), factory=factory, kwargs=tuple(sorted(kwargs.items())))
    return ScorerSpec(scorer.identity, tuple(scorer.names), pickled=_pickle(scorer))


def _pickle(scorer: Scorer) -> bytes:
    import io

    import cloudpickle

    class Checked(cloudpickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, torch.nn.Module):
                raise NotPortableError(
                    f"{scorer!r} holds a torch module ({type(obj).__name__}) and has no recipe(), so Dask workers "
                    f"cannot rebuild it without pickling a live model; give its class a recipe() (see "
                    f"semwidget.scorers.Scorer.recipe), or leave client= out to run in this process"
                )
            return super().reducer_override(obj)

    buffer = io.BytesIO()
    try:
        Checked(buffer, protocol=5).dump(scorer)
    except NotPortableError:
        raise
    except Exception as exc:  # what an unpicklable attribute raises varies: TypeError, PicklingError, ...
        raise NotPortableError(
            f"{scorer!r} cannot be sent to Dask workers ({type(exc).__name__}: {str(exc)[:200]}); give its class a "
            f"recipe() (see semwidget.scorers.Scorer.recipe), or leave client= out to run in this process"
        ) from None
    if buffer.tell() > _MAX_PICKLE_BYTES:
        raise NotPortableError(
            f"{scorer!r} pickles to {buffer.tell() >> 20} MB, which a worker should load itself: give its class a "
            f"recipe() (see semwidget.scorers.Scorer.recipe)"
        )
    return buffer.getvalue()


# ---- on a worker: each generator and scorer built once per process ---------------------

_built: dict[str, Any] = {}
_building = threading.Lock()
_KEEP = 4  # a worker serving several calls keeps the last few models


def built(spec: GeneratorSpec | ScorerSpec) -> Any:
    """``spec.build()``, once per process (a worker's threads share it)."""
    with _building:
        if spec.key not in _built:
            while len(_built) >= _KEEP:
                _built.pop(next(iter(_built)))
            _built[spec.key] = spec.build()
        return _built[spec.key]


def prepare(spec: GeneratorSpec | ScorerSpec) -> str:
    """Build ``spec`` in this process ahead of its first shard (a Dask task sent to every
    worker: ``client.submit(prepare, spec, workers=[w])``); returns its key, not the model."""
    built(spec)
    return spec.key
