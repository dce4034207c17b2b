""" "Copy as code": the Python that reproduces what the Explorer shows."""

from __future__ import annotations

from ..zoo import CATALOG
from ._workspace import EditState, Workspace


def _number(x: float) -> str:
    return f"{x:.4g}"


def edit_code(ws: Workspace, state: EditState, seed: int, n_samples: int, columns: int) -> str:
    g = ws.generator
    lines = ["import semwidget", ""]
    if g.name in CATALOG:
        lines.append(f'G = semwidget.load("{g.name}")')
    else:
        lines.append(f"G = semwidget.as_generator(generator)  # the generator you gave Explorer ({g.name})")
    for b, source in enumerate(ws.sources):
        if source.recipe:
            lines.append(f"d{b} = {source.recipe}.fit(G).directions_")
        else:
            # No finder recreates these (given by the caller, or trained from labels): write them out.
            d = source.directions
            lines.append(
                f"d{b} = semwidget.Directions(vectors={d.vectors.tolist()!r}, scores={d.scores.tolist()!r}, "
                f"space={d.space!r}, labels={list(d.labels)!r}, method={d.method!r})"
            )
    lines += ["", f"latents = G.sample({n_samples}, seed={seed})"]
    for b, source in enumerate(ws.sources):
        d = source.directions
        for row in range(len(d)):
            i = source.start + row
            a, cols = state.alphas[i], state.layers[i]
            if a == 0 or not cols:
                continue
            args = [f"d{b}[{row}]", _number(a)]
            if d.sigmas is not None:
                args.append('scale="sigma"')
            if d.is_latent and len(cols) != g.num_ws:
                args.append(f"layers={[ws.columns[c].ws for c in cols]}")
            lines.append(f"latents = semwidget.edit(latents, {', '.join(args)})  # {d.labels[row]}")
    lines.append(f"semwidget.image_grid(G.synthesize(latents), ncols={columns})")
    return "\n".join(lines) + "\n"
