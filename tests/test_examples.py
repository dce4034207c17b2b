"""The notebooks in examples/ run top to bottom, so they cannot rot."""

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.ipynb"))

# Notebooks whose code uses a face scorer need the faces extra, as tests/scorers/test_faces.py does.
FACE_SCORERS = ("AgeGender", "FaceMesh", "Expression")
FACES_EXTRA = {"onnxruntime": "onnxruntime", "dlib": "dlib-bin", "ai_edge_litert": "ai-edge-litert", "h5py": "h5py"}


def uses_face_scorers(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(name in c.source for c in nb.cells if c.cell_type == "code" for name in FACE_SCORERS)


PARAMS = [pytest.param(p, id=p.name, marks=[pytest.mark.faces] if uses_face_scorers(p) else []) for p in EXAMPLES]


@pytest.mark.zoo
@pytest.mark.parametrize("path", PARAMS)
def test_notebook_runs(path, tmp_path):
    missing = [pkg for mod, pkg in FACES_EXTRA.items() if importlib.util.find_spec(mod) is None]
    if uses_face_scorers(path) and missing:
        why = f"{path.name} needs the faces extra (missing {', '.join(missing)}): pip install 'semwidget[faces]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 4  # the face grids were drawn
