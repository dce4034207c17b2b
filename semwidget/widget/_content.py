"""Moving the content of an image: drags, Shift+drags and the wheel inside a cell.

A gesture drives continuous factors (:mod:`._factor`): a drag shifts (shift_x by the
drag's width fraction, shift_y by its height fraction), a turn rotates (degrees
counter-clockwise), the wheel zooms (a scale ratio). Each request carries the increment
since the previous one, so no request depends on a start the kernel may not have seen,
and requests apply in order. The increment moves t, never α: α = g(t) and t is clamped
to the fitted range, so a drag past the end stays at the end.

With ``scope="all"`` the factor's α moves (every cell follows, the handle too); with
``scope="cell"`` only the cell under the mouse moves, as a :class:`~._state.Move` in the
session (undone, redone and saved like everything else).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..generators._latents import Latents
from ._factor import GESTURES, gesture_update
from ._state import Move, Session


def moved(s: Session, gesture: str, amount: tuple[float, ...], cell: int, scope: str) -> Session:
    """``s`` with the content of ``cell`` (scope "cell") or of every cell (scope "all")
    moved by one gesture's increment."""
    if not 0 <= cell < s.n_cells:
        raise ValueError(f"cell must be in [0, {s.n_cells}); got {cell}")
    found = [(name, _factor_index(s, name)) for name in GESTURES[gesture]]
    driven = [(name, i) for name, i in found if i is not None]
    if not driven:
        names = " or ".join(GESTURES[gesture])
        raise ValueError(
            f"this gesture needs a fitted {names} factor: Explorer(G, factors=[semwidget.ContinuousFactor("
            f"{GESTURES[gesture][0]!r}).fit(G)]), explorer.add_factors({GESTURES[gesture][0]!r}), or the fit button"
        )
    for name, i in driven:
        s = _moved_one(s, i, name, amount, cell, scope)
    return s.check()


def _factor_index(s: Session, transform: str) -> int | None:
    """The factor a gesture drives: the first with a handle, else the first."""
    candidates = [i for i in range(len(s.alphas)) if (f := s.factor_at(i)) is not None and f.transform == transform]
    active = [i for i in candidates if i in s.active]
    chosen = active or candidates
    return chosen[0] if chosen else None


def _moved_one(s: Session, i: int, name: str, amount: tuple[float, ...], cell: int, scope: str) -> Session:
    f = s.factor_at(i)
    assert f is not None
    if i not in s.active:  # the gesture gives the factor its handle, which shows the amount
        s = replace(s, active=tuple(sorted((*s.active, i))))
    alpha = s.alphas[i]
    if scope == "all":
        step = f.step_of(gesture_update(name, f.t_of(alpha), amount))
        return replace(s, alphas=tuple(step if j == i else a for j, a in enumerate(s.alphas)))
    key, direction = s.cell_key(cell), s.ids[i]
    own = {(m.cell, m.direction): m for m in s.moves}
    before = own.pop((key, direction), None)
    total = f.clamp(alpha + (before.step if before else 0.0))
    offset = f.step_of(gesture_update(name, f.t_of(total), amount)) - alpha
    if abs(offset) > 1e-12:
        own[(key, direction)] = Move(key, direction, offset)
    return replace(s, moves=tuple(own[k] for k in sorted(own)))


def cell_steps(s: Session) -> dict[int, dict[int, float]]:
    """Per moved cell shown, per direction index: the step the cell is at (α plus its
    own move, clamped to the fitted range)."""
    where = {s.cell_key(c): c for c in range(s.n_cells)}
    index = {d: i for i, d in enumerate(s.ids)}
    out: dict[int, dict[int, float]] = {}
    for m in s.moves:
        c, i = where.get(m.cell), index.get(m.direction)
        f = None if i is None else s.factor_at(i)
        if c is not None and i is not None and f is not None:
            out.setdefault(c, {})[i] = f.clamp(s.alphas[i] + m.step)
    return out


def with_moves(latents: Latents, s: Session) -> Latents:
    """``latents`` (already edited by every α) with each moved cell's own extra step."""
    steps = cell_steps(s)
    if not steps:
        return latents
    ws = latents.ws.clone()
    columns = s.columns
    for c, by_direction in steps.items():
        for i, total in by_direction.items():
            block, row = s.directions[i]
            layers = [columns[j].ws for j in s.layers[i]]
            extra = total - s.alphas[i]
            if extra == 0 or not layers:
                continue
            # In float64 first, as semwidget.edit does: the same edit gives the same bits.
            delta = torch.as_tensor(extra * block.directions.vectors[row], dtype=ws.dtype, device=ws.device)
            ws[c, layers] += delta
    return latents.replace(ws=ws)


def frame_amounts(s: Session) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """What a frame says about the factors: per factor direction its amount in the
    transformation's units (the handle's text), and per moved cell the same for its own."""
    handles = []
    for i, (block, _row) in enumerate(s.directions):
        f = block.factor
        if f is not None:
            a = s.alphas[i]
            handles.append({"id": s.ids[i], "t": round(f.t_of(a), 6), "text": f.text(a)})
    cells = []
    for c, by_direction in sorted(cell_steps(s).items()):
        parts = []
        for i, total in sorted(by_direction.items()):
            f = s.factor_at(i)
            assert f is not None
            parts.append(f"{f.transform} {f.text(total)}")
        cells.append({"cell": c, "text": ", ".join(parts)})
    return handles, cells
