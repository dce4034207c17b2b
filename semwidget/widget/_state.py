"""The Explorer's one session state, and the pure changes to it.

Everything the user sees (seeds, directions and their order, α, active handles,
layers, the pad pair, names, notes, the attribute being labelled and the labels)
is one immutable :class:`Session`. Every change is a function ``Session → Session``
that validates its input first and returns a new value; :class:`History` holds the
current one and walks whole sessions on undo/redo. Anything derived (images,
heatmaps, traits on the page) is computed from a session and keyed by its
content (:meth:`Session.render_key`), never by ``id()`` of an object that may be
freed and reused.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..directions import Directions
from ..generators import Generator
from ..semantics._columns import Column, heatmap_columns
from ._factor import Factor

MAX_DIRECTIONS = 256  # directions in one session (the schema's index bounds)
MAX_EXTENTS = 100.0  # α beyond this many handle extents is refused: far outside any sensible edit
MAX_UNDO = 100
MAX_REALS = 16  # real images in one session (the schema's bounds on an "invert" request)
MAX_MOVES = 512  # per-cell moves (cells × factors): far more than a grid of 80 cells shows at once
_ROWS = 256  # direction id = block uid * _ROWS + row
_PROBE_SEED = 10_000_019  # samples that measure a handle's reach, apart from the grid's seeds

# Block uids are never reused in a process, so caches keyed by them cannot mistake one
# block for another (unlike id(), which CPython hands out again once an object is freed).
_uids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Block:
    """Directions added together (by the caller, a finder, training, a file), with the
    Python that recreates them and each handle's reach (3 σ, or 3 × the data's spread)."""

    uid: int
    directions: Directions
    recipe: str | None
    extents: tuple[float, ...]
    factor: Factor | None = None  # a continuous factor's one direction: α is its step g(t)

    def __eq__(self, other: object) -> bool:
        # Vectors are fixed per uid (a rename changes labels only), so this is content equality.
        return isinstance(other, Block) and (self.uid, self.directions.labels, self.recipe, self.extents) == (
            other.uid,
            other.directions.labels,
            other.recipe,
            other.extents,
        )

    def __hash__(self) -> int:
        return hash(self.uid)

    def id_of(self, row: int) -> int:
        return self.uid * _ROWS + row


@dataclass(frozen=True)
class Label:
    """One image the user labelled: its seed (-1 for a real image), ±1, and the exact
    latent code on screen (the sample with the edit applied), so a boundary trains on
    what was seen."""

    attribute: str
    seed: int
    value: int
    code: bytes  # float32 ws of one sample, shape (num_ws, w_dim), C order
    key: str  # a digest of ``code``: which edit of the seed this is

    @staticmethod
    def of(attribute: str, seed: int, value: int, ws: torch.Tensor) -> Label:
        code = code_bytes(ws)
        return Label(attribute, int(seed), int(value), code, code_key(code))

    def array(self, num_ws: int, w_dim: int) -> np.ndarray:
        return np.frombuffer(self.code, dtype=np.float32).reshape(num_ws, w_dim)


@dataclass(frozen=True, eq=False)
class RealCell:
    """An image the user brought, shown after the samples as its inverted latent: the
    code ``semwidget.invert`` found, how faithful it is, and (unless it was loaded from a
    file saved without photos) the image it was fitted to, at the model's resolution."""

    uid: int
    name: str
    code: bytes  # float32 ws, shape (num_ws, w_dim), C order
    psnr: float  # of the reconstruction against ``original``, in dB
    original: bytes | None  # PNG of the target image; None when not kept

    def __eq__(self, other: object) -> bool:
        # Code and photo are fixed per uid, so this is content equality.
        return isinstance(other, RealCell) and (self.uid, self.name) == (other.uid, other.name)

    def __hash__(self) -> int:
        return hash(self.uid)

    def array(self, num_ws: int, w_dim: int) -> np.ndarray:
        return np.frombuffer(self.code, dtype=np.float32).reshape(num_ws, w_dim)


@dataclass(frozen=True)
class Move:
    """One cell moved on its own along a factor direction ("only the cell under the mouse"):
    ``step`` is added to the direction's α for that cell, the sum clamped to the fitted
    range. ``cell`` names the image, not its place: ``"seed:N"`` or ``"real:UID"``."""

    cell: str
    direction: int  # the direction's id
    step: float


def new_real(name: str, ws: torch.Tensor, psnr: float, original: bytes | None) -> RealCell:
    if not math.isfinite(psnr):
        raise ValueError(f"a real image's PSNR must be finite; got {psnr!r}")
    return RealCell(next(_uids), str(name)[:200] or "image", code_bytes(ws), float(psnr), original)


def code_bytes(ws: torch.Tensor) -> bytes:
    """One sample's ws, (num_ws, w_dim), as float32 bytes."""
    return ws.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()


def code_key(code: bytes) -> str:
    return hashlib.blake2b(code, digest_size=8).hexdigest()


@dataclass(frozen=True)
class Session:
    """What the user sees. Immutable; ``version`` numbers it (not part of equality)."""

    seed: int
    n_samples: int
    base_columns: tuple[Column, ...]
    blocks: tuple[Block, ...] = ()
    alphas: tuple[float, ...] = ()
    active: tuple[int, ...] = ()
    layers: tuple[tuple[int, ...], ...] = ()  # per direction: column indices it is applied at
    pad: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    attribute: str = ""
    labels: tuple[Label, ...] = ()
    reals: tuple[RealCell, ...] = ()  # shown after the n_samples samples
    moves: tuple[Move, ...] = ()  # per-cell moves, sorted by (cell, direction)
    version: int = field(default=0, compare=False)

    # ---- derived -------------------------------------------------------------------

    @property
    def directions(self) -> list[tuple[Block, int]]:
        """One (block, row) per direction, in order."""
        return [(b, r) for b in self.blocks for r in range(len(b.directions))]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(b.id_of(r) for b, r in self.directions)

    @property
    def n_cells(self) -> int:
        """Grid cells: the samples, then the real images."""
        return self.n_samples + len(self.reals)

    def cell_key(self, cell: int) -> str:
        """What a cell shows, as per-cell moves name it: its seed, or its real image's uid."""
        if cell < self.n_samples:
            return f"seed:{self.seed + cell}"
        return f"real:{self.reals[cell - self.n_samples].uid}"

    def factor_at(self, index: int) -> Factor | None:
        return self.directions[index][0].factor

    def cell_seed(self, cell: int) -> int:
        """The seed of a sample's cell; -1 for a real image's (it has no seed)."""
        return self.seed + cell if cell < self.n_samples else -1

    @property
    def extents(self) -> tuple[float, ...]:
        return tuple(e for b in self.blocks for e in b.extents)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The heatmap's columns: the model's, then one per feature layer a channel direction lives at."""
        return heatmap_columns(self.base_columns, [b.directions for b in self.blocks])

    def render_key(self) -> tuple[object, ...]:
        """What the images depend on: seeds, real images, the directions' vectors, α and layers."""
        return (self.base_key(), tuple(b.uid for b in self.blocks), self.alphas, self.layers, self.moves)

    def base_key(self) -> tuple[object, ...]:
        """What the unedited latents depend on: the seeds and the real images."""
        return (self.seed, self.n_samples, tuple(r.uid for r in self.reals))

    def heatmap_key(self, attribute: str | None) -> tuple[object, ...]:
        return (self.seed, self.n_samples, tuple(b.uid for b in self.blocks), attribute)

    def applicable(self, index: int, column: int) -> bool:
        return self.columns[column].applies(self.directions[index][0].directions)

    def default_layers(self, index: int, num_ws: int) -> tuple[int, ...]:
        """Columns a direction starts at: its own layers, or its feature layer."""
        d = self.directions[index][0].directions
        if d.is_latent:
            chosen = range(num_ws) if d.layers is None else d.layers
            return tuple(j for j, c in enumerate(self.columns) if c.ws is not None and c.ws in chosen)
        return tuple(j for j, c in enumerate(self.columns) if c.feature == d.space)

    def label_of(self, seed: int, key: str) -> int:
        for label in self.labels:
            if label.attribute == self.attribute and label.seed == seed and label.key == key:
                return label.value
        return 0

    def label_counts(self) -> dict[str, list[int]]:
        counts: dict[str, list[int]] = {}
        for label in self.labels:
            counts.setdefault(label.attribute, [0, 0])[0 if label.value > 0 else 1] += 1
        return counts

    def describe(self) -> list[dict[str, object]]:
        rows = []
        for (b, r), extent, notes in zip(self.directions, self.extents, self.notes):
            d = b.directions
            rows.append(
                {
                    "id": b.id_of(r),
                    "label": d.labels[r],
                    "method": d.method,
                    "score": float(d.scores[r]),
                    "space": d.space,
                    "latent": d.is_latent,
                    "sigma": None if d.sigmas is None else float(d.sigmas[r]),
                    "extent": extent,
                    "notes": notes,
                    "warning": str(d.notes.get("warning", "")),
                    "factor": None if b.factor is None else b.factor.transform,
                    "steps": None if b.factor is None else list(b.factor.step_range),
                }
            )
        return rows

    def check(self) -> Session:
        """Raise ValueError naming what is wrong; returns self when consistent."""
        k = len(self.extents)
        if k > MAX_DIRECTIONS:
            raise ValueError(f"a session holds at most {MAX_DIRECTIONS} directions; this one would have {k}")
        for name, values in (("alphas", self.alphas), ("layer sets", self.layers), ("notes", self.notes)):
            if len(values) != k:
                raise ValueError(f"expected {k} {name} (one per direction); got {len(values)}")
        for i, (a, extent) in enumerate(zip(self.alphas, self.extents)):
            if not math.isfinite(a):
                raise ValueError(f"alpha for direction {i} must be a finite number; got {a!r}")
            if abs(a) > MAX_EXTENTS * extent:
                raise ValueError(f"alpha {a!r} for direction {i} is outside ±{MAX_EXTENTS * extent:.3g}")
            f = self.factor_at(i)
            if f is not None and not f.step_range[0] <= a <= f.step_range[1]:
                raise ValueError(f"alpha {a!r} for the {f.transform} factor is outside its fitted steps {f.step_range}")
        m = len(self.columns)
        for i, cols in enumerate(self.layers):
            bad = [c for c in cols if not (0 <= c < m and self.applicable(i, c))]
            if bad:
                raise ValueError(f"direction {i} cannot be applied at columns {bad}; the heatmap has {m} columns")
        if any(not 0 <= i < k for i in self.active) or len(set(self.active)) != len(self.active):
            raise ValueError(f"active directions must be distinct indices in [0, {k}); got {list(self.active)}")
        if self.pad and (len(self.pad) != 2 or self.pad[0] == self.pad[1] or any(not 0 <= i < k for i in self.pad)):
            raise ValueError(f"the pad needs two different direction indices in [0, {k}); got {list(self.pad)}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32); got {self.seed}")
        if len(self.reals) > MAX_REALS:
            raise ValueError(f"a session shows at most {MAX_REALS} real images; this one would have {len(self.reals)}")
        self._check_moves()
        return self

    def _check_moves(self) -> None:
        if len(self.moves) > MAX_MOVES:
            raise ValueError(f"a session holds at most {MAX_MOVES} per-cell moves; this one has {len(self.moves)}")
        keys = [(m.cell, m.direction) for m in self.moves]
        if keys != sorted(set(keys)):
            raise ValueError("per-cell moves must be distinct and sorted by (cell, direction)")
        index = {d: i for i, d in enumerate(self.ids)}
        for m in self.moves:
            i = index.get(m.direction)
            f = None if i is None else self.factor_at(i)
            if f is None or i not in self.active:
                raise ValueError(f"cell {m.cell} is moved along {m.direction}, which is no factor with a handle")
            lo, hi = f.step_range
            if not (math.isfinite(m.step) and abs(m.step) <= hi - lo):
                raise ValueError(f"a per-cell move of {m.step!r} is beyond the {f.transform} factor's steps")


# ---- blocks -----------------------------------------------------------------------------


def new_block(g: Generator, directions: Directions, recipe: str | None = None) -> Block:
    """A block for ``directions`` on ``g``: they must fit its spaces; their reach is measured."""
    if not isinstance(directions, Directions):
        raise TypeError(f"expected semwidget.Directions; got {type(directions).__name__}")
    if directions.is_latent:
        if directions.dim != g.w_dim:
            raise ValueError(f"directions of dimension {directions.dim} do not fit {g.name} (w_dim={g.w_dim})")
    elif directions.space not in g.feature_layers:
        raise ValueError(f"directions live at {directions.space!r}, which is not a feature layer of {g.name}")
    elif directions.dim != g.feature_layers[directions.space].channels:
        raise ValueError(
            f"{directions.space!r} has {g.feature_layers[directions.space].channels} channels, "
            f"the directions {directions.dim}"
        )
    if len(directions) > MAX_DIRECTIONS:
        raise ValueError(f"at most {MAX_DIRECTIONS} directions fit a session; got {len(directions)}")
    directions.check_model(g.fingerprint)
    extents = tuple(_extent(g, directions[i]) for i in range(len(directions)))
    return Block(next(_uids), directions, recipe or directions.notes.get("recipe"), extents)


def factor_block(g: Generator, directions: Directions, factor: Factor, recipe: str | None = None) -> Block:
    """A block for a continuous factor's one direction: α is the raw step g(t), and its
    handle reaches the larger end of the fitted steps."""
    if len(directions) != 1 or not directions.is_latent or directions.sigmas is not None:
        raise ValueError(
            f"a factor moves by raw steps along one latent direction; got {len(directions)} in "
            f"{directions.space!r}{' with σ' if directions.sigmas is not None else ''}"
        )
    if directions.dim != g.w_dim:
        raise ValueError(f"a factor of dimension {directions.dim} does not fit {g.name} (w_dim={g.w_dim})")
    directions.check_model(g.fingerprint)
    return Block(next(_uids), directions, recipe or directions.notes.get("recipe"), (factor.extent,), factor)


def _extent(g: Generator, d: Directions) -> float:
    """How far a handle reaches: 3 σ, or 3 × the spread of the data along the direction."""
    if d.sigmas is not None:
        return 3.0
    if d.is_latent:  # the data's spread along it: what with_measured_sigmas measures
        spread = float(d.with_measured_sigmas(g, n=256, seed=_PROBE_SEED).sigmas[0])  # type: ignore[index]
    else:
        v = torch.as_tensor(d.vectors[0], dtype=torch.float32)
        act = g.activations(g.sample(32, seed=_PROBE_SEED), d.space)
        spread = torch.einsum("nc...,c->n...", act.cpu(), v).std().item()
    return float(np.round(3.0 * max(spread, 1e-6), 3))


# ---- changes (each Session → Session, validated) ------------------------------------


def initial(seed: int, n_samples: int, columns: tuple[Column, ...], blocks: Sequence[Block], num_ws: int) -> Session:
    s = Session(seed=int(seed), n_samples=int(n_samples), base_columns=columns)
    for b in blocks:
        s = with_block(s, b, num_ws)
    return reset(s, num_ws)


def reset(s: Session, num_ws: int) -> Session:
    """α 0, the first three handles, each direction at its default layers; names, notes and
    labels stay."""
    k = len(s.extents)
    layers = tuple(s.default_layers(i, num_ws) for i in range(k))
    # Factors keep their handles: they show the amounts the content gestures set.
    active = tuple(i for i in range(k) if i < 3 or s.factor_at(i) is not None)
    return replace(s, alphas=(0.0,) * k, active=active, layers=layers, pad=(0, 1) if k >= 2 else (), moves=()).check()


def with_alphas(s: Session, alphas: Sequence[float], ids: Sequence[int] | None = None) -> Session:
    """α per direction; with ``ids``, for those directions only (unknown ids are ignored:
    the page asked before they went away)."""
    if ids is None:
        if len(alphas) != len(s.alphas):
            raise ValueError(f"expected {len(s.alphas)} alphas (one per direction); got {len(alphas)}")
        return replace(s, alphas=clamped_alphas(s, alphas)).check()
    if len(ids) != len(alphas):
        raise ValueError(f"render: {len(ids)} direction ids for {len(alphas)} alphas")
    wanted = dict(zip(ids, alphas))
    return replace(s, alphas=clamped_alphas(s, [wanted.get(i, a) for i, a in zip(s.ids, s.alphas)])).check()


def clamped_alphas(s: Session, alphas: Sequence[float]) -> tuple[float, ...]:
    """α as given, a factor's clamped to its fitted steps (its handle then shows "max")."""
    out = []
    for i, a in enumerate(alphas):
        f = s.factor_at(i)
        out.append(float(a) if f is None or not math.isfinite(a) else f.clamp(float(a)))
    return tuple(out)


def with_active(s: Session, active: Sequence[int]) -> Session:
    keep = set(active)
    if any(not 0 <= i < len(s.alphas) for i in keep):
        raise ValueError(f"active directions must be indices in [0, {len(s.alphas)}); got {list(active)}")
    # A direction without a handle does not act: its α returns to 0, its per-cell moves go.
    alphas = tuple(a if i in keep else 0.0 for i, a in enumerate(s.alphas))
    kept_ids = {s.ids[i] for i in keep}
    moves = tuple(m for m in s.moves if m.direction in kept_ids)
    return replace(s, alphas=alphas, active=tuple(sorted(keep)), moves=moves).check()


def with_layers(s: Session, direction: int, layers: Sequence[int]) -> Session:
    _index(s, direction)
    new = list(s.layers)
    new[direction] = tuple(sorted(set(layers)))
    return replace(s, layers=tuple(new)).check()


def with_pad(s: Session, pair: Sequence[int]) -> Session:
    return replace(s, pad=tuple(pair)).check()


def with_seed(s: Session, seed: int) -> Session:
    # Moves of cells no longer shown go (undo brings them back with their seeds).
    return _shown_moves(replace(s, seed=int(seed))).check()


def _shown_moves(s: Session) -> Session:
    shown = {s.cell_key(i) for i in range(s.n_cells)}
    return replace(s, moves=tuple(m for m in s.moves if m.cell in shown))


def with_block(s: Session, block: Block, num_ws: int) -> Session:
    """Append a block's directions: α 0, at their default layers."""
    old = len(s.alphas)
    grown = replace(s, blocks=s.blocks + (block,))
    if block.factor is not None:  # a factor comes with its handle
        grown = replace(grown, active=s.active + (old,))
    k = len(grown.extents)
    if k > MAX_DIRECTIONS:
        raise ValueError(f"a session holds at most {MAX_DIRECTIONS} directions; adding {k - old} would make {k}")
    layers = s.layers + tuple(grown.default_layers(i, num_ws) for i in range(old, k))
    return replace(
        grown, alphas=s.alphas + (0.0,) * (k - old), layers=layers, notes=s.notes + ("",) * (k - old)
    ).check()


def with_reals(s: Session, cells: Sequence[RealCell]) -> Session:
    """Real images added after those shown; more than MAX_REALS in all is refused."""
    return replace(s, reals=s.reals + tuple(cells)).check()


def without_real(s: Session, uid: int) -> Session:
    if all(r.uid != uid for r in s.reals):
        raise ValueError(f"no real image {uid} in this session")
    return _shown_moves(replace(s, reals=tuple(r for r in s.reals if r.uid != uid))).check()


def renamed(s: Session, direction: int, label: str) -> Session:
    label = label.strip()
    if not label:
        raise ValueError("a direction's name cannot be empty")
    block, row = s.directions[_index(s, direction)]
    blocks = tuple(replace(b, directions=b.directions.rename(row, label)) if b is block else b for b in s.blocks)
    return replace(s, blocks=blocks).check()


def noted(s: Session, direction: int, text: str) -> Session:
    notes = list(s.notes)
    notes[_index(s, direction)] = text
    return replace(s, notes=tuple(notes)).check()


def with_attribute(s: Session, name: str) -> Session:
    name = name.strip()
    if not name:
        raise ValueError("an attribute needs a name")
    return replace(s, attribute=name)


def labelled(s: Session, label: Label) -> Session:
    """Set (value ±1) or clear (0) the label of one latent for the current attribute."""
    if not s.attribute:
        raise ValueError("name the attribute before labelling cells")
    if label.value not in (1, -1, 0):
        raise ValueError(f"a label is 1, -1 or 0; got {label.value}")
    kept = tuple(
        x for x in s.labels if not (x.attribute == label.attribute and x.seed == label.seed and x.key == label.key)
    )
    return replace(s, labels=kept + ((label,) if label.value else ()))


def loaded(
    s: Session,
    blocks: Sequence[Block],
    layers: Sequence[Sequence[str]],
    notes: Sequence[str],
    labels: Sequence[Label],
    num_ws: int,
    reals: Sequence[RealCell] = (),
    moves: Sequence[tuple[str, int, float]] = (),
) -> Session:
    """Directions, layers (column names), notes, labels, real images and per-cell moves
    from a file; α back to 0; seeds kept. A move names its cell ``"seed:N"`` or
    ``"real:I"`` (the I-th real image) and its direction by index."""
    fresh = replace(
        s,
        blocks=(),
        alphas=(),
        active=(),
        layers=(),
        pad=(),
        notes=(),
        labels=tuple(labels),
        reals=tuple(reals),
        moves=(),
    )
    for b in blocks:
        fresh = with_block(fresh, b, num_ws)
    fresh = reset(fresh, num_ws)
    attribute = s.attribute
    if not any(x.attribute == attribute for x in labels) and labels:
        attribute = labels[0].attribute  # carry on labelling where the file left off
    names = [c.name for c in fresh.columns]
    unknown = sorted({n for cols in layers for n in cols if n not in names})
    if unknown:
        raise ValueError(f"layers {unknown} are not columns of this model; it has {names}")
    if len(layers) != len(fresh.alphas):
        raise ValueError(f"expected layers for each of the {len(fresh.alphas)} directions; got {len(layers)}")
    indices = tuple(tuple(sorted({names.index(n) for n in cols})) for cols in layers)
    return replace(
        fresh, layers=indices, notes=tuple(notes), attribute=attribute, moves=_file_moves(fresh, moves)
    ).check()


def _file_moves(s: Session, moves: Sequence[tuple[str, int, float]]) -> tuple[Move, ...]:
    """A file's moves as the session's: real images by their new uid, directions by id."""
    out = {}
    for cell, direction, step in moves:
        kind, _, number = cell.partition(":")
        if kind not in ("seed", "real") or not number.isdigit() or not 0 <= direction < len(s.alphas):
            raise ValueError(f"a per-cell move names cell {cell!r:.40} and direction {direction}; neither fits")
        if kind == "real":
            if int(number) >= len(s.reals):
                raise ValueError(f"a per-cell move names real image {number}; the file has {len(s.reals)}")
            cell = f"real:{s.reals[int(number)].uid}"
        out[(cell, s.ids[direction])] = Move(cell, s.ids[direction], float(step))
    return tuple(out[k] for k in sorted(out))


def _index(s: Session, direction: int) -> int:
    if not 0 <= direction < len(s.alphas):
        raise ValueError(f"direction must be an index in [0, {len(s.alphas)}); got {direction}")
    return direction


# ---- history ---------------------------------------------------------------------------


class History:
    """The current session, and whole sessions to undo to and redo.

    ``apply(change, commit=False)`` shows a state without making it undoable (a drag
    in progress); a committed change pushes the last committed state. Every new current
    state gets the next version number, undo and redo too. Not thread-safe by itself:
    the Explorer serializes changes under its lock.
    """

    def __init__(self, first: Session) -> None:
        self._version = 1
        self._now = replace(first.check(), version=1)
        self._committed = self._now
        self._undo: list[Session] = []
        self._redo: list[Session] = []

    @property
    def now(self) -> Session:
        return self._now

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or self._now != self._committed

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def apply(self, change: Callable[[Session], Session], *, commit: bool = True) -> Session:
        new = change(self._now).check()
        if commit:
            if new != self._committed:
                self._undo.append(self._committed)
                del self._undo[:-MAX_UNDO]
                self._redo.clear()
            self._committed = self._show(new)
        else:
            self._show(new)
        return self._now

    def undo(self) -> Session:
        if self._now != self._committed:  # a drag left without its final request: back to rest
            return self._restore(self._committed)
        if not self._undo:
            return self._now
        self._redo.append(self._committed)
        return self._restore(self._undo.pop())

    def redo(self) -> Session:
        if not self._redo:
            return self._now
        self._undo.append(self._committed)
        return self._restore(self._redo.pop())

    def _restore(self, state: Session) -> Session:
        self._committed = self._show(state)
        return self._now

    def _show(self, state: Session) -> Session:
        if state != self._now:
            self._version += 1
            self._now = replace(state, version=self._version)
        return self._now
