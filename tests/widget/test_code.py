"""'Copy as code' is written from validated values, never from text a file supplied."""

from __future__ import annotations

import ast
import json

import pytest

from semwidget.widget._code import finder_call


@pytest.mark.parametrize(
    "recipe",
    [
        "semwidget.SeFa(n_directions=5)",
        "semwidget.SeFa(n_directions=3, layers=[0, 1, 2])",
        "semwidget.SeFa(n_directions=2, feature_layer='main.8')",
        "semwidget.GANSpace(n_directions=4, n_samples=20000, random_state=0, "
        "feature_layer='b16.conv1', output='channels')",
    ],
)
def test_the_finders_own_recipes_are_kept(recipe):
    assert finder_call(recipe) == recipe.replace('"', "'")


@pytest.mark.parametrize(
    "recipe",
    [
        "semwidget.SeFa(n_directions=1); __import__('os').system('touch pwned')",
        "semwidget.SeFa(n_directions=__import__('os').getpid())",
        "semwidget.SeFa(n_directions=1, feature_layer='x\\nimport os')",
        "semwidget.SeFa(n_directions=1, feature_layer='a) or exec(\"1\"')",
        "semwidget.SeFa(n_directions=True)",
        "semwidget.SeFa(n_directions=1, layers=[0, 'x'])",
        "semwidget.SeFa(n_directions=1, evil=2)",
        "semwidget.SeFa(5)",
        "os.system('x')",
        "semwidget.load('x')",
        "(lambda: 1)()",
        "semwidget.SeFa(n_directions=1" + ", n_directions=1" * 200 + ")",
        "not python at all (",
        "",
        None,
    ],
)
def test_anything_else_is_refused(recipe):
    assert finder_call(recipe) is None


def test_copy_as_code_never_carries_file_text(explorer, tmp_path):
    """A recipe and a label from a hostile annotations file: the code still parses, does
    only what the Explorer shows, and writes the directions out instead."""
    explorer.annotations_dir = tmp_path
    explorer.save_annotations(tmp_path / "hostile")
    meta = json.loads((tmp_path / "hostile.json").read_text())
    meta["blocks"][0]["recipe"] = "semwidget.SeFa(n_directions=5); __import__('os').system('touch pwned')"
    meta["blocks"][0]["directions"]["labels"][0] = "smile\nimport os; os.system('touch pwned')"
    (tmp_path / "hostile.json").write_text(json.dumps(meta))
    explorer.handle({"kind": "load", "path": "hostile"})
    assert explorer.wait_idle() and not explorer.error, explorer.error
    assert explorer.directions[0]["label"].startswith("smile\nimport os")
    explorer.handle({"kind": "render", "seq": 1, "alphas": [1.0, 0, 0, 0, 0], "final": True})
    assert explorer.wait_idle()
    code = explorer.code()
    tree = ast.parse(code)
    every_call = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert all(isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) for n in every_call), code
    calls = {f"{n.func.value.id}.{n.func.attr}" for n in every_call}
    assert calls <= {
        "semwidget.as_generator",
        "semwidget.load",
        "semwidget.Directions",
        "G.sample",
        "semwidget.edit",
        "semwidget.image_grid",
        "G.synthesize",
    }, calls
    assert "semwidget.Directions(vectors=" in code  # written out, not re-found by a pasted recipe
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == ["import semwidget"], imports


def test_copy_as_code_reproduces_directions_with_measured_sigmas(tiny_dcgan):
    """Notebook 05's case: SeFa directions given σ units by with_measured_sigmas, which no
    finder recipe recreates; the code writes them out, σ included, and draws the same grid."""
    import numpy as np

    import semwidget

    d = semwidget.SeFa(n_directions=4).fit(tiny_dcgan).directions_.with_measured_sigmas(tiny_dcgan, n=200)
    # A whole finder's result (re-run, σ measured again), and a subset of one (written out).
    ex = semwidget.Explorer(tiny_dcgan, directions=[d, d[[3, 1]]], n_samples=4, seed=5)
    try:
        ex.handle({"kind": "render", "alphas": [1.5, 0.0, -2.0, 0.0, 0.0, 1.0], "final": True})
        assert ex.wait_idle() and not ex.error
        code = ex.code()
        assert "SeFa(n_directions=4).fit(G).directions_.with_measured_sigmas(G, n=200, seed=10000)" in code
        assert "d1 = semwidget.Directions(vectors=" in code and "sigmas=" in code and 'scale="sigma"' in code
        namespace = {"generator": ex.generator}
        exec(
            compile(code.replace("semwidget.image_grid(", "grid = semwidget.image_grid("), "<copied>", "exec"),
            namespace,
        )
        assert np.array_equal(np.asarray(namespace["grid"]), np.asarray(semwidget.image_grid(ex.images(), ncols=2)))
    finally:
        ex.close()
