"""Slow jobs (heatmap, finders, exports) never hold up what the user is looking at, can be
cancelled, and may die mid-way without taking the widget with them."""

from __future__ import annotations

import threading

import numpy as np

from semwidget.widget import _jobs
from tests.widget.page import expected_frame, frames, request


class Gate:
    """Wraps a job's progress callback: the job stops at step ``at`` until released."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, progress):
        def gated(label, done, total):
            progress(label, done, total)
            if done == self.at:
                self.reached.set()
                assert self.release.wait(30), "the test never released the job"

        return gated


def _gated_gif(monkeypatch, gate):
    real = _jobs.gif_frames
    monkeypatch.setattr(
        _jobs, "gif_frames", lambda g, r, s, d, n, e, progress: real(g, r, s, d, n, e, gate.wrap(progress))
    )


def test_a_drag_during_a_gif_export_is_rendered_at_the_exports_next_step(explorer, monkeypatch):
    gate, later = Gate(at=3), Gate(at=4)
    real = _jobs.gif_frames
    monkeypatch.setattr(
        _jobs,
        "gif_frames",
        lambda g, r, s, d, n, e, progress: real(g, r, s, d, n, e, later.wrap(gate.wrap(progress))),
    )
    request(explorer, {"kind": "export_gif", "direction": 0, "frames": 12, "extent": 2.0})
    assert gate.reached.wait(30)
    alphas = [1.0] + [0.0] * 4
    request(explorer, {"kind": "render", "seq": 50, "alphas": alphas, "ids": None, "final": False})
    gate.release.set()
    assert later.reached.wait(30)  # the export is still running: its step 4 rendered the drag first
    shown = [meta for meta, _ in frames(explorer) if meta["seq"] == 50]
    assert shown and not any(c.get("kind") == "file" for c, _ in explorer.sent)
    later.release.set()
    assert explorer.wait_idle(60) and not explorer.error
    files = [c for c, _ in explorer.sent if c.get("kind") == "file"]
    assert [f["mime"] for f in files] == ["image/gif"]


def test_cancel_stops_a_running_job_and_drops_queued_ones(explorer, monkeypatch):
    gate = Gate(at=2)
    _gated_gif(monkeypatch, gate)
    request(explorer, {"kind": "export_gif", "direction": 0, "frames": 30, "extent": 2.0})
    assert gate.reached.wait(30) and explorer.busy and explorer.progress["label"] == "GIF"
    request(explorer, {"kind": "export_png", "scale": 2})  # queued behind the export
    request(explorer, {"kind": "cancel"})
    gate.release.set()
    assert explorer.wait_idle(60)
    assert not any(c.get("kind") == "file" for c, _ in explorer.sent), "a cancelled export still arrived"
    assert explorer.stats["jobs_cancelled"] == 2 and not explorer.error
    assert not explorer.busy and explorer.progress == {}
    request(explorer, {"kind": "export_png", "scale": 2})  # the next job runs as usual
    assert explorer.wait_idle(60)
    (png,) = [b for c, b in explorer.sent if c.get("kind") == "file"]
    assert png[0][:8] == b"\x89PNG\r\n\x1a\n"


def test_a_job_that_dies_midway_is_reported_and_the_widget_goes_on(explorer, monkeypatch):
    real = _jobs.image_change_heatmap

    def dies(g, base, s, progress):
        progress("heatmap", 1, 10)
        raise RuntimeError("the GPU fell off the bus")

    monkeypatch.setattr(_jobs, "image_change_heatmap", dies)
    request(explorer, {"kind": "heatmap", "attribute": None})
    assert explorer.wait_idle(60)
    assert "the GPU fell off the bus" in explorer.error
    assert explorer.worker_alive and not explorer.busy and explorer.progress == {}
    assert explorer.stats["jobs_failed"] == 1
    alphas = [0.0, 1.0, 0.0, 0.0, 0.0]
    request(explorer, {"kind": "render", "seq": 70, "alphas": alphas, "ids": None, "final": True})
    assert explorer.wait_idle(60) and explorer.error == ""  # the next success clears the banner
    meta, (data,) = frames(explorer)[-1]
    assert meta["seq"] == 70 and data == expected_frame(explorer, final=True)
    monkeypatch.setattr(_jobs, "image_change_heatmap", real)
    request(explorer, {"kind": "heatmap", "attribute": None})
    assert explorer.wait_idle(60) and len(explorer.heatmap["values"]) == 5


def test_undo_of_a_compute_restores_the_directions_and_their_heatmap(explorer):
    before = explorer.state
    heatmap = explorer.heatmap
    request(explorer, {"kind": "compute", "method": "sefa", "n_directions": 2, "feature_layer": None})
    assert explorer.wait_idle(60) and len(explorer.directions) == 7 and len(explorer.heatmap["values"]) == 7
    request(explorer, {"kind": "undo", "seq": 5})
    assert explorer.wait_idle(60)
    assert explorer.state == before and len(explorer.directions) == 5
    assert explorer.heatmap == heatmap  # from the cache keyed by the session, at once
    # The handles move the images again (the page's ids of the removed directions are ignored).
    ids = list(explorer.state.ids) + [10**6, 10**6 + 1]
    request(explorer, {"kind": "render", "seq": 6, "alphas": [1.5, 0, 0, 0, 0, 2.0, 2.0], "ids": ids, "final": True})
    assert explorer.wait_idle(60) and not explorer.error
    assert explorer.alphas == [1.5, 0, 0, 0, 0]
    meta, (data,) = frames(explorer)[-1]
    assert meta["seq"] == 6 and data == expected_frame(explorer, final=True)


def test_a_heatmap_for_seeds_no_longer_shown_is_stopped(explorer, monkeypatch):
    gate = Gate(at=1)
    real = _jobs.image_change_heatmap
    calls = []

    def gated(g, base, s, progress):
        calls.append(s.seed)
        return real(g, base, s, gate.wrap(progress) if len(calls) == 1 else progress)

    monkeypatch.setattr(_jobs, "image_change_heatmap", gated)
    request(explorer, {"kind": "heatmap", "attribute": None})  # forced: runs for seed 3
    assert gate.reached.wait(30)
    request(explorer, {"kind": "new_seeds", "seq": 9, "seed": 100})
    gate.release.set()
    assert explorer.wait_idle(60) and not explorer.error
    assert calls == [3, 100] and explorer.stats["jobs_cancelled"] == 1
    assert not explorer.heatmap.get("stale") and len(explorer.heatmap["values"]) == 5


def test_exports_png_at_the_models_resolution_times_scale_and_gif_frames_captioned_with_alpha(explorer):
    import io

    from PIL import Image, ImageSequence

    for scale in (1, 2):  # one at a time: a second export queued behind the first would replace it
        request(explorer, {"kind": "export_png", "scale": scale})
        assert explorer.wait_idle(60)
    request(explorer, {"kind": "export_gif", "direction": 0, "frames": 3, "extent": 2.0})
    assert explorer.wait_idle(60) and not explorer.error
    files = [(c, b[0]) for c, b in explorer.sent if c.get("kind") == "file"]
    (png1, one), (png2, two), (gif, anim) = files
    side = explorer.generator.img_resolution  # 16 for the tiny DCGAN; 2 columns, 2-pixel gaps
    assert Image.open(io.BytesIO(one)).size == (2 * side + 2, 2 * side + 2)
    assert Image.open(io.BytesIO(two)).size == (2 * (2 * side + 2), 2 * (2 * side + 2))
    frames = [f.convert("RGB") for f in ImageSequence.Iterator(Image.open(io.BytesIO(anim)))]
    assert len(frames) == 4  # forth and back: -2, 0, +2, 0
    width, height = frames[0].size
    caption = height - (2 * side + 2)
    assert width == 2 * side + 2 and caption >= 14
    strips = [f.crop((0, 0, width, caption)).tobytes() for f in frames]
    assert len({strips[0], strips[1], strips[2]}) == 3  # each α has its own caption
    assert strips[1] == strips[3]
    assert np.asarray(frames[0].crop((0, 0, width, caption))).min() < 128  # dark text on white
