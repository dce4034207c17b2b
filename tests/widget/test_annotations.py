"""Labelling, naming and saving annotations in the Explorer (kernel side)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import semwidget
from semwidget import Explorer
from semwidget.directions import boundary_from_labels
from semwidget.widget._annotations import Annotations


@pytest.fixture
def explorer(tiny_dcgan):
    ex = Explorer(tiny_dcgan, n_samples=8, seed=0)
    assert ex.wait_idle()
    ex.sent = []
    ex.send = lambda content, buffers=None: ex.sent.append(content)
    yield ex
    ex.close()


def _label_by_first_z(ex, pages=2):
    """Label cells positive when z[0] > 0, as an annotator who sees that attribute would."""
    ex.handle({"kind": "set_attribute", "name": "bright"})
    for page in range(pages):
        z = ex.generator.sample(ex.n_samples, seed=ex.seed).ws[:, 0, 0]
        for cell, value in enumerate(z.tolist()):
            ex.handle({"kind": "label", "cell": cell, "value": 1 if value > 0 else -1})
        if page < pages - 1:
            ex.handle({"kind": "new_seeds", "seq": 100 + page, "seed": None})
            assert ex.wait_idle()


def test_labels_are_kept_by_seed_across_pages(explorer):
    _label_by_first_z(explorer)
    counts = explorer.label_counts["bright"]
    assert sum(counts) == 16 and explorer.seed == 8
    explorer.handle({"kind": "new_seeds", "seq": 200, "seed": 0})
    assert explorer.wait_idle()
    z = explorer.generator.sample(8, seed=0).ws[:, 0, 0]
    assert explorer.cell_labels == [1 if v > 0 else -1 for v in z.tolist()]
    explorer.handle({"kind": "label", "cell": 0, "value": 0})
    assert explorer.cell_labels[0] == 0 and sum(explorer.label_counts["bright"]) == 15


def test_a_label_refers_to_the_grid_on_screen(explorer):
    explorer.handle({"kind": "set_attribute", "name": "smile"})
    explorer.handle({"kind": "new_seeds", "seq": 1, "seed": None})  # the page still shows seeds 0..7
    explorer.handle({"kind": "label", "cell": 2, "value": 1, "seed": 0})
    assert [(x.attribute, x.seed, x.value) for x in explorer.state.labels] == [("smile", 2, 1)]
    assert explorer.wait_idle()
    frame = [c for c in explorer.sent if c["kind"] == "frame"][-1]
    assert frame["seed"] == 8 and explorer.cell_labels == [0] * 8


def test_train_adds_a_boundary_that_points_at_the_labelled_attribute(explorer):
    _label_by_first_z(explorer, pages=3)
    explorer.handle({"kind": "train"})
    assert explorer.wait_idle() and not explorer.error
    d = explorer.directions[-1]
    assert d["label"] == "bright" and d["method"] == "labels" and d["latent"]
    vector = explorer.direction_blocks[-1].vectors[0]
    assert vector[0] > 0.5  # the boundary found z[0] from 24 clicks
    assert explorer.layers[-1] == [0] and len(explorer.alphas) == 6


def test_too_few_or_one_class_labels_are_refused(explorer):
    explorer.handle({"kind": "set_attribute", "name": "smile"})
    for cell in range(5):
        explorer.handle({"kind": "label", "cell": cell, "value": 1})
    explorer.handle({"kind": "train"})
    assert explorer.wait_idle()
    assert "at least 4 positive and 4 negative" in explorer.error
    explorer.handle({"kind": "label", "cell": 1, "value": 3})
    assert "'value' must be an integer in [-1, 1]" in explorer.error
    with pytest.raises(ValueError, match="at least 4 positive"):
        boundary_from_labels(np.random.default_rng(0).normal(size=(8, 3)), [1] * 8)


def test_rename_and_notes(explorer):
    explorer.handle({"kind": "rename", "direction": 1, "label": "  head turn "})
    explorer.handle({"kind": "note", "direction": 1, "text": "yaw, mostly; some lighting"})
    assert explorer.directions[1]["label"] == "head turn"
    assert explorer.directions[1]["notes"] == "yaw, mostly; some lighting"
    explorer.handle({"kind": "rename", "direction": 9, "label": "x"})
    assert "index in [0, 5)" in explorer.error
    explorer.handle({"kind": "rename", "direction": 0, "label": "   "})
    assert "cannot be empty" in explorer.error


def test_annotations_round_trip_through_a_file(explorer, tmp_path, tiny_dcgan):
    _label_by_first_z(explorer)
    explorer.handle({"kind": "train"})
    explorer.handle({"kind": "compute", "method": "sefa", "n_directions": 2, "feature_layer": "main.5"})
    assert explorer.wait_idle()
    explorer.handle({"kind": "rename", "direction": 0, "label": "pose"})
    explorer.handle({"kind": "note", "direction": 0, "text": "check on more seeds"})
    explorer.handle({"kind": "set_layers", "seq": 1, "direction": 6, "layers": []})
    explorer.annotations_dir = tmp_path / "ann"
    explorer.handle({"kind": "save", "path": "faces"})
    assert explorer.wait_idle() and not explorer.error and explorer.annotations_path == "faces"
    meta = json.loads((tmp_path / "ann" / "faces.json").read_text())
    assert {a for a, _, _ in meta["labels"]} == {"bright"} and meta["model"]["fingerprint"] == tiny_dcgan.fingerprint

    fresh = Explorer(tiny_dcgan, n_samples=8)
    assert fresh.wait_idle()
    fresh.load_annotations(tmp_path / "ann" / "faces")
    assert fresh.wait_idle()
    assert [d["label"] for d in fresh.directions] == [d["label"] for d in explorer.directions]
    assert fresh.directions[0]["notes"] == "check on more seeds"
    assert fresh.layers == explorer.layers and fresh.layers[6] == []
    assert fresh.label_counts == explorer.label_counts
    for a, b in zip(fresh.state.blocks, explorer.state.blocks):
        assert np.array_equal(a.directions.vectors, b.directions.vectors) and a.recipe == b.recipe
    fresh.close()


def test_annotations_of_another_model_or_a_damaged_file_are_refused(explorer, tmp_path, tiny_pggan):
    explorer.save_annotations(tmp_path / "a")
    other = Explorer(tiny_pggan, n_samples=2, annotations_dir=tmp_path)
    assert other.wait_idle()
    other.send = lambda content, buffers=None: None
    other.handle({"kind": "load", "path": "a"})
    assert other.wait_idle()
    assert "belong to model 'TinyDCGAN'" in other.error
    other.close()
    (tmp_path / "b.json").write_text('{"format": "semwidget.annotations/1", "arrays": "missing.npz"}')
    with pytest.raises(FileNotFoundError, match="which is missing"):
        Annotations.load(tmp_path / "b")
    before = (tmp_path / "a.json").read_text()
    (tmp_path / "c.json").write_text("{not json")
    explorer.annotations_dir = tmp_path
    explorer.handle({"kind": "load", "path": "c"})
    assert explorer.wait_idle() and "not a semwidget annotations file" in explorer.error
    assert (tmp_path / "a.json").read_text() == before  # nothing saved was touched


def test_annotations_load_in_a_new_kernel(tmp_path, digiface):
    """The real thing: save from this process, load in a fresh Python on the same zoo model."""
    ex = Explorer(digiface, n_samples=4)
    assert ex.wait_idle()
    ex.handle({"kind": "rename", "direction": 1, "label": "head turn"})
    ex.handle({"kind": "set_attribute", "name": "smile"})
    ex.handle({"kind": "label", "cell": 2, "value": 1})
    ex.save_annotations(tmp_path / "faces")
    ex.close()
    script = textwrap.dedent(f"""
        import semwidget
        G = semwidget.load("digiface-dcgan", device="cpu")
        ex = semwidget.Explorer(G, n_samples=4)
        ex.load_annotations({str(tmp_path / "faces")!r})
        ex.wait_idle()
        print(ex.directions[1]["label"], ex.label_counts["smile"], ex.error == "")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["head", "turn", "[1,", "0]", "True"]


def test_heatmap_can_show_rescoring_of_a_scorer_attribute(tiny_dcgan):
    brightness = semwidget.scorers.Brightness()
    ex = Explorer(tiny_dcgan, n_samples=4, scorers=[brightness])
    assert ex.wait_idle()
    assert ex.attributes == ["brightness"]
    ex.handle({"kind": "heatmap", "attribute": "brightness"})
    assert ex.wait_idle() and not ex.error
    assert ex.heatmap["kind"].startswith("re-scoring delta of brightness")
    assert all(v is None or v >= 0 for row in ex.heatmap["values"] for v in row)
    ex.handle({"kind": "heatmap", "attribute": "age"})
    assert "attribute must be one of" in ex.error
    ex.close()
    assert torch.is_tensor(ex.images())


def test_copy_as_code_writes_out_trained_directions(explorer):
    _label_by_first_z(explorer)
    explorer.handle({"kind": "train"})
    assert explorer.wait_idle() and not explorer.error
    explorer.handle({"kind": "render", "seq": 5, "alphas": [0, 0, 0, 0, 0, 1.5], "final": True})
    assert explorer.wait_idle()
    code = explorer.code()
    assert "semwidget.Directions(vectors=" in code and "method='labels'" in code
    generator = explorer.generator
    namespace = {"generator": generator}
    exec(compile(code.replace("semwidget.image_grid(", "grid = semwidget.image_grid("), "<copied>", "exec"), namespace)
    assert np.array_equal(np.asarray(namespace["grid"]), np.asarray(semwidget.image_grid(explorer.images(), ncols=3)))
    assert explorer.direction_blocks[-1].labels == ("bright",)


@pytest.mark.parametrize(
    "name",
    ["../escape", "/etc/passwd", "a/b", "a\\b", "..", ".hidden", "", "  ", "x" * 101, "name.", "a\nb", "~root"],
)
def test_the_page_names_a_file_inside_the_annotations_folder_and_nothing_else(explorer, tmp_path, name):
    explorer.annotations_dir = tmp_path / "ann"
    for kind in ("save", "load"):
        explorer.handle({"kind": kind, "path": name})
        assert explorer.wait_idle()
        assert "an annotations name is a file name inside" in explorer.error, (kind, explorer.error)
    assert not any(p.suffix in (".json", ".npz") for p in tmp_path.rglob("*"))


def test_links_out_of_the_annotations_folder_are_not_followed(explorer, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / "faces.json").symlink_to(outside / "faces.json")
    explorer.annotations_dir = folder
    explorer.handle({"kind": "save", "path": "faces"})
    assert explorer.wait_idle() and "is a link or leads out of" in explorer.error
    assert not list(outside.iterdir())
    linked = tmp_path / "linked"
    linked.symlink_to(outside, target_is_directory=True)
    explorer.annotations_dir = linked
    explorer.handle({"kind": "save", "path": "faces"})
    assert explorer.wait_idle() and "is a link; refusing" in explorer.error
    assert not list(outside.iterdir())
    explorer.annotations_dir = folder
    explorer.handle({"kind": "save", "path": "mine"})  # a plain name still works
    assert explorer.wait_idle() and not explorer.error and (folder / "mine.json").is_file()


def test_a_label_keeps_the_edited_latent_that_was_on_screen(explorer):
    explorer.handle({"kind": "set_attribute", "name": "smile"})
    explorer.handle({"kind": "render", "seq": 3, "alphas": [2.0, 0, 0, 0, 0], "final": True})
    assert explorer.wait_idle()
    shown = [c for c in explorer.sent if c["kind"] == "frame"][-1]
    explorer.handle({"kind": "new_seeds", "seq": 4, "seed": None})  # on its way, not yet seen
    explorer.handle({"kind": "label", "cell": 1, "value": 1, "seed": shown["seed"], "version": shown["version"]})
    assert explorer.wait_idle() and not explorer.error
    (label,) = explorer.state.labels
    g = explorer.generator
    seen = semwidget.edit(g.sample(8, seed=0), explorer.direction_blocks[0][0], 2.0)
    assert label.seed == 1 and np.array_equal(label.array(g.num_ws, g.w_dim), seen.ws[1].numpy())
    assert not np.allclose(label.array(g.num_ws, g.w_dim), g.sample(8, seed=0).ws[1].numpy())
    # The same seed unedited is another image: its own label.
    explorer.handle({"kind": "new_seeds", "seq": 5, "seed": 0})
    explorer.handle({"kind": "reset", "seq": 6})
    explorer.handle({"kind": "label", "cell": 1, "value": -1, "seed": None})
    assert explorer.wait_idle()
    assert sorted(x.value for x in explorer.state.labels) == [-1, 1] and explorer.cell_labels[1] == -1


def test_a_boundary_from_few_labels_says_so_next_to_it(explorer):
    _label_by_first_z(explorer, pages=1)  # 8 labels: under 10 a side
    explorer.handle({"kind": "train"})
    assert explorer.wait_idle() and not explorer.error, explorer.error
    assert "(at least 10 each make a trustworthy boundary)" in explorer.directions[-1]["warning"]
    assert explorer.directions[0]["warning"] == ""
