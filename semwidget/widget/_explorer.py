"""``semwidget.Explorer``: the image grid, direction handles, 2-D pad and layer heatmap.

The kernel side of the widget. Requests from the front end are validated
(:mod:`._protocol`), recorded, and handed to a background worker
(:mod:`._worker`) so the notebook never freezes and the newest render wins.
All maths goes through :class:`._workspace.Workspace`, i.e. the public API.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import anywidget
import torch
import traitlets as t

from .._progress import report_to
from .._rescore import rescore
from ..directions import Directions, GANSpace, SeFa
from ..generators import Generator, as_generator
from ..scorers import Scorer, as_scorer
from . import _frames
from ._annotating import AnnotationRequests
from ._code import edit_code
from ._protocol import REQUESTS, ProtocolError, parse_request, request_id
from ._routing import deliver_where_addressed
from ._worker import Worker
from ._workspace import EditState, Workspace, replace_at

log = logging.getLogger(__name__)

_STATIC = Path(__file__).resolve().parent.parent / "static"
_UNBUILT = """export default { render({ el }) { el.textContent =
  "semwidget's front end is not built: run `npm install && npm run build` in the semwidget checkout."; } };"""
_MAX_CELL = 256  # larger generators are shown downscaled; exports keep full size
_MAX_COLUMNS = 8


def _static(name: str, fallback: str = "") -> str:
    path = _STATIC / name
    return path.read_text() if path.is_file() else fallback


class Explorer(AnnotationRequests, anywidget.AnyWidget):
    """Explore directions of a generator in a live grid.

    Parameters
    ----------
    generator : Generator or nn.Module
        Anything :func:`semwidget.as_generator` accepts.
    directions : Directions or list of Directions, optional
        The directions to explore (latent ones, and channel-space ones at
        feature layers); default: SeFa's top 5.
    n_samples : int
        Grid cells, one seed each.
    seed : int
        First seed; cell ``i`` shows seed ``seed + i``.
    columns : int, optional
        Grid columns; default ⌈√n_samples⌉.
    scorers : Scorer, callable or list of them, optional
        Attribute scorers; the heatmap can then show HiGAN's re-scoring Δ of any
        of their attributes instead of the mean image change.
    annotations_dir : str or Path
        The one folder the widget's save and load buttons use (``<name>.json`` +
        ``.npz`` inside it); the page names a file there and can reach nothing else.
        ``save_annotations(path)`` from Python writes wherever you say.
    """

    _esm = _static("widget.js", _UNBUILT)
    _css = _static("widget.css")

    directions = t.List(t.Dict()).tag(sync=True)
    alphas = t.List(t.Float()).tag(sync=True)
    active = t.List(t.Int()).tag(sync=True)
    layers = t.List(t.List(t.Int())).tag(sync=True)
    pad = t.List(t.Int()).tag(sync=True)
    seed = t.Int(0).tag(sync=True)
    n_samples = t.Int(9).tag(sync=True)
    columns = t.Int(3).tag(sync=True)
    resolution = t.Int(64).tag(sync=True)
    heatmap = t.Dict().tag(sync=True)
    feature_layers = t.List(t.Unicode()).tag(sync=True)
    render_seq = t.Int(0).tag(sync=True)
    frame_checksum = t.Int(0).tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    progress = t.Dict().tag(sync=True)
    can_undo = t.Bool(False).tag(sync=True)
    can_redo = t.Bool(False).tag(sync=True)
    attribute = t.Unicode("").tag(sync=True)
    cell_labels = t.List(t.Int()).tag(sync=True)
    label_counts = t.Dict().tag(sync=True)
    attributes = t.List(t.Unicode()).tag(sync=True)
    annotations_path = t.Unicode("").tag(sync=True)
    comm_id = t.Unicode("").tag(sync=True)

    def __init__(
        self,
        generator: Any,
        directions: Directions | list[Directions] | None = None,
        *,
        n_samples: int = 9,
        seed: int = 0,
        columns: int | None = None,
        scorers: Any = None,
        annotations_dir: str | Path = "semwidget-annotations",
        **kwargs: Any,
    ) -> None:
        if kwargs:  # fail loudly on typos rather than pass them to ipywidgets
            raise TypeError(f"Explorer got unexpected keyword arguments {sorted(kwargs)}")
        if not isinstance(n_samples, int) or not 1 <= n_samples <= 64:
            raise ValueError(f"n_samples must be an int in [1, 64]; got {n_samples!r}")
        g: Generator = as_generator(generator)
        # Messages leave from the comm handler's thread and the worker's: one at a time.
        self._send_lock = threading.Lock()
        self.annotations_dir = Path(annotations_dir).absolute()
        self.workspace = Workspace(g)
        if directions is None:
            directions = SeFa(n_directions=min(5, g.w_dim)).fit(g).directions_
        blocks = [directions] if isinstance(directions, Directions) else list(directions)
        if not blocks or not all(isinstance(d, Directions) for d in blocks):
            raise TypeError(f"directions must be semwidget.Directions or a list of them; got {directions!r:.80}")
        for block in blocks:
            self.workspace.add(block)
        ncols = columns or max(1, round(n_samples**0.5 + 0.499))
        super().__init__(
            n_samples=n_samples,
            seed=int(seed),
            columns=int(ncols),
            resolution=min(g.img_resolution, _MAX_CELL),
            feature_layers=sorted(g.feature_layers),
        )
        self._scorer: Scorer | None = None if scorers is None else as_scorer(scorers)
        self.attributes = list(self._scorer.names) if self._scorer else []
        self._labels: dict[str, dict[int, int]] = {}
        self.comm_id = self.model_id
        deliver_where_addressed(self.comm)
        self._lock = threading.RLock()
        self._base = g.sample(n_samples, seed=seed)
        self._state = self._initial_state()
        self._undo: list[EditState] = []
        self._redo: list[EditState] = []
        self.last_frame: _frames.Frame | None = None
        # The newest seq seen from the page or given out here: every frame's seq is above it,
        # so the page draws the newest kernel state even when a cell changes it too.
        self._seq = 0
        self._base_version = 0  # bumped with every new set of seeds; keys the image cache
        self._last_images: tuple[tuple[int, EditState], torch.Tensor] | None = None
        self._publish_directions()
        self._publish_state()
        self._publish_labels()
        self._worker = Worker(self._render, self._report)
        self.on_msg(self._on_msg)
        self._worker.request_render((0, self._state, True))
        self._worker.submit(self._compute_heatmap, key="heatmap")

    @t.validate("columns")
    def _columns_in_range(self, proposal: Any) -> int:
        if not 1 <= proposal.value <= _MAX_COLUMNS:
            raise t.TraitError(f"columns must be in [1, {_MAX_COLUMNS}]; got {proposal.value}")
        return int(proposal.value)

    @t.validate("resolution")
    def _resolution_in_range(self, proposal: Any) -> int:
        # Cells are drawn at most twice the generator's size: no 6000-pixel sprites from the page.
        top = 2 * self.workspace.generator.img_resolution if hasattr(self, "workspace") else _MAX_CELL
        if not 8 <= proposal.value <= top:
            raise t.TraitError(f"resolution must be in [8, {top}] pixels; got {proposal.value}")
        return int(proposal.value)

    @t.validate("n_samples")
    def _n_samples_fixed(self, proposal: Any) -> int:
        # The grid's samples are drawn once for this count: it is set by the constructor only.
        if getattr(self, "_base", None) is not None and proposal.value != len(self._base):
            raise t.TraitError(f"n_samples is fixed at {len(self._base)} for this Explorer; got {proposal.value}")
        if not 1 <= proposal.value <= 64:
            raise t.TraitError(f"n_samples must be in [1, 64]; got {proposal.value}")
        return int(proposal.value)

    @t.validate("comm_id")
    def _comm_id_is_this_widgets(self, proposal: Any) -> str:
        # Synced so the page can find its comm; a page writing another id is refused.
        if proposal.value != self.model_id:
            raise t.TraitError(f"comm_id is this widget's comm id {self.model_id!r}; got {proposal.value!r:.60}")
        return str(proposal.value)

    # ---- public API ------------------------------------------------------------------

    @property
    def generator(self) -> Generator:
        return self.workspace.generator

    @property
    def direction_blocks(self) -> list[Directions]:
        """The directions shown, as the Directions blocks they were added in (row i of
        the widget is row i of these, concatenated)."""
        with self._lock:
            return [s.directions for s in self.workspace.sources]

    @property
    def stats(self) -> dict[str, Any]:
        """Render counts and timings: requested, rendered, dropped, max_pending, render_ms_median."""
        return self._worker.stats.as_dict()

    def handle(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Process one request as if it came from the front end (what the comm handler calls).

        From Python, a request that changes the image may leave out ``seq``: its frame is
        numbered after everything the page has asked for, so the page shows it.
        """
        if isinstance(content, dict) and "seq" in REQUESTS.get(content.get("kind"), {}):  # type: ignore[arg-type]
            content = {"seq": 0, **content}
        self._on_msg(self, content, buffers or [])

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every request so far has been handled."""
        return self._worker.wait_idle(timeout)

    def latents(self) -> Any:
        """The latents on screen: the grid's samples with the current edit applied."""
        with self._lock:
            return self.workspace.edited(self._base, self._state)

    def images(self) -> torch.Tensor:
        """The images on screen, float in [-1, 1], shape (n_samples, 3, H, W)."""
        return self.generator.synthesize(self.latents())

    def render_once(self, final: bool = True) -> _frames.Frame:
        """Render and encode the current grid in this thread (what each frame costs)."""
        return _frames.sprite(self.images(), self.columns, self.resolution, final)

    def code(self) -> str:
        """Python that reproduces the current edit."""
        with self._lock:
            return edit_code(self.workspace, self._state, self.seed, self.n_samples, self.columns)

    def close(self) -> None:
        worker = getattr(self, "_worker", None)  # absent when the constructor failed
        if worker is not None:
            worker.close()
        super().close()

    # ---- requests ----------------------------------------------------------------------

    def _send(self, msg: Any, buffers: Any = None) -> None:
        # ipywidgets' one way out, for trait updates and custom messages alike.
        with self._send_lock:
            super()._send(msg, buffers)

    def _on_msg(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        rid = request_id(content)
        if rid is not None:  # before any work: the page knows at once that we heard it
            self.send({"kind": "ack", "rid": rid})
        try:
            kind, fields = parse_request(content)
            getattr(self, f"_on_{kind}")(**fields)
        except Exception as exc:  # noqa: BLE001 -- shown in the widget, which keeps working
            seq = content.get("seq") if isinstance(content, dict) else None
            self._report(exc, (seq, None, None) if isinstance(seq, int) else None)

    def _on_render(self, seq: int, alphas: list[float], final: bool) -> None:
        with self._lock:
            state = EditState(tuple(float(a) for a in alphas), *self._state_rest())
            self.workspace.check_state(state)
            if final:
                self._commit(state)
            else:
                self._state = state
            self._request_render(seq, state, final)

    def _on_set_active(self, seq: int, active: list[int]) -> None:
        k = len(self.workspace.extents)
        if any(not 0 <= i < k for i in active):
            raise ProtocolError(f"active directions must be indices in [0, {k}); got {active}")
        with self._lock:
            keep = set(active)
            # A direction without a handle does not act: its α returns to 0.
            alphas = tuple(a if i in keep else 0.0 for i, a in enumerate(self._state.alphas))
            self._commit(EditState(alphas, tuple(sorted(keep)), self._state.layers, self._state.pad))
        self._rerender(seq)

    def _on_set_layers(self, seq: int, direction: int, layers: list[int]) -> None:
        k = len(self.workspace.extents)
        if not 0 <= direction < k:
            raise ProtocolError(f"direction must be an index in [0, {k}); got {direction}")
        with self._lock:
            new = replace_at(self._state.layers, direction, tuple(sorted(set(layers))))
            state = EditState(self._state.alphas, self._state.active, new, self._state.pad)  # type: ignore[arg-type]
            self.workspace.check_state(state)
            self._commit(state)
        self._rerender(seq)

    def _on_set_pad(self, pair: list[int]) -> None:
        k = len(self.workspace.extents)
        if len(pair) != 2 or pair[0] == pair[1] or any(not 0 <= i < k for i in pair):
            raise ProtocolError(f"pad needs two different direction indices in [0, {k}); got {pair}")
        with self._lock:
            self._commit(EditState(self._state.alphas, self._state.active, self._state.layers, tuple(pair)))

    def _on_new_seeds(self, seq: int, seed: int | None) -> None:
        with self._lock:
            first = self.seed + self.n_samples if seed is None else seed
            self._base = self.generator.sample(self.n_samples, seed=first)
            self._base_version += 1
            self.seed = first
            self._publish_labels()
        self._rerender(seq)
        self._worker.submit(self._compute_heatmap, key="heatmap")

    def _on_undo(self, seq: int) -> None:
        self._step(self._undo, self._redo)
        self._rerender(seq)

    def _on_redo(self, seq: int) -> None:
        self._step(self._redo, self._undo)
        self._rerender(seq)

    def _on_reset(self, seq: int) -> None:
        with self._lock:
            self._commit(self._initial_state())
        self._rerender(seq)

    def _on_compute(self, method: str, n_directions: int, feature_layer: str | None) -> None:
        finders = {"sefa": SeFa, "ganspace": GANSpace}
        if method not in finders:
            raise ProtocolError(f"method must be one of {sorted(finders)}; got {method!r}")
        if not 1 <= n_directions <= 64:
            raise ProtocolError(f"compute needs n_directions in [1, 64]; got {n_directions}")
        kwargs: dict[str, Any] = {"n_directions": n_directions, "feature_layer": feature_layer}
        if method == "ganspace":
            kwargs.update(n_samples=20_000, output="channels" if feature_layer else "latent")
        finder = finders[method](**kwargs)
        self._worker.submit(lambda: self._add_directions(finder))

    def _on_heatmap(self, attribute: str | None) -> None:
        if attribute is not None and attribute not in self.attributes:
            raise ProtocolError(f"attribute must be one of the scorers' {self.attributes}; got {attribute!r}")
        self._worker.submit(lambda: self._compute_heatmap(attribute), key="heatmap")

    def _on_export_png(self) -> None:
        def job() -> None:
            data = _frames.png_grid(self.images(), self.columns)
            self.send({"kind": "file", "name": f"semwidget-seed{self.seed}.png", "mime": "image/png"}, [data])

        self._worker.submit(job)

    def _on_export_gif(self, direction: int, frames: int, extent: float) -> None:
        k = len(self.workspace.extents)
        if not 0 <= direction < k or not 2 <= frames <= 120:
            raise ProtocolError(f"export_gif needs a direction in [0, {k}) and 2..120 frames")

        def job() -> None:
            with self._lock:
                base, state = self._base, self._state
            # The traversal moves one direction across its range, at its chosen
            # layers (or its default ones if it is switched off), others as they are.
            cols = state.layers[direction] or self.workspace.default_layers(direction)
            layers = replace_at(state.layers, direction, cols)
            images = []
            for f in range(frames):
                a = -extent + 2 * extent * f / (frames - 1)
                s = EditState(replace_at(state.alphas, direction, a), state.active, layers, state.pad)  # type: ignore[arg-type]
                self.workspace.check_state(s)
                images.append(self.generator.synthesize(self.workspace.edited(base, s)))
                self.progress = {"label": "GIF", "value": f + 1, "total": frames}
            self.progress = {}
            data = _frames.gif(images, self.columns)
            name = f"semwidget-direction{direction}.gif"
            self.send({"kind": "file", "name": name, "mime": "image/gif"}, [data])

        self._worker.submit(job)

    def _on_copy_code(self) -> None:
        self.send({"kind": "code", "text": self.code()})

    # ---- state ------------------------------------------------------------------------

    def _initial_state(self) -> EditState:
        k = len(self.workspace.extents)
        layers = tuple(self.workspace.default_layers(i) for i in range(k))
        return EditState((0.0,) * k, tuple(range(min(k, 3))), layers, (0, 1) if k >= 2 else ())

    def _state_rest(self) -> tuple[Any, ...]:
        return (self._state.active, self._state.layers, self._state.pad)

    def _commit(self, state: EditState) -> None:
        """Make ``state`` current and undoable (lock held)."""
        if state != self._state or not self._undo or self._undo[-1] != self._state:
            self._undo.append(self._state)
            del self._undo[:-100]
        self._redo.clear()
        self._state = state
        self._publish_state()

    def _step(self, source: list[EditState], target: list[EditState]) -> None:
        with self._lock:
            if not source:
                return
            target.append(self._state)
            self._state = source.pop()
            self._publish_state()

    def _publish_state(self) -> None:
        s = self._state
        with self.hold_sync():
            self.alphas = list(s.alphas)
            self.active = list(s.active)
            self.layers = [list(c) for c in s.layers]
            self.pad = list(s.pad)
            self.can_undo = bool(self._undo)
            self.can_redo = bool(self._redo)

    def _publish_directions(self) -> None:
        self.directions = self.workspace.describe()

    def _rerender(self, seq: int) -> None:
        """A final render of the current state, answering the request numbered ``seq``."""
        with self._lock:
            self._request_render(seq, self._state, True)

    def _request_render(self, seq: int, state: EditState, final: bool) -> None:
        """Queue a render of ``state`` (lock held, so stamps follow the order of changes).

        Its frame gets ``seq``, or the next number after the newest given out when a
        change made elsewhere (a cell, the other thread) already took a higher one.
        """
        self._seq = max(seq, self._seq + 1)
        self._worker.request_render((self._seq, state, final))

    # ---- worker side ------------------------------------------------------------------

    def _render(self, request: tuple[int, EditState, bool]) -> None:
        seq, state, final = request
        timer = threading.Timer(0.15, lambda: setattr(self, "busy", True))
        timer.start()
        try:
            with self._lock:
                base, first_seed, version = self._base, self.seed, self._base_version
            # A drag's final request usually asks for the state its last move already
            # rendered: reuse those images and only re-encode them losslessly.
            key = (version, state)
            if self._last_images is not None and self._last_images[0] == key:
                images = self._last_images[1]
            else:
                images = self.generator.synthesize(self.workspace.edited(base, state))
                self._last_images = (key, images)
            frame = _frames.sprite(images, self.columns, self.resolution, final)
        finally:
            timer.cancel()
        meta = {
            "kind": "frame",
            "seq": seq,
            "seed": first_seed,
            "mime": frame.mime,
            "width": frame.width,
            "height": frame.height,
            "cell": frame.cell,
            "columns": frame.columns,
            "count": frame.count,
            "checksum": frame.checksum,
        }
        self.last_frame = frame
        with self.hold_sync():
            self.render_seq = seq
            self.frame_checksum = frame.checksum
            self.busy = False
            if self.error:
                self.error = ""
        self.send(meta, [frame.data])

    def _compute_heatmap(self, attribute: str | None = None) -> None:
        with self._lock:
            base = self._base[: min(self.n_samples, 9)]
            blocks = [s.directions for s in self.workspace.sources]
        columns = [c.name for c in self.workspace.columns]
        self.busy = True
        try:
            with report_to(self._set_progress):
                if attribute is None or self._scorer is None:
                    values = self.workspace.heatmap(
                        base, lambda done, total: self._set_progress("heatmap", done, total)
                    )
                    kind = "mean image change"
                else:
                    # HiGAN's re-scoring on the grid's own samples (and more, for a steadier mean).
                    latents = self.generator.sample(max(32, self.n_samples), seed=self.seed)
                    result = rescore(self.generator, blocks, self._scorer, latents=latents, progress=False)
                    if list(result.columns) != columns:
                        raise RuntimeError(f"re-scoring columns {result.columns} differ from the heatmap's {columns}")
                    grid = result.heatmap(attribute)
                    values = [[None if v != v else float(v) for v in row] for row in grid]
                    kind = f"re-scoring delta of {attribute} (HiGAN, step 2)"
            self.heatmap = {"columns": columns, "values": values, "kind": kind, "attribute": attribute}
        finally:
            self.busy = False
            self.progress = {}

    def _add_directions(self, finder: SeFa | GANSpace) -> None:
        self.busy = True
        try:
            with report_to(self._set_progress):
                found = finder.fit(self.generator).directions_
        finally:
            self.busy = False
            self.progress = {}
        self._add(found, recipe=None)

    def _add(self, found: Directions, recipe: str | None) -> None:
        """Append directions (α 0, default layers), then refresh the heatmap."""
        with self._lock:
            old = len(self.workspace.extents)
            self.workspace.add(found, recipe)
            k = len(self.workspace.extents)
            layers = self._state.layers + tuple(self.workspace.default_layers(i) for i in range(old, k))
            state = EditState(self._state.alphas + (0.0,) * (k - old), self._state.active, layers, self._state.pad)
            self._commit(state)
            self._publish_directions()
        self._compute_heatmap()

    def _set_progress(self, label: str, value: int, total: int) -> None:
        self.progress = {"label": label, "value": int(value), "total": int(total)}

    def _report(self, exc: BaseException, request: Any) -> None:
        # Whatever the error quotes (a bad string from the page), it must travel as UTF-8.
        message = f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode("utf-8")
        log.info("Explorer: %s", message)
        seq = request[0] if isinstance(request, tuple) else None
        with self.hold_sync():
            self.error = message
            self.busy = False
            self.progress = {}
        self.send({"kind": "error", "seq": seq, "message": message})
