"""Labelling, naming and saving annotations: the Explorer's requests and Python API
for them, kept apart from rendering so each file reads in one sitting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._annotations import Annotations
from ..directions import Directions, boundary_from_labels
from ._files import annotation_file
from ._protocol import ProtocolError
from ._workspace import EditState


class AnnotationRequests:
    """Mixed into :class:`~semwidget.widget._explorer.Explorer`; uses its workspace,
    state, lock, worker and traits."""

    _labels: dict[str, dict[int, int]]
    annotations_dir: Path
    annotations_path: str
    error: str
    workspace: Any
    _state: EditState

    def _on_set_attribute(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise ProtocolError("an attribute needs a name")
        with self._lock:
            self.attribute = name
            self._publish_labels()

    def _on_label(self, cell: int, value: int, seed: int | None) -> None:
        if not self.attribute:
            raise ProtocolError("name the attribute before labelling cells")
        if not 0 <= cell < self.n_samples or value not in (1, -1, 0):
            raise ProtocolError(f"label needs a cell in [0, {self.n_samples}) and a value of 1, -1 or 0")
        with self._lock:
            # The seed of the frame the user saw: new seeds may be on their way.
            seed = (self.seed if seed is None else seed) + cell
            by_seed = self._labels.setdefault(self.attribute, {})
            if value:
                by_seed[seed] = value
            else:
                by_seed.pop(seed, None)
            self._publish_labels()

    def _on_train(self) -> None:
        self._worker.submit(lambda: self.train(self.attribute))

    def _on_rename(self, direction: int, label: str) -> None:
        self._check_direction(direction)
        if not label.strip():
            raise ProtocolError("a direction's name cannot be empty")
        with self._lock:
            self.workspace.rename(direction, label.strip())
            self._publish_directions()

    def _on_note(self, direction: int, text: str) -> None:
        self._check_direction(direction)
        with self._lock:
            self.workspace.notes[direction] = text
            self._publish_directions()

    def _on_save(self, path: str) -> None:
        # From the page, ``path`` is a name inside annotations_dir (see _files.py).
        target = annotation_file(self.annotations_dir, path, create=True)
        self._worker.submit(lambda: self._saved_as(self.save_annotations(target), path.strip()))

    def _on_load(self, path: str) -> None:
        target = annotation_file(self.annotations_dir, path, create=False)
        self._worker.submit(lambda: self._saved_as(self.load_annotations(target), path.strip()))

    def _saved_as(self, _result: object, name: str) -> None:
        with self.hold_sync():
            self.annotations_path = name  # what the page typed, shown back in its field
            self.error = ""  # a success clears the last error

    # ---- annotations (Python API; the requests above call these) --------------------

    def train(self, attribute: str) -> Directions:
        """Fit a boundary from the labels given to ``attribute`` and add it as a direction."""
        with self._lock:
            by_seed = dict(self._labels.get(attribute, {}))
        if not attribute or not by_seed:
            raise ValueError(f"no labels for {attribute!r}: mark grid cells positive and negative first")
        seeds = sorted(by_seed)
        latents = self.generator.sample(seeds=seeds)
        found = boundary_from_labels(latents, [by_seed[s] for s in seeds], name=attribute)
        self._add(found, recipe=None)
        return found

    def save_annotations(self, path: str | Path) -> Path:
        """Save names, labels, directions, their layers and notes to ``path`` (.json + .npz)."""
        with self._lock:
            annotations = Annotations(
                model={"name": self.generator.name, "fingerprint": self.generator.fingerprint},
                blocks=[(s.directions, s.recipe) for s in self.workspace.sources],
                layers=[[self.workspace.columns[c].name for c in cols] for cols in self._state.layers],
                notes=list(self.workspace.notes),
                labels={a: dict(v) for a, v in self._labels.items() if v},
            )
        written = annotations.save(path)
        self.annotations_path = str(path)
        return written

    def load_annotations(self, path: str | Path) -> Annotations:
        """Replace directions, layers, notes and labels with those saved at ``path``
        (saved on this same model)."""
        annotations = Annotations.load(path)
        annotations.check_model(self.generator.fingerprint, self.generator.name)
        with self._lock:
            self.workspace.clear()
            for directions, recipe in annotations.blocks:
                self.workspace.add(directions, recipe)
            self.workspace.notes = list(annotations.notes)
            layers = tuple(tuple(self.workspace.column_index(n) for n in cols) for cols in annotations.layers)
            k = len(self.workspace.extents)
            state = EditState((0.0,) * k, tuple(range(min(k, 3))), layers, (0, 1) if k >= 2 else ())
            self.workspace.check_state(state)
            self._labels = {a: dict(v) for a, v in annotations.labels.items()}
            if self.attribute not in self._labels and self._labels:
                self.attribute = next(iter(self._labels))  # carry on labelling where the file left off
            self._undo.clear()
            self._redo.clear()
            self._state = state
            self._publish_directions()
            self._publish_state()
            self._publish_labels()
            self._request_render(self.render_seq, state, True)
        self.annotations_path = str(path)
        self._compute_heatmap()
        return annotations

    def _check_direction(self, direction: int) -> None:
        k = len(self.workspace.extents)
        if not 0 <= direction < k:
            raise ProtocolError(f"direction must be an index in [0, {k}); got {direction}")

    def _publish_labels(self) -> None:
        by_seed = self._labels.get(self.attribute, {})
        with self.hold_sync():
            self.cell_labels = [by_seed.get(self.seed + i, 0) for i in range(self.n_samples)]
            self.label_counts = {
                a: [sum(v > 0 for v in d.values()), sum(v < 0 for v in d.values())] for a, d in self._labels.items()
            }
