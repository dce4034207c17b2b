"""The Explorer's kernel side: its requests handled directly, no browser."""

import io
import re
import threading
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import semwidget
from semwidget import Directions, Explorer
from tests.layouts.nvidia_stylegan import Generator as NvidiaSG2


def _frames(ex):
    return [(c, b) for c, b in ex.sent if c["kind"] == "frame"]


def _render(ex, seq, alphas, final=True):
    ex.handle({"kind": "render", "seq": seq, "alphas": alphas, "final": final})
    assert ex.wait_idle()


def test_first_frame_and_heatmap_arrive_on_their_own(tiny_dcgan):
    ex = Explorer(tiny_dcgan, n_samples=4)
    assert ex.wait_idle()
    assert ex.render_seq == 0 and ex.frame_checksum == zlib.crc32(ex.last_frame.data)
    assert [d["method"] for d in ex.directions] == ["sefa"] * 5
    assert ex.heatmap["columns"] == ["z", "main.2", "main.5"]
    assert ex.heatmap["values"][0][0] > 0 and ex.heatmap["values"][0][1] is None
    assert ex.active == [0, 1, 2] and ex.pad == [0, 1] and ex.layers == [[0]] * 5
    ex.close()


def test_render_shows_exactly_the_public_api_edit(explorer):
    _render(explorer, 1, [1.5, 0, -1.0, 0, 0], final=False)
    content, (data,) = _frames(explorer)[-1]
    assert content["seq"] == 1 and content["mime"] == "image/jpeg" and content["checksum"] == zlib.crc32(data)
    assert (content["count"], content["columns"], content["cell"]) == (4, 2, 16)
    d = explorer.direction_blocks[0]
    g = explorer.generator
    expected = semwidget.edit(g.sample(4, seed=3), d[[0, 2]], [1.5, -1.0])
    assert torch.allclose(explorer.latents().ws, expected.ws)
    assert torch.allclose(explorer.images(), g.synthesize(expected))
    _render(explorer, 2, [1.5, 0, -1.0, 0, 0], final=True)
    content, (data,) = _frames(explorer)[-1]
    assert content["mime"] == "image/png"
    png = np.asarray(Image.open(io.BytesIO(data)))
    assert png.shape == (32, 32, 3)
    assert np.array_equal(png[:16, :16], semwidget.to_uint8(g.synthesize(expected))[0])  # PNG is lossless
    assert explorer.alphas == [1.5, 0, -1.0, 0, 0] and explorer.render_seq == 2


def test_newest_render_wins_and_never_queues_more_than_one(explorer, monkeypatch):
    gate = threading.Event()
    synthesize = explorer.generator.synthesize

    def slow(latents, **kw):
        gate.wait(5)
        return synthesize(latents, **kw)

    monkeypatch.setattr(explorer.generator, "synthesize", slow)
    for seq in range(1, 61):
        explorer.handle({"kind": "render", "seq": seq, "alphas": [seq / 30, 0, 0, 0, 0], "final": seq == 60})
    gate.set()
    assert explorer.wait_idle()
    stats = explorer.stats
    assert stats["max_pending"] <= 1
    assert stats["rendered"] <= 3 and stats["dropped"] >= 57  # one may have started before the others came
    seqs = [c["seq"] for c, _ in _frames(explorer)]
    assert seqs == sorted(seqs) and seqs[-1] == 60
    assert explorer.render_seq == 60 and explorer.alphas[0] == 2.0


def test_layers_restrict_edits_on_a_layer_wise_generator():
    torch.manual_seed(0)
    g = semwidget.as_generator(NvidiaSG2(), device="cpu")
    ex = Explorer(g, n_samples=2)
    assert ex.wait_idle()
    assert ex.heatmap["columns"] == g.layer_names and all(v is not None for v in ex.heatmap["values"][0])
    ex.handle({"kind": "set_layers", "seq": 1, "direction": 0, "layers": [1, 2]})
    _render(ex, 2, [2.0, 0, 0, 0, 0])
    moved = (ex.latents().ws != g.sample(2).ws).any(-1).any(0).tolist()
    assert moved == [i in (1, 2) for i in range(g.num_ws)]
    assert ex.layers[0] == [1, 2] and not ex.error
    ex.close()


def test_active_undo_redo_reset(explorer):
    _render(explorer, 1, [1.0, 2.0, 0, 0, 0])
    explorer.handle({"kind": "set_active", "seq": 2, "active": [0, 3]})
    assert explorer.wait_idle()
    assert explorer.active == [0, 3] and explorer.alphas == [1.0, 0, 0, 0, 0]  # no handle, no effect
    explorer.handle({"kind": "undo", "seq": 3})
    assert explorer.wait_idle()
    assert explorer.alphas == [1.0, 2.0, 0, 0, 0] and explorer.can_redo
    explorer.handle({"kind": "redo", "seq": 4})
    assert explorer.wait_idle()
    assert explorer.active == [0, 3]
    explorer.handle({"kind": "reset", "seq": 5})
    assert explorer.wait_idle()
    assert explorer.alphas == [0.0] * 5 and explorer.render_seq == 5
    assert torch.equal(explorer.latents().ws, explorer.generator.sample(4, seed=3).ws)


def test_compute_adds_channel_directions_with_their_heatmap_column(explorer):
    explorer.handle({"kind": "compute", "method": "sefa", "n_directions": 2, "feature_layer": "main.5"})
    assert explorer.wait_idle()
    assert len(explorer.directions) == 7 and explorer.directions[5]["space"] == "main.5"
    assert explorer.layers[5] == [2]  # the column of main.5
    row = explorer.heatmap["values"][5]
    assert row[2] > 0 and row[0] is None
    explorer.handle({"kind": "compute", "method": "ganspace", "n_directions": 2, "feature_layer": None})
    assert explorer.wait_idle()
    assert explorer.directions[7]["sigma"] is not None and explorer.directions[7]["extent"] == 3.0
    _render(explorer, 1, [0] * 5 + [1.0, 0, 0.5, 0])
    assert not explorer.error and explorer.render_seq == 1


def test_exports_send_files(explorer):
    explorer.handle({"kind": "export_png"})
    explorer.handle({"kind": "export_gif", "direction": 0, "frames": 5, "extent": 2.0})
    assert explorer.wait_idle()
    files = [(c, b) for c, b in explorer.sent if c["kind"] == "file"]
    assert [c["mime"] for c, _ in files] == ["image/png", "image/gif"]
    gif = Image.open(io.BytesIO(files[1][1][0]))
    assert gif.n_frames == 8  # 5 forth, 3 back


def test_copy_as_code_reproduces_the_grid(digiface):
    ex = Explorer(digiface, n_samples=4, seed=7)
    assert ex.wait_idle()
    ex.handle({"kind": "compute", "method": "sefa", "n_directions": 1, "feature_layer": "main.8"})
    assert ex.wait_idle()
    _render(ex, 1, [1.5, 0, -2.0, 0, 0, 0.4])
    sent = []
    ex.send = lambda content, buffers=None: sent.append(content)
    ex.handle({"kind": "copy_code"})
    code = sent[-1]["text"]
    assert 'semwidget.load("digiface-dcgan")' in code and "feature_layer='main.8'" in code
    namespace = {}
    exec(compile(code.replace("semwidget.image_grid(", "grid = semwidget.image_grid("), "<copied>", "exec"), namespace)
    assert np.array_equal(np.asarray(namespace["grid"]), np.asarray(semwidget.image_grid(ex.images(), ncols=2)))
    ex.close()


@pytest.mark.parametrize(
    "request_,match",
    [
        ({"kind": "render", "seq": 1, "alphas": [float("nan"), 0, 0, 0, 0], "final": True}, "finite"),
        ({"kind": "render", "seq": 1, "alphas": [500, 0, 0, 0, 0], "final": True}, "outside"),
        ({"kind": "render", "seq": 1, "alphas": [1.0], "final": True}, "expected 5 alphas"),
        ({"kind": "render", "seq": 1, "final": True}, "lacks the field 'alphas'"),
        (
            {"kind": "render", "seq": 1.5, "alphas": [0] * 5, "final": True},
            "'seq' must be an integer in \\[0, 9007199254740991\\]",
        ),
        ({"kind": "set_layers", "seq": 1, "direction": 0, "layers": [99]}, "cannot be applied at columns \\[99\\]"),
        ({"kind": "set_layers", "seq": 1, "direction": 0, "layers": [1]}, "cannot be applied at columns \\[1\\]"),
        ({"kind": "set_active", "seq": 1, "active": [7]}, "indices in \\[0, 5\\)"),
        (
            {"kind": "compute", "method": "magic", "n_directions": 2, "feature_layer": None},
            "'method' must be one of \\['sefa', 'ganspace'\\]",
        ),
        (
            {"kind": "compute", "method": "sefa", "n_directions": 999, "feature_layer": None},
            r"'n_directions' must be an integer in \[1, 64\]",
        ),
        (
            {"kind": "compute", "method": "sefa", "n_directions": 0, "feature_layer": None},
            r"'n_directions' must be an integer in \[1, 64\]",
        ),
        (
            {"kind": "compute", "method": "sefa", "n_directions": -3, "feature_layer": None},
            r"'n_directions' must be an integer in \[1, 64\]",
        ),
        ({"kind": "rename", "direction": 0, "label": "\ud800"}, "UTF-8 text"),
        ({"kind": "note", "direction": 0, "text": "x" * 10_001}, "at most 10000 characters"),
    ],
)
def test_bad_requests_show_an_error_and_the_next_drag_works(explorer, request_, match):
    explorer.handle(request_)
    assert explorer.wait_idle()
    errors = [c for c, _ in explorer.sent if c["kind"] == "error"]
    assert errors and re.search(match, errors[-1]["message"]), errors
    errors[-1]["message"].encode("utf-8")  # the report can always travel back to the page

    assert explorer.error == errors[-1]["message"]
    _render(explorer, 10, [0.5, 0, 0, 0, 0])
    assert explorer.render_seq == 10 and explorer.error == ""


def test_a_generator_that_raises_is_shown_and_survived(explorer, monkeypatch):
    real = explorer.generator.synthesize
    calls = {"n": 0}

    def flaky(latents, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(latents, **kw)

    monkeypatch.setattr(explorer.generator, "synthesize", flaky)
    _render(explorer, 1, [1.0, 0, 0, 0, 0])
    assert "CUDA out of memory" in explorer.error and explorer.render_seq == 0
    _render(explorer, 2, [1.0, 0, 0, 0, 0])
    assert explorer.render_seq == 2 and explorer.error == ""


def test_constructor_refuses_bad_arguments(tiny_dcgan, tiny_pggan):
    with pytest.raises(ValueError, match="do not fit"):
        Explorer(tiny_dcgan, directions=Directions(vectors=np.eye(3), scores=[3, 2, 1], space="z"))
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['colums'\\]"):
        Explorer(tiny_dcgan, colums=3)
    with pytest.raises(ValueError, match="n_samples"):
        Explorer(tiny_dcgan, n_samples=0)
    with pytest.raises(ValueError, match="allow_other_model"):
        Explorer(tiny_dcgan, directions=Directions(vectors=np.ones((1, 8)), scores=[1], space="z", model=tiny_pggan))


@pytest.mark.parametrize(
    "trait,value,match",
    [
        ("columns", 0, r"'columns' must be an integer in \[1, 8\]"),
        ("columns", 99, r"'columns' must be an integer in \[1, 8\]"),
        ("resolution", 6000, r"'resolution' must be an integer in \[8, 4096\]"),
        ("resolution", 33, r"resolution must be in \[8, 32\]"),
        ("resolution", 0, r"'resolution' must be an integer in \[8, 4096\]"),
        ("n_samples", 5, r"may set only the traits \['columns', 'resolution'\]"),
        ("columns", "3", r"'columns' must be an integer in \[1, 8\]"),
    ],
)
def test_trait_writes_from_the_page_are_bounded(explorer, trait, value, match):
    before = getattr(explorer, trait)
    explorer.set_state({trait: value})  # what ipywidgets calls for the page's update message
    assert re.search(match, explorer.error), explorer.error
    assert getattr(explorer, trait) == before
    _render(explorer, 10, [0.5, 0, 0, 0, 0])
    assert explorer.render_seq == 10 and not explorer.error
