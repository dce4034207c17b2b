"""``semwidget.Explorer``: the image grid, direction handles, 2-D pad and layer heatmap.

The thin anywidget class that wires the parts together:

- :mod:`._state`: the one session state (immutable, versioned) and its changes;
- :mod:`._rendering`: what a session looks like (latents, images, frames);
- :mod:`._jobs`: slow work (heatmap, finders, exports, training), run by :mod:`._worker`;
- :mod:`._annotating`: labels and annotation files;
- :mod:`._reals`: real images, inverted into the latent space, as cells after the samples;
- :mod:`._protocol` and ``_schema.json``: what the page may send, checked before use.

Every request from the page is validated, turned into a change of the session (under
one lock, so changes, traits and frame numbers keep one order), and the traits the page
reads are published from the new session. Renders and jobs run on the worker thread.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anywidget
import torch
import traitlets as t

from ..directions import Directions
from ..generators import Generator, as_generator
from ..scorers import Scorer, as_scorer
from ..semantics._columns import layer_columns
from . import _frames, _jobs, _reals
from . import _state as st
from ._annotating import cell_label, cell_labels, from_annotations, to_annotations
from ._annotations import Annotations
from ._code import edit_code
from ._content import frame_amounts, moved
from ._factor import factor_of
from ._files import annotation_file
from ._protocol import NUMBERED, ProtocolError, check_trait_write, parse_request, request_id
from ._rendering import Renderer
from ._routing import deliver_where_addressed
from ._worker import Worker

log = logging.getLogger(__name__)

_STATIC = Path(__file__).resolve().parent.parent / "static"
_UNBUILT = """export default { render({ el }) { el.textContent =
  "semwidget's front end is not built: run `npm install && npm run build` in the semwidget checkout."; } };"""
_MAX_CELL = 256  # larger generators are shown downscaled; exports keep full size
_MAX_COLUMNS = 8
_SHOWN = 16  # sessions of the newest frames, so a label means the frame the user saw


def _static(name: str, fallback: str = "") -> str:
    path = _STATIC / name
    return path.read_text() if path.is_file() else fallback


class Explorer(anywidget.AnyWidget):
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
    images : Inversion, or images, optional
        Real images shown after the samples, edited like them: a
        :class:`semwidget.Inversion`, or anything :func:`semwidget.invert` accepts (then
        inverted here, with a progress bar). Image files dropped on the grid, or
        picked with its "add images" button, join them (at most 16 in all).
    invert_options : dict, optional
        Keyword arguments for :func:`semwidget.invert` when the Explorer inverts
        images (``steps``, ``loss``, ``space``, ...); default: its defaults.
    factors : ContinuousFactor, str, or a list of them, optional
        Continuous factors (:class:`semwidget.ContinuousFactor`), fitted or to be fitted
        here (a transform's name, or an unfitted estimator). Each gets a handle that
        shows its amount in the transformation's units ("+12 px", "×1.20", "+15°"), and
        they let the user move the content of an image: drag inside a cell to shift it
        (``shift_x``/``shift_y``), Shift+drag to turn it (``rotation``), the wheel to
        zoom (``zoom``); every cell follows, or only the one under the mouse.
    factor_options : dict, optional
        Keyword arguments for :class:`semwidget.ContinuousFactor` when the Explorer fits
        a factor (from a name here, :meth:`add_factors`, or the page's fit button).
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
    state_version = t.Int(0).tag(sync=True)
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
        images: Any = None,
        invert_options: dict[str, Any] | None = None,
        factors: Any = None,
        factor_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:  # fail loudly on typos rather than pass them to ipywidgets
            raise TypeError(f"Explorer got unexpected keyword arguments {sorted(kwargs)}")
        if not isinstance(n_samples, int) or not 1 <= n_samples <= 64:
            raise ValueError(f"n_samples must be an int in [1, 64]; got {n_samples!r}")
        g: Generator = as_generator(generator)
        if directions is None:
            directions = _default_directions(g)
        given = [directions] if isinstance(directions, Directions) else list(directions)
        if not given or not all(isinstance(d, Directions) for d in given):
            raise TypeError(f"directions must be semwidget.Directions or a list of them; got {directions!r:.80}")
        self._factor_options = dict(factor_options or {})
        blocks = [st.new_block(g, d) for d in given] + _factor_blocks(g, factors, self._factor_options)
        self._invert_options = _reals.check_invert_options(invert_options)
        reals = [] if images is None else _initial_reals(g, images, **self._invert_options)
        self._generator = g
        self._renderer = Renderer(g)
        first = st.initial(int(seed), n_samples, layer_columns(g), blocks, g.num_ws)
        self._history = st.History(st.with_reals(first, reals))
        # Changes, the traits they publish and the frame numbers they take happen in one order.
        self._lock = threading.RLock()
        # Messages leave from the comm handler's thread and the worker's: one at a time.
        self._send_lock = threading.Lock()
        self._traits_lock = threading.RLock()  # see hold_sync
        self.annotations_dir = Path(annotations_dir).absolute()
        ncols = columns or max(1, round(n_samples**0.5 + 0.499))
        super().__init__(
            n_samples=n_samples,
            columns=int(ncols),
            resolution=min(g.img_resolution, _MAX_CELL),
            feature_layers=sorted(g.feature_layers),
        )
        self._scorer: Scorer | None = None if scorers is None else as_scorer(scorers)
        self.attributes = list(self._scorer.names) if self._scorer else []
        self.comm_id = self.model_id
        deliver_where_addressed(self.comm)
        self.last_frame: _frames.Frame | None = None
        # The newest seq seen from the page or given out here: every frame's seq is above it,
        # so the page draws the newest kernel state even when a cell changes it too.
        self._seq = 0
        self._shown: OrderedDict[int, st.Session] = OrderedDict()  # version -> session, of frames sent
        self._heatmaps: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()
        self._heatmap_attribute: str | None = None
        self._heatmap_queued: tuple[object, ...] | None = None
        self._heatmap_failed: tuple[object, ...] | None = None
        self._job_running = False
        self._handlers: dict[str, Callable[..., None]] = {
            "render": self._on_render,
            "set_active": self._on_set_active,
            "set_layers": self._on_set_layers,
            "set_pad": self._on_set_pad,
            "new_seeds": self._on_new_seeds,
            "undo": self._on_undo,
            "redo": self._on_redo,
            "reset": self._on_reset,
            "compute": self._on_compute,
            "heatmap": self._on_heatmap,
            "cancel": self._on_cancel,
            "export_png": self._on_export_png,
            "export_gif": self._on_export_gif,
            "copy_code": self._on_copy_code,
            "set_attribute": self._on_set_attribute,
            "label": self._on_label,
            "train": self._on_train,
            "rename": self._on_rename,
            "note": self._on_note,
            "save": self._on_save,
            "load": self._on_load,
            "invert": self._on_invert,
            "remove_image": self._on_remove_image,
            "original": self._on_original,
            "shift_content": self._on_shift_content,
            "turn_content": self._on_turn_content,
            "zoom_content": self._on_zoom_content,
            "fit_factor": self._on_fit_factor,
        }
        self._publish(self._history.now)
        self._worker = Worker(self._render, self._report)
        self.on_msg(self._on_msg)
        self._worker.request_render((0, self._history.now, True))  # the first frame: seq 0
        self._ensure_heatmap()

    @t.validate("columns")
    def _columns_in_range(self, proposal: Any) -> int:
        return self._check_columns(proposal.value)

    @t.validate("resolution")
    def _resolution_in_range(self, proposal: Any) -> int:
        return self._check_resolution(proposal.value)

    def _check_columns(self, value: int) -> int:
        if not 1 <= value <= _MAX_COLUMNS:
            raise t.TraitError(f"columns must be in [1, {_MAX_COLUMNS}]; got {value}")
        return int(value)

    def _check_resolution(self, value: int) -> int:
        # Cells are drawn at most twice the generator's size: no 6000-pixel sprites from the page.
        top = 2 * self._generator.img_resolution
        if not 8 <= value <= top:
            raise t.TraitError(f"resolution must be in [8, {top}] pixels; got {value}")
        return int(value)

    @t.validate("n_samples")
    def _n_samples_fixed(self, proposal: Any) -> int:
        # The grid's samples are drawn for this count: it is set by the constructor only.
        if hasattr(self, "_history") and proposal.value != self._history.now.n_samples:
            raise t.TraitError(f"n_samples is fixed at {self._history.now.n_samples} for this Explorer")
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
        return self._generator

    @property
    def state(self) -> st.Session:
        """The session on screen (immutable; every change makes a new one)."""
        return self._history.now

    @property
    def direction_blocks(self) -> list[Directions]:
        """The directions shown, as the Directions blocks they were added in (row i of
        the widget is row i of these, concatenated)."""
        return [b.directions for b in self.state.blocks]

    @property
    def stats(self) -> dict[str, Any]:
        """Render and job counts and timings: requested, rendered, dropped, render_ms_median..."""
        return self._worker.stats.as_dict()

    @property
    def worker_alive(self) -> bool:
        return self._worker.alive

    def handle(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Process one request as if it came from the front end (what the comm handler calls).

        From Python, a request that changes the image may leave out ``seq``: its frame is
        numbered after everything the page has asked for, so the page shows it.
        """
        if isinstance(content, dict) and content.get("kind") in NUMBERED:
            content = {"seq": 0, **content}
        self._on_msg(self, content, buffers or [])

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every request so far has been handled."""
        return self._worker.wait_idle(timeout)

    def latents(self) -> Any:
        """The latents on screen: the grid's samples with the current edit applied."""
        return self._renderer.latents(self.state)

    def images(self) -> torch.Tensor:
        """The images on screen, float in [-1, 1], shape (n_samples, 3, H, W)."""
        return self._renderer.images(self.state)

    def render_once(self, final: bool = True) -> _frames.Frame:
        """Render and encode the current grid in this thread, past the image cache (what a
        frame of a new state costs)."""
        images = self._generator.synthesize(self.latents())
        return _frames.sprite(images, self.columns, self.resolution, final)

    def code(self) -> str:
        """Python that reproduces the current edit."""
        return edit_code(self._generator, self.state, self.columns)

    def train(self, attribute: str) -> Directions:
        """Fit a boundary from the images labelled for ``attribute`` (as they were on
        screen) and add it as a direction."""
        found = _jobs.train(self._generator, self.state, attribute)
        self._add(found)
        return found

    def add_images(self, images: Any, names: list[str] | None = None, **options: Any) -> None:
        """Invert ``images`` (anything :func:`semwidget.invert` accepts, with its
        ``options``) or take a :class:`semwidget.Inversion`, and show them after the
        samples. Undo takes them off again."""
        cells = _initial_reals(self._generator, images, names, **{**self._invert_options, **options})
        self._change(lambda s: st.with_reals(s, cells), seq=0)

    @property
    def factors(self) -> list[Any]:
        """The continuous factors shown, in order (copies: refitting one changes nothing here)."""
        return [copy.deepcopy(b.factor.estimator) for b in self.state.blocks if b.factor is not None]

    def add_factors(self, *factors: Any, **options: Any) -> None:
        """Add continuous factors, each with its handle: fitted
        :class:`semwidget.ContinuousFactor` objects as they are, transform names or
        unfitted ones fitted here (with ``options`` over the Explorer's
        ``factor_options``). Undo takes them off again."""
        blocks = _factor_blocks(self._generator, list(factors), {**self._factor_options, **options})
        num_ws = self._generator.num_ws

        def add(s: st.Session) -> st.Session:
            for b in blocks:
                s = st.with_block(s, b, num_ws)
            return s

        self._change(add, seq=0)

    def save_annotations(self, path: str | Path, *, photos: bool = False) -> Path:
        """Save names, labels, directions, their layers, notes and the real images'
        latents to ``path`` (.json + .npz); the photos themselves only with ``photos``."""
        written = to_annotations(self._generator, self.state, photos=photos).save(path)
        self.annotations_path = str(path)
        return written

    def load_annotations(self, path: str | Path) -> Annotations:
        """Replace directions, layers, notes and labels with those saved at ``path``
        (saved on this same model). Undo brings back what was there before."""
        annotations = Annotations.load(path)
        self._change(lambda s: from_annotations(self._generator, s, annotations), seq=0)
        self.annotations_path = str(path)
        return annotations

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """A trait write from the page: only the schema's writable traits, within bounds.
        A refused write is shown in the widget and the page is sent the kernel's value back."""
        checks = {"columns": self._check_columns, "resolution": self._check_resolution}
        try:
            if not isinstance(sync_data, dict):
                raise ProtocolError(f"a trait update is an object of trait values; got {type(sync_data).__name__}")
            for name, value in sync_data.items():
                check_trait_write(name, value)  # the schema: writable, its type and bounds
                checks[name](value)  # bounds that depend on the model
        except (ProtocolError, t.TraitError) as exc:
            self._report(exc, None)
            self.send_state([k for k in sync_data if k in self.keys])
            return
        super().set_state(sync_data)
        if {"columns", "resolution"} & set(sync_data):
            with self._lock:
                self._request_render(0, self.state, True)

    def close(self) -> None:
        worker = getattr(self, "_worker", None)  # absent when the constructor failed
        if worker is not None:
            worker.close()
        super().close()

    # ---- requests ----------------------------------------------------------------------

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        """Every comm message from the page, checked before ipywidgets unpacks it: an update
        of trait values (no binary buffers: no writable trait has any), a state request, or
        one of our requests. Anything else is shown as an error; nothing escapes."""
        try:
            data = msg["content"]["data"]
            method = data.get("method") if isinstance(data, dict) else None
            if method == "update":
                if not isinstance(data.get("state"), dict) or data.get("buffer_paths"):
                    raise ProtocolError("a trait update carries 'state', an object of trait values, and no buffers")
                self.set_state(data["state"])
            elif method == "request_state":
                self.send_state()
            elif method == "custom":
                self._handle_custom_msg(data.get("content"), list(msg.get("buffers") or []))
            else:
                raise ProtocolError(f"a comm message's method is update, request_state or custom; got {method!r:.40}")
        except Exception as exc:  # noqa: BLE001 -- shown in the widget, which keeps working
            self._report(exc, None)

    # Traits are set from the comm handler's thread, the worker's and the busy timer's.
    # ipywidgets keeps one set of pending names per widget while any thread holds sync, so
    # a write from one thread during another's hold_sync changed that set mid-send
    # ("Set changed size during iteration"). Every trait write and every held sync take
    # one lock; it is taken after the session lock, never before it.
    @contextmanager
    def hold_sync(self) -> Iterator[None]:
        with self._traits_lock, super().hold_sync():
            yield

    def _notify_trait(self, name: str, old_value: Any, new_value: Any) -> None:
        with self._traits_lock:
            super()._notify_trait(name, old_value, new_value)

    def _send(self, msg: Any, buffers: Any = None) -> None:
        # ipywidgets' one way out, for trait updates and custom messages alike.
        with self._send_lock:
            super()._send(msg, buffers)

    def _on_msg(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        rid = request_id(content)
        if rid is not None:  # before any work: the page knows at once that we heard it
            self.send({"kind": "ack", "rid": rid})
        try:
            kind, fields = parse_request(content, buffers)
            self._handlers[kind](**fields)
        except Exception as exc:  # noqa: BLE001 -- shown in the widget, which keeps working
            seq = content.get("seq") if isinstance(content, dict) else None
            self._report(exc, (seq, None, None) if isinstance(seq, int) and not isinstance(seq, bool) else None)

    def _on_render(self, seq: int, alphas: list[float], ids: list[int] | None, final: bool) -> None:
        self._change(lambda s: st.with_alphas(s, alphas, ids), seq=seq, commit=final)

    def _on_set_active(self, seq: int, active: list[int]) -> None:
        self._change(lambda s: st.with_active(s, active), seq=seq)

    def _on_set_layers(self, seq: int, direction: int, layers: list[int]) -> None:
        self._change(lambda s: st.with_layers(s, direction, layers), seq=seq)

    def _on_set_pad(self, pair: list[int]) -> None:
        self._change(lambda s: st.with_pad(s, pair))

    def _on_new_seeds(self, seq: int, seed: int | None) -> None:
        def next_seeds(s: st.Session) -> st.Session:
            return st.with_seed(s, (s.seed + s.n_samples) % 2**32 if seed is None else seed)

        self._change(next_seeds, seq=seq)

    def _on_undo(self, seq: int) -> None:
        self._walk(self._history.undo, seq)

    def _on_redo(self, seq: int) -> None:
        self._walk(self._history.redo, seq)

    def _on_reset(self, seq: int) -> None:
        self._change(lambda s: st.reset(s, self._generator.num_ws), seq=seq)

    def _on_compute(self, method: str, n_directions: int, feature_layer: str | None) -> None:
        if feature_layer is not None and feature_layer not in self.feature_layers:
            raise ProtocolError(f"feature_layer must be one of {self.feature_layers} or null; got {feature_layer!r}")
        finder = _jobs.finder(method, n_directions, feature_layer)
        self._submit("compute", lambda: self._add(_jobs.find(self._generator, finder, self._job_progress)))

    def _on_heatmap(self, attribute: str | None) -> None:
        if attribute is not None and attribute not in self.attributes:
            raise ProtocolError(f"attribute must be one of the scorers' {self.attributes}; got {attribute!r}")
        self._heatmap_attribute = attribute
        self._ensure_heatmap(force=True)

    def _on_cancel(self) -> None:
        self._worker.cancel()

    def _on_export_png(self, scale: int | None) -> None:
        def job() -> None:
            s = self.state
            data = _jobs.png(self._renderer.images(s), self.columns, scale or 1)
            self.send({"kind": "file", "name": f"semwidget-seed{s.seed}.png", "mime": "image/png"}, [data])

        self._submit("export_png", job)

    def _on_export_gif(self, direction: int, frames: int, extent: float) -> None:
        s = self.state
        if not direction < len(s.alphas):
            raise ProtocolError(f"export_gif needs a direction in [0, {len(s.alphas)}); got {direction}")

        def job() -> None:
            steps = _jobs.gif_frames(self._generator, self._renderer, s, direction, frames, extent, self._job_progress)
            block, row = s.directions[direction]
            factor = s.factor_at(direction)
            data = _jobs.gif(steps, self.columns, block.directions.labels[row], None if factor is None else factor.text)
            self.send({"kind": "file", "name": f"semwidget-direction{direction}.gif", "mime": "image/gif"}, [data])

        self._submit("export_gif", job)

    def _on_copy_code(self) -> None:
        self.send({"kind": "code", "text": self.code()})

    def _on_set_attribute(self, name: str) -> None:
        self._change(lambda s: st.with_attribute(s, name))

    def _on_label(self, cell: int, value: int, seed: int | None, version: int | None) -> None:
        def label(s: st.Session) -> st.Session:
            # The image the user saw: the frame of that version (or seeds), not what may be on its way.
            seen = self._shown.get(version) if version is not None else None
            if seen is None:
                seen = s if seed is None or seed == s.seed else st.with_seed(s, seed)
            return cell_label(self._renderer, s, cell, value, seen)

        self._change(label)

    def _on_train(self) -> None:
        attribute = self.state.attribute
        self._submit("train", lambda: self._add(_jobs.train(self._generator, self.state, attribute)))

    def _on_rename(self, direction: int, label: str) -> None:
        self._change(lambda s: st.renamed(s, direction, label))

    def _on_note(self, direction: int, text: str) -> None:
        self._change(lambda s: st.noted(s, direction, text))

    def _on_save(self, path: str) -> None:
        # From the page, ``path`` is a name inside annotations_dir (see _files.py).
        target = annotation_file(self.annotations_dir, path, create=True)
        self._submit("save", lambda: self._saved_as(self.save_annotations(target), path.strip()))

    def _on_load(self, path: str) -> None:
        target = annotation_file(self.annotations_dir, path, create=False)
        self._submit("load", lambda: self._saved_as(self.load_annotations(target), path.strip()))

    def _on_invert(self, seq: int, names: list[str], buffers: list[bytes]) -> None:
        if len(names) != len(buffers):
            raise ProtocolError(f"invert: {len(names)} names for {len(buffers)} files")
        free = st.MAX_REALS - len(self.state.reals)
        if len(buffers) > free:
            raise ValueError(f"the grid shows at most {st.MAX_REALS} real images; there is room for {free} more")
        images = [_reals.open_image(data, name) for data, name in zip(buffers, names)]  # refused before the job

        def job() -> None:
            cells = _jobs.invert(self._generator, images, names, self._invert_options, self._job_progress)
            self._change(lambda s: st.with_reals(s, cells), seq=seq)

        self._submit("invert", job)

    def _on_remove_image(self, seq: int, uid: int) -> None:
        self._change(lambda s: st.without_real(s, uid), seq=seq)

    def _on_original(self, uid: int) -> None:
        cell = next((r for r in self.state.reals if r.uid == uid), None)
        if cell is None or cell.original is None:
            raise ValueError(f"no original image for real image {uid} (gone, or loaded without photos)")
        self.send({"kind": "original", "uid": uid}, [cell.original])

    def _on_shift_content(self, seq: int, cell: int, dx: float, dy: float, scope: str, final: bool) -> None:
        self._move_content(seq, "shift", (dx, dy), cell, scope, final)

    def _on_turn_content(self, seq: int, cell: int, degrees: float, scope: str, final: bool) -> None:
        self._move_content(seq, "turn", (degrees,), cell, scope, final)

    def _on_zoom_content(self, seq: int, cell: int, ratio: float, scope: str, final: bool) -> None:
        self._move_content(seq, "zoom", (ratio,), cell, scope, final)

    def _move_content(
        self, seq: int, gesture: str, amount: tuple[float, ...], cell: int, scope: str, final: bool
    ) -> None:
        # The page does not know g: the handles follow the kernel's α even mid-gesture.
        change = lambda s: moved(s, gesture, amount, cell, scope)  # noqa: E731
        self._change(change, seq=seq, commit=final, publish=True)

    def _on_fit_factor(self, transform: str) -> None:
        def job() -> None:
            cf = _jobs.fit_factor(self._generator, transform, self._factor_options, self._job_progress)
            block = _factor_block(self._generator, cf)
            self._change(lambda s: st.with_block(s, block, self._generator.num_ws), seq=0)

        self._submit("fit_factor", job)

    def _saved_as(self, _result: object, name: str) -> None:
        with self.hold_sync():
            self.annotations_path = name  # what the page typed, shown back in its field
            self.error = ""  # a success clears the last error

    # ---- changes ------------------------------------------------------------------------

    def _change(
        self,
        change: Callable[[st.Session], st.Session],
        *,
        seq: int | None = None,
        commit: bool = True,
        publish: bool = False,
    ) -> None:
        """Apply ``change`` to the session, publish it (a preview only with ``publish``),
        and (with a ``seq``) render it."""
        with self._lock:
            new = self._history.apply(change, commit=commit)
            if commit or publish:
                self._publish(new)
            if seq is not None:
                self._request_render(seq, new, commit)
        self._ensure_heatmap()

    def _walk(self, step: Callable[[], st.Session], seq: int) -> None:
        with self._lock:
            new = step()
            self._publish(new)
            self._request_render(seq, new, True)
        self._ensure_heatmap()

    def _add(self, found: Directions) -> None:
        """Append a block of directions (α 0, default layers); the images stay as they are."""
        block = st.new_block(self._generator, found)
        self._change(lambda s: st.with_block(s, block, self._generator.num_ws))

    def _publish(self, s: st.Session) -> None:
        """The traits the page reads, from one session (lock held)."""
        with self.hold_sync():
            self.directions = s.describe()
            self.alphas = list(s.alphas)
            self.active = list(s.active)
            self.layers = [list(c) for c in s.layers]
            self.pad = list(s.pad)
            self.seed = s.seed
            self.attribute = s.attribute
            self.cell_labels = cell_labels(self._renderer, s)
            self.label_counts = s.label_counts()
            self.can_undo = self._history.can_undo
            self.can_redo = self._history.can_redo
            self.state_version = s.version
            self.error = ""  # a change that went through clears the last error

    def _request_render(self, seq: int, s: st.Session, final: bool) -> None:
        """Queue a render of ``s`` (lock held, so stamps follow the order of changes).

        Its frame gets ``seq``, or the next number after the newest given out when a
        change made elsewhere (a cell, the other thread) already took a higher one.
        """
        self._seq = max(seq, self._seq + 1)
        self._worker.request_render((self._seq, s, final))

    # ---- worker side ------------------------------------------------------------------

    def _render(self, request: tuple[int, st.Session, bool]) -> None:
        seq, s, final = request
        timer = threading.Timer(0.15, lambda: setattr(self, "busy", True))
        timer.start()
        try:
            frame = self._renderer.frame(s, self.columns, self.resolution, final)
        finally:
            timer.cancel()
        meta = {
            "kind": "frame",
            "seq": seq,
            "version": s.version,
            "seed": s.seed,
            "mime": frame.mime,
            "width": frame.width,
            "height": frame.height,
            "cell": frame.cell,
            "columns": frame.columns,
            "count": frame.count,
            "checksum": frame.checksum,
            "reals": [
                {"uid": r.uid, "name": r.name, "psnr": round(r.psnr, 2), "original": r.original is not None}
                for r in s.reals
            ],
        }
        meta["amounts"], meta["cell_amounts"] = frame_amounts(s)
        with self._lock:
            self._shown[s.version] = s
            while len(self._shown) > _SHOWN:
                self._shown.popitem(last=False)
        self.last_frame = frame
        with self.hold_sync():
            self.render_seq = seq
            self.frame_checksum = frame.checksum
            self.busy = self._job_running
            if self.error:
                self.error = ""  # a success clears the last error
        self.send(meta, [frame.data])

    def _submit(self, key: str, work: Callable[[], None]) -> None:
        """Run ``work`` on the worker as a job: busy while it runs, progress cleared after;
        a newer job of the same key replaces one still queued."""

        def job() -> None:
            self._job_running = self.busy = True
            try:
                work()
                self.error = ""  # a success clears the last error
            finally:
                self._job_running = False
                with self.hold_sync():
                    self.busy = False
                    self.progress = {}

        self._worker.submit(job, key=key)

    def _job_progress(self, label: str, value: int, total: int) -> None:
        self._worker.checkpoint()  # a waiting render goes first; a cancel stops the job here
        self.progress = {"label": label, "value": int(value), "total": int(total)}

    def _ensure_heatmap(self, force: bool = False) -> None:
        """Show the heatmap of the session on screen: from the cache, else computed by a job.
        Until it comes, the last one stays (marked stale) if it has the same rows."""
        with self._lock:  # called from the comm handler's thread and from the worker's
            self._show_or_queue_heatmap(force)

    def _show_or_queue_heatmap(self, force: bool) -> None:
        attribute = self._heatmap_attribute
        s = self.state
        key = s.heatmap_key(attribute)
        if force:
            self._heatmaps.pop(key, None)
        cached = self._heatmaps.get(key)
        if cached is not None:
            if self.heatmap != cached:
                self.heatmap = cached
            return
        if len(self.heatmap.get("values", ())) != len(s.alphas):
            self.heatmap = {}
        elif not self.heatmap.get("stale"):
            self.heatmap = {**self.heatmap, "stale": True}
        if not force and key in (self._heatmap_queued, self._heatmap_failed):
            return  # on its way; or it failed, and only "recompute" tries again
        if self._heatmap_queued is not None:
            self._worker.cancel(key="heatmap")  # one for seeds or directions no longer shown
        self._heatmap_queued = key

        def job() -> None:
            try:
                if self.state.heatmap_key(attribute) != key:
                    return  # the session moved on; its own request is queued
                value = _jobs.heatmap(self._generator, self._renderer, s, self._scorer, attribute, self._job_progress)
            except _jobs.Cancelled:
                raise  # superseded or cancelled: not a failure, a later request may ask again
            except Exception:
                self._heatmap_failed = key
                raise
            finally:
                if self._heatmap_queued == key:
                    self._heatmap_queued = None
            self._heatmaps[key] = value
            while len(self._heatmaps) > 8:
                self._heatmaps.popitem(last=False)
            self._ensure_heatmap()

        self._submit("heatmap", job)

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


def _initial_reals(g: Generator, images: Any, names: list[str] | None = None, **options: Any) -> list[st.RealCell]:
    """Cells for real images given from Python: an Inversion as it is, else inverted here."""
    from ..inversion import Inversion

    if isinstance(images, Inversion):  # inverted already: options do not apply
        return _reals.cells_of(g, images, names)
    return _reals.invert_cells(g, images, names, **options)


def _factor_blocks(g: Generator, factors: Any, options: dict[str, Any]) -> list[st.Block]:
    """Session blocks for ``factors``: fitted ones as they are, names and unfitted ones fitted here."""
    from ..continuous import ContinuousFactor

    if factors is None:
        return []
    given = [factors] if isinstance(factors, (str, ContinuousFactor)) else list(factors)
    out = []
    for f in given:
        if isinstance(f, str):
            f = ContinuousFactor(f, **options)
        if isinstance(f, ContinuousFactor) and not hasattr(f, "direction_"):
            f = f.fit(g)
        out.append(_factor_block(g, f))
    return out


def _factor_block(g: Generator, cf: Any) -> st.Block:
    factor = factor_of(g, cf)
    return st.factor_block(g, factor.estimator.direction_, factor)


def _default_directions(g: Generator) -> Directions:
    """The default directions: SeFa's top 5 (fewer for a small latent)."""
    from ..directions import SeFa

    return SeFa(n_directions=min(5, g.w_dim)).fit(g).directions_
