"""Drags inside an image: the content moves the way the gesture says, through continuous
factors (drag → shift_x/shift_y, Shift+drag → rotation, wheel → zoom), every cell or only
the one under the mouse; handles read t in the transformation's units; t is clamped to the
fitted range and the clamp is shown; factors and per-cell moves undo, redo, save and load.

Everything goes through the widget's comm, as the page sends it."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

import semwidget
from semwidget import Explorer
from semwidget.continuous import ContinuousFactor
from semwidget.continuous._files import load_factor, save_factor
from semwidget.files import FileFormatError, ModelMismatchError
from semwidget.widget._annotations import Annotations
from tests.continuous.blobs import RES, SMALL, blob
from tests.widget.factors import planted
from tests.widget.page import expected_frame, frames, request


@pytest.fixture(scope="module")
def shifts():
    """The blob generator and shift_x, shift_y factors fitted on it (small settings)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = blob()
        return g, ContinuousFactor("shift_x", **SMALL).fit(g), ContinuousFactor("shift_y", **SMALL).fit(g)
    finally:
        torch.set_num_threads(before)


def _open(g, factors, **kwargs):
    ex = Explorer(g, factors=factors, n_samples=4, seed=3, **kwargs)
    assert ex.wait_idle()
    ex.sent = []
    ex.send = lambda content, buffers=None: ex.sent.append((content, buffers or []))
    return ex


@pytest.fixture
def ex(shifts):
    g, cx, cy = shifts
    ex = _open(g, [cx, cy])
    yield ex
    ex.close()


class Seq:
    n = 0

    def __call__(self) -> int:
        Seq.n += 1
        return Seq.n


seq = Seq()


def _shift(ex, cell, dx, dy, scope="all", final=True):
    request(
        ex,
        {"kind": "shift_content", "seq": seq(), "cell": cell, "dx": dx, "dy": dy, "scope": scope, "final": final},
    )


def _centres(images: torch.Tensor) -> np.ndarray:
    """Each image's brightness barycentre (x, y) in pixels."""
    w = (images[:, 0] + 1).clamp_min(0) ** 4
    xs = torch.arange(RES, dtype=torch.float32) + 0.5
    return np.stack(
        [((w * xs).sum((1, 2)) / w.sum((1, 2))).numpy(), ((w * xs[:, None]).sum((1, 2)) / w.sum((1, 2))).numpy()], 1
    )


def _index(ex, transform):
    return next(i for i, d in enumerate(ex.directions) if d["factor"] == transform)


def test_a_drag_right_and_down_moves_every_cell_that_way_and_undo_takes_it_back(ex, shifts):
    _, cx, cy = shifts
    before = _centres(ex.images())
    at_rest = ex.state
    for _ in range(3):  # the moves while the mouse is down: previews, then the release
        _shift(ex, 0, 0.03, 0.02, final=False)
    _shift(ex, 0, 0.01, 0.02)
    assert ex.wait_idle() and not ex.error, ex.error
    moved = _centres(ex.images()) - before
    # 0.1 widths right, 0.08 heights down: 1.6 and 1.3 pixels of 16, in every cell.
    assert np.allclose(moved[:, 0], 0.1 * RES, atol=0.5) and np.allclose(moved[:, 1], 0.08 * RES, atol=0.5), moved
    i, j = _index(ex, "shift_x"), _index(ex, "shift_y")
    assert ex.alphas[i] == pytest.approx(cx.step(0.1)) and ex.alphas[j] == pytest.approx(cy.step(0.08))
    meta, (data,) = frames(ex)[-1]
    assert data == expected_frame(ex, final=True)
    texts = {a["id"]: a["text"] for a in meta["amounts"]}
    assert texts[ex.state.ids[i]] == "+1.6 px" and texts[ex.state.ids[j]] == "+1.3 px"
    request(ex, {"kind": "undo", "seq": seq()})  # one undo for the whole drag
    assert ex.wait_idle() and ex.state == at_rest


def test_the_handles_follow_a_drag_while_it_moves(ex, shifts):
    _, cx, _ = shifts
    _shift(ex, 2, 0.05, 0.0, final=False)
    assert ex.wait_idle()
    # The page does not know g: the kernel publishes α mid-drag so the knobs move with it.
    assert ex.alphas[_index(ex, "shift_x")] == pytest.approx(cx.step(0.05))
    assert ex.can_undo


def test_t_is_clamped_to_the_fitted_range_and_the_clamp_is_shown(ex, shifts):
    _, cx, _ = shifts
    i = _index(ex, "shift_x")
    _shift(ex, 1, 3.0, 0.0)  # far past the fitted 0.25 widths
    assert ex.wait_idle() and not ex.error
    assert ex.alphas[i] == cx.g_.step_range[1]
    amount = next(a for a in frames(ex)[-1][0]["amounts"] if a["id"] == ex.state.ids[i])
    assert amount["t"] == 0.25 and amount["text"] == "+4.0 px · max"
    _shift(ex, 1, -0.1, 0.0)  # back from the end at once: increments, not a position
    assert ex.wait_idle() and ex.alphas[i] == pytest.approx(cx.step(0.15))
    # A handle dragged past the end is clamped the same way.
    alphas = list(ex.state.alphas)
    alphas[i] = -100.0
    request(ex, {"kind": "render", "seq": seq(), "alphas": alphas, "ids": list(ex.state.ids), "final": True})
    assert ex.wait_idle() and not ex.error and ex.alphas[i] == cx.g_.step_range[0]
    amount = next(a for a in frames(ex)[-1][0]["amounts"] if a["id"] == ex.state.ids[i])
    assert amount["text"].endswith("· min") and amount["t"] == -0.25


def test_only_the_cell_under_the_mouse_moves_and_the_move_is_part_of_the_session(ex):
    before = ex.images().clone()
    at_rest = ex.state
    _shift(ex, 2, 0.1, 0.0, scope="cell", final=False)
    _shift(ex, 2, 0.05, 0.0, scope="cell")
    assert ex.wait_idle() and not ex.error, ex.error
    after = ex.images()
    changed = [(after[c] - before[c]).abs().max().item() > 1e-4 for c in range(4)]
    assert changed == [False, False, True, False]
    dx = _centres(after[2:3])[0, 0] - _centres(before[2:3])[0, 0]
    assert dx == pytest.approx(0.15 * RES, abs=0.5)
    assert all(a == 0 for a in ex.alphas) and len(ex.state.moves) == 1
    assert ex.state.moves[0].cell == "seed:5"  # cell 2 shows seed 3 + 2
    meta, (data,) = frames(ex)[-1]
    assert data == expected_frame(ex, final=True)
    assert meta["cell_amounts"] == [{"cell": 2, "text": "shift_x +2.4 px"}]
    moved = ex.state
    request(ex, {"kind": "undo", "seq": seq()})
    assert ex.wait_idle() and ex.state == at_rest
    request(ex, {"kind": "redo", "seq": seq()})
    assert ex.wait_idle() and ex.state == moved
    # The move belongs to the seed: new seeds do not show it, undo brings it back.
    request(ex, {"kind": "new_seeds", "seq": seq(), "seed": None})
    assert ex.wait_idle() and ex.state.moves == ()
    request(ex, {"kind": "undo", "seq": seq()})
    assert ex.wait_idle() and ex.state == moved
    # A global drag afterwards adds to the cell's own move (clamped together).
    _shift(ex, 0, 0.2, 0.0)
    assert ex.wait_idle()
    assert [m["text"] for m in frames(ex)[-1][0]["cell_amounts"]] == ["shift_x +4.0 px · max"]
    assert frames(ex)[-1][1][0] == expected_frame(ex, final=True)


def test_real_cells_move_too(shifts, tmp_path):
    g, cx, cy = shifts
    targets = g.synthesize(g.sample(2, seed=50))
    inversion = semwidget.invert(g, targets, steps=3, init="random", progress=False)
    ex = _open(g, [cx, cy], images=inversion)
    try:
        before = ex.images().clone()
        _shift(ex, 5, 0.0, 0.1, scope="cell")  # the second real image
        assert ex.wait_idle() and not ex.error, ex.error
        after = ex.images()
        assert [c for c in range(6) if (after[c] - before[c]).abs().max() > 1e-4] == [5]
        assert ex.state.moves[0].cell == f"real:{ex.state.reals[1].uid}"
        assert frames(ex)[-1][1][0] == expected_frame(ex, final=True)
        # Saved by its place among the real images (uids are this process's), and back.
        ex.save_annotations(tmp_path / "a")
        ex.load_annotations(tmp_path / "a")
        assert ex.wait_idle() and ex.state.moves[0].cell == f"real:{ex.state.reals[1].uid}"
        assert torch.allclose(ex.images()[5], after[5], atol=1e-5)
        # Removing the image takes its move with it.
        request(ex, {"kind": "remove_image", "seq": seq(), "uid": ex.state.reals[1].uid})
        assert ex.wait_idle() and ex.state.moves == ()
    finally:
        ex.close()


@pytest.fixture
def planted_ex(tiny_dcgan):
    factors = [
        planted(tiny_dcgan, "zoom", 0, per_unit=0.5, t_max=0.5),
        planted(tiny_dcgan, "rotation", 1, per_unit=0.25, t_max=0.5),
        planted(tiny_dcgan, "brightness", 2, per_unit=0.1, t_max=0.4),
        planted(tiny_dcgan, "shift_x", 3, per_unit=0.1, t_max=0.2),
    ]
    ex = _open(tiny_dcgan, factors)
    yield ex
    ex.close()


def _amount(ex, transform):
    i = _index(ex, transform)
    return next(a for a in frames(ex)[-1][0]["amounts"] if a["id"] == ex.state.ids[i])


def test_the_wheel_zooms_by_ratios_and_shift_drag_turns_by_degrees(planted_ex):
    ex = planted_ex
    request(ex, {"kind": "zoom_content", "seq": seq(), "cell": 0, "ratio": 1.2, "scope": "all", "final": False})
    request(ex, {"kind": "zoom_content", "seq": seq(), "cell": 0, "ratio": 1.1, "scope": "all", "final": True})
    assert ex.wait_idle() and not ex.error, ex.error
    # Ratios multiply the scale 1 + t: 1.2 × 1.1 = 1.32; g(t) = t / 0.5.
    assert _amount(ex, "zoom") == {"id": ex.state.ids[_index(ex, "zoom")], "t": 0.32, "text": "×1.32"}
    assert ex.alphas[_index(ex, "zoom")] == pytest.approx(0.64)
    request(ex, {"kind": "turn_content", "seq": seq(), "cell": 1, "degrees": 15.0, "scope": "all", "final": True})
    assert ex.wait_idle() and not ex.error
    assert _amount(ex, "rotation")["text"] == "+15°" and ex.alphas[_index(ex, "rotation")] == pytest.approx(
        15 / 90 / 0.25
    )
    request(ex, {"kind": "turn_content", "seq": seq(), "cell": 1, "degrees": -20.0, "scope": "all", "final": True})
    assert ex.wait_idle() and _amount(ex, "rotation")["text"] == "-5.0°"
    assert frames(ex)[-1][1][0] == expected_frame(ex, final=True)


@pytest.mark.parametrize(
    ("transform", "t", "text"),
    [
        ("shift_x", 0.19, "+3.0 px"),
        ("shift_x", -0.05, "-0.8 px"),
        ("zoom", -0.2, "×0.80"),
        ("brightness", 0.1, "+0.10"),
        ("rotation", 0.5, "+45° · max"),
    ],
)
def test_handles_read_t_in_the_transformations_units(planted_ex, transform, t, text):
    ex = planted_ex
    i = _index(ex, transform)
    cf = ex.factors[[d["factor"] for d in ex.directions if d["factor"]].index(transform)]
    alphas = list(ex.state.alphas)
    alphas[i] = float(cf.step(t))
    request(ex, {"kind": "render", "seq": seq(), "alphas": alphas, "ids": list(ex.state.ids), "final": True})
    assert ex.wait_idle() and not ex.error, ex.error
    assert _amount(ex, transform)["text"] == text  # 16-pixel images: 0.19 widths = 3.0 px
    d = ex.directions[i]
    assert d["steps"] == list(cf.g_.step_range) and d["extent"] == max(map(abs, cf.g_.step_range))


def test_a_gesture_without_its_factor_is_refused_in_the_widget(tiny_dcgan):
    ex = _open(tiny_dcgan, [planted(tiny_dcgan, "zoom", 0)])
    try:
        before = ex.state
        _shift(ex, 0, 0.1, 0.0)
        assert ex.wait_idle() and "needs a fitted shift_x or shift_y factor" in ex.error
        assert ex.state == before
        for bad in (
            {"kind": "shift_content", "seq": 1, "cell": 0, "dx": 5.0, "dy": 0.0, "scope": "all", "final": True},
            {"kind": "zoom_content", "seq": 1, "cell": 0, "ratio": 0.0, "scope": "all", "final": True},
            {"kind": "zoom_content", "seq": 1, "cell": 0, "ratio": 1.1, "scope": "page", "final": True},
            {"kind": "zoom_content", "seq": 1, "cell": 9, "ratio": 1.1, "scope": "cell", "final": True},
            {"kind": "turn_content", "seq": 1, "cell": 0, "degrees": float("nan"), "scope": "all", "final": True},
        ):
            ex.error = ""
            request(ex, bad)
            assert ex.wait_idle() and ex.error and ex.state == before, bad
    finally:
        ex.close()


def test_factors_and_moves_save_and_load_with_the_annotations(ex, shifts, tmp_path):
    g, cx, _ = shifts
    request(ex, {"kind": "rename", "direction": _index(ex, "shift_x"), "label": "left-right"})
    _shift(ex, 1, 0.1, -0.05, scope="cell")
    assert ex.wait_idle() and not ex.error
    shown = ex.images().clone()
    path = ex.save_annotations(tmp_path / "mine")
    fresh = _open(g, None)
    try:
        fresh.load_annotations(path)
        assert fresh.wait_idle() and not fresh.error
        s = fresh.state
        assert [d["factor"] for d in fresh.directions][-2:] == ["shift_x", "shift_y"]
        assert fresh.directions[-2]["label"] == "left-right"
        assert [(m.cell, m.step) for m in s.moves] == [(m.cell, m.step) for m in ex.state.moves]
        assert torch.equal(fresh.images(), shown)
        loaded = fresh.factors[0]
        assert np.array_equal(loaded.g_.t, cx.g_.t) and np.array_equal(loaded.g_.step, cx.g_.step)
        assert np.array_equal(loaded.direction_.vectors, cx.direction_.vectors)
        assert np.array_equal(loaded.trajectories_.error, cx.trajectories_.error)
        assert loaded.get_params() == {**cx.get_params(), "progress": False}
    finally:
        fresh.close()
    with pytest.raises(ModelMismatchError):  # the file keeps the model's identity
        Annotations.load(path, "another model's fingerprint")


def test_a_factor_saves_and_loads_alone_and_edits_the_same(shifts, tmp_path):
    g, cx, _ = shifts
    path = save_factor(cx, tmp_path / "shift_x")
    back = load_factor(path, g)
    latents = g.sample(3, seed=11)
    assert torch.equal(back.edit(latents, 0.1).ws, cx.edit(latents, 0.1).ws)
    with pytest.raises(ModelMismatchError):
        load_factor(path, "another fingerprint")


def test_a_factor_of_a_callable_loads_to_edit_but_not_to_refit(tiny_dcgan, tmp_path):
    cf = planted(tiny_dcgan, "shift_x", 0)
    cf.set_params(transform=lambda images, t: (images, torch.ones(images.shape[-2:])))
    back = load_factor(save_factor(cf, tmp_path / "c"))
    latents = tiny_dcgan.sample(2, seed=1)
    assert torch.equal(back.edit(latents, 0.1).ws, cf.edit(latents, 0.1).ws)
    with pytest.raises(ValueError, match="is a Python callable, which files do not hold"):
        back.set_params(n_trajectories=2, t_steps=1, steps_per_target=1).fit(tiny_dcgan)


def _damage(path, edit):
    import json

    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.update(knots=10**9), "knots"),
        (lambda m: m.update(trajectories=[10**9, 3]), "beyond what a fit makes"),
        (lambda m: m.update(transform="melt"), "unknown transform"),
        (lambda m: m["params"].update(n_trajectories=-3), "n_trajectories"),
        (lambda m: m["params"].update(evil="x"), "unknown parameters"),
        (lambda m: m.update(format="semwidget.continuous_factor/99"), "expected format"),
        (lambda m: m.update(explained=None), "explained"),
    ],
)
def test_a_damaged_factor_file_is_refused(shifts, tmp_path, edit, match):
    _, cx, _ = shifts
    path = save_factor(cx, tmp_path / "f")
    _damage(path, edit)
    with pytest.raises(FileFormatError, match=match):
        load_factor(path)


def test_a_factor_file_whose_g_is_not_increasing_is_refused(shifts, tmp_path):
    _, cx, _ = shifts
    path = save_factor(cx, tmp_path / "g")
    # Rewrite the arrays with a decreasing g: the record's own check refuses it.
    from semwidget.continuous import _files
    from semwidget.files._atomic import load_json_npz, save_json_npz

    meta, arrays = load_json_npz(path, "x", lambda m: _files.saved_factor_arrays(m))
    arrays["g_step"] = arrays["g_step"][::-1].copy()
    save_json_npz(tmp_path / "g", {k: v for k, v in meta.items() if k != "arrays"}, arrays)
    with pytest.raises(FileFormatError, match="increase strictly"):
        load_factor(tmp_path / "g")


def test_add_factors_fits_names_here_and_undo_takes_them_off(tiny_dcgan):
    ex = _open(tiny_dcgan, None, factor_options={"n_trajectories": 2, "t_steps": 1, "steps_per_target": 2})
    try:
        before = ex.state
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a tiny fit on a tiny model: its quality is not the point
            ex.add_factors("zoom", planted(tiny_dcgan, "shift_x", 0))
        assert ex.wait_idle() and [d["factor"] for d in ex.directions][-2:] == ["zoom", "shift_x"]
        assert set(range(len(before.alphas), len(ex.state.alphas))) <= set(ex.active)  # each with its handle
        request(ex, {"kind": "undo", "seq": seq()})
        assert ex.wait_idle() and ex.state == before
    finally:
        ex.close()


def test_fit_factor_from_the_page_shows_progress_and_cancel_adds_nothing(tiny_dcgan):
    ex = _open(tiny_dcgan, None, factor_options={"n_trajectories": 2, "t_steps": 1, "steps_per_target": 100_000})
    try:
        seen = []
        ex.observe(lambda change: seen.append(change["new"]), names="progress")
        before = ex.state
        request(ex, {"kind": "fit_factor", "transform": "shift_x"})
        deadline = time.monotonic() + 60
        while not any(p.get("value", 0) >= 3 for p in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(p.get("total", 0) >= 100_000 for p in seen), seen[-3:]
        request(ex, {"kind": "cancel"})
        assert ex.wait_idle(60)
        assert ex.state == before and ex.stats["jobs_cancelled"] == 1 and not ex.error
    finally:
        ex.close()


def test_fit_factor_from_the_page_adds_a_factor_with_its_handle(tiny_dcgan):
    ex = _open(tiny_dcgan, None, factor_options={"n_trajectories": 3, "t_steps": 1, "steps_per_target": 3})
    try:
        request(ex, {"kind": "fit_factor", "transform": "brightness"})
        assert ex.wait_idle(120) and not ex.error, ex.error
        assert ex.directions[-1]["factor"] == "brightness" and len(ex.directions) - 1 in ex.active
        assert ex.factors[-1].get_params()["steps_per_target"] == 3
        assert frames(ex)[-1][0]["amounts"][-1]["text"] == "+0.00"
    finally:
        ex.close()


def test_copy_as_code_reproduces_the_cells_moved_on_their_own(ex):
    _shift(ex, 0, 0.05, 0.0)
    _shift(ex, 3, 0.0, 0.1, scope="cell")
    assert ex.wait_idle() and not ex.error
    code = ex.code()
    assert "cells[3] = semwidget.edit(cells[3], d2[0]" in code
    namespace = {"generator": ex.generator}
    exec(code.rsplit("\n", 2)[0], namespace)  # all but the image grid
    assert torch.allclose(namespace["latents"].ws, ex.latents().ws, atol=1e-3)


def test_a_gif_of_a_factor_is_captioned_in_the_transformations_units(ex, monkeypatch):
    from semwidget.widget import _jobs

    captions = []
    real = _jobs._captioned
    monkeypatch.setattr(_jobs, "_captioned", lambda picture, text: captions.append(text) or real(picture, text))
    shift_x = next(i for i, d in enumerate(ex.directions) if d["label"] == "shift_x")
    for direction in (shift_x, 0):  # one at a time: a newer export of the same kind replaces a waiting one
        request(ex, {"kind": "export_gif", "direction": direction, "frames": 3, "extent": 1.0})
        assert ex.wait_idle()
    factor = ex.state.factor_at(shift_x)
    ends = [factor.text(factor.clamp(a)) for a in (-1.0, 0.0, 1.0)]
    assert captions[:3] == [f"shift_x  {e}" for e in ends] and ends[0].endswith("px") and ends[1] == "+0.0 px"
    if ex.state.factor_at(0) is None:  # any other direction keeps its α caption
        assert captions[3:] == [f"{ex.directions[0]['label']}  α = {a:+.2f}" for a in (-1.0, 0.0, 1.0)]
