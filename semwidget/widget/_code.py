""" "Copy as code": the Python that reproduces what the Explorer shows.

Generated only from validated numbers and identifiers: a finder's recipe (which may come
from an annotations file) is parsed and written anew from its values, never pasted.
"""

from __future__ import annotations

import ast
import re

from ..directions import Directions
from ..generators import Generator
from ..zoo import CATALOG
from ._content import cell_steps
from ._state import Session

# The keyword arguments each finder's recipe may carry, and the type of each value.
_FINDERS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "SeFa": {"n_directions": int, "layers": list, "feature_layer": (str, type(None))},
    "GANSpace": {
        "n_directions": int,
        "n_samples": int,
        "random_state": int,
        "feature_layer": (str, type(None)),
        "output": str,
        "class_index": (int, type(None)),
    },
}
_NAME = re.compile(r"[A-Za-z_][\w.\-]{0,99}")  # layer names and options: main.8, b16.conv1, latent


def finder_call(recipe: str | None) -> str | None:
    """``semwidget.SeFa(...)`` / ``semwidget.GANSpace(...)`` rebuilt from ``recipe``'s values,
    or None when it is anything else (then the directions are written out instead)."""
    if not recipe or len(recipe) > 1000:
        return None
    try:
        call = ast.parse(recipe, mode="eval").body
    except SyntaxError:
        return None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "semwidget"
        and call.func.attr in _FINDERS
        and not call.args
    ):
        return None
    allowed = _FINDERS[call.func.attr]
    args = []
    for kw in call.keywords:
        if kw.arg not in allowed:
            return None
        try:
            value = ast.literal_eval(kw.value)
        except (ValueError, SyntaxError):
            return None
        if isinstance(value, bool) or not isinstance(value, allowed[kw.arg]):
            return None
        if isinstance(value, list) and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return None
        if isinstance(value, str) and not _NAME.fullmatch(value):
            return None
        args.append(f"{kw.arg}={value!r}")
    return f"semwidget.{call.func.attr}({', '.join(args)})"


def _number(x: float) -> str:
    return f"{x:.4g}"


def _recreate(d: Directions, call: str | None) -> str | None:
    """Python that recreates ``d`` from its finder's ``call``: with its σ measured again
    when they were, None when the finder alone would give other σ (then ``d`` is written out)."""
    if call is None:
        return None
    measured = d.notes.get("measured_sigmas")
    if isinstance(measured, dict) and all(isinstance(measured.get(k), int) for k in ("n", "seed")):
        return f"{call}.fit(G).directions_.with_measured_sigmas(G, n={measured['n']}, seed={measured['seed']})"
    if d.sigmas is not None and not call.startswith("semwidget.GANSpace("):
        return None
    return f"{call}.fit(G).directions_"


def _cell_moves(g: Generator, s: Session) -> list[str]:
    """The samples moved on their own along a factor, each edited alone (real images are
    not in this code: they have no seed)."""
    where: dict[int, tuple[int, int, Directions]] = {}
    for b, block in enumerate(s.blocks):
        for row in range(len(block.directions)):
            where[len(where)] = (b, row, block.directions)
    moved = {c: steps for c, steps in cell_steps(s).items() if c < s.n_samples}
    if not moved:
        return []
    lines = ["# cells moved on their own along a factor", f"cells = [latents[i] for i in range({s.n_samples})]"]
    for c, steps in sorted(moved.items()):
        for i, total in sorted(steps.items()):
            b, row, d = where[i]
            cols = s.layers[i]
            extra = total - s.alphas[i]
            if extra == 0 or not cols:
                continue
            args = [f"cells[{c}]", f"d{b}[{row}]", _number(extra)]
            if len(cols) != g.num_ws:
                args.append(f"layers={[s.columns[j].ws for j in cols]}")
            lines.append(f"cells[{c}] = semwidget.edit({', '.join(args)})  # {d.labels[row]!r}, seed {s.seed + c}")
    lines.append("latents = semwidget.Latents.concat(cells)")
    return lines


def edit_code(g: Generator, s: Session, columns: int) -> str:
    lines = ["import semwidget", ""]
    if g.name in CATALOG:
        lines.append(f'G = semwidget.load("{g.name}")')
    else:
        lines.append(f"G = semwidget.as_generator(generator)  # the generator you gave Explorer, {g.name!r}")
    for b, block in enumerate(s.blocks):
        call = _recreate(block.directions, finder_call(block.recipe))
        if call:
            lines.append(f"d{b} = {call}")
        else:
            # No finder recreates these (given by the caller, or trained from labels): write them out.
            d = block.directions
            sigmas = "" if d.sigmas is None else f", sigmas={d.sigmas.tolist()!r}"
            lines.append(
                f"d{b} = semwidget.Directions(vectors={d.vectors.tolist()!r}, scores={d.scores.tolist()!r}, "
                f"space={d.space!r}, labels={list(d.labels)!r}, method={d.method!r}{sigmas})"
            )
    lines += ["", f"latents = G.sample({s.n_samples}, seed={s.seed})"]
    i = 0
    for b, block in enumerate(s.blocks):
        d = block.directions
        for row in range(len(d)):
            a, cols = s.alphas[i], s.layers[i]
            i += 1
            if a == 0 or not cols:
                continue
            args = [f"d{b}[{row}]", _number(a)]
            if d.sigmas is not None:
                args.append('scale="sigma"')
            if d.is_latent and len(cols) != g.num_ws:
                args.append(f"layers={[s.columns[c].ws for c in cols]}")
            lines.append(f"latents = semwidget.edit(latents, {', '.join(args)})  # {d.labels[row]!r}")
    lines += _cell_moves(g, s)
    lines.append(f"semwidget.image_grid(G.synthesize(latents), ncols={columns})")
    return "\n".join(lines) + "\n"
