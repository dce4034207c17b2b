"""Fixtures for the real-browser tests: JupyterLab + headless Chromium (see harness.py).

The tests skip, saying why, when Chromium, Playwright or JupyterLab is missing
(``bash scripts/setup-browser.sh`` installs them), except under ``CI=true``, where a
missing browser fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

# The Explorer notebook: examples/01_quickstart.ipynb when it has an Explorer cell (the
# real digiface DCGAN), else this generated one, on the same model.
GENERATED_NOTEBOOK = "explorer_e2e.ipynb"
GENERATED_CELLS = (
    "import semwidget\n"
    'G = semwidget.load("digiface-dcgan", device="cpu")\n'
    "d = semwidget.SeFa(n_directions=4).fit(G).directions_\n"
    "ex = semwidget.Explorer(G, directions=d, n_samples=9, seed=0)\n"
    "ex",
)
# A small random StyleGAN2 (8 layer-wise latents): the DCGAN's directions each act at one
# heatmap column only, so choosing layers by clicking the heatmap needs a layered model.
LAYERED_NOTEBOOK = "explorer_layered_e2e.ipynb"
LAYERED_CELLS = (
    "import torch, semwidget\n"
    "from semwidget.nets import StyleGAN2\n"
    "torch.manual_seed(0)\n"
    'G = semwidget.as_generator(StyleGAN2(size=32, style_dim=32, n_mlp=2, channel_max=16).eval(), device="cpu")\n'
    "d = semwidget.SeFa(n_directions=3).fit(G).directions_\n"
    "ex = semwidget.Explorer(G, directions=d, n_samples=4, seed=0)\n"
    "ex",
)

# The trained shapes StyleGAN2 with two SeFa directions: the fourth of its early layers
# (0-2) and the third of its late layers (7-9), the ones benchmarks/shapes_testbed.py finds
# moving the view and the wall's hue most (the first ones mostly reshape the soft objects).
HIERARCHY_NOTEBOOK = "explorer_hierarchy_e2e.ipynb"
HIERARCHY_CELLS = (
    "import semwidget\n"
    'G = semwidget.load("shapes-stylegan2", device="cpu")\n'
    "early = semwidget.SeFa(n_directions=4, layers=[0, 1, 2]).fit(G).directions_[3].rename(0, 'early')\n"
    "late = semwidget.SeFa(n_directions=3, layers=[7, 8, 9]).fit(G).directions_[2].rename(0, 'late')\n"
    "ex = semwidget.Explorer(G, directions=[early, late], n_samples=6, seed=0)\n"
    "ex",
)


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    reason = harness.missing_requirement()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real-browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lab(e2e_ready, tmp_path_factory):
    """JupyterLab serving a temp copy of examples/ plus the generated test notebooks."""
    work = tmp_path_factory.mktemp("e2e")
    root = harness.prepare_root(
        work / "root",
        {
            GENERATED_NOTEBOOK: harness.code_notebook(*GENERATED_CELLS),
            LAYERED_NOTEBOOK: harness.code_notebook(*LAYERED_CELLS),
            HIERARCHY_NOTEBOOK: harness.code_notebook(*HIERARCHY_CELLS),
        },
    )
    server = harness.start_lab(root, work / "lab")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(e2e_ready, tmp_path_factory):
    b = harness.start_browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    """Where screenshots go: $SEMWIDGET_E2E_SHOTS, else a fresh temp dir (printed)."""
    path = Path(os.environ.get("SEMWIDGET_E2E_SHOTS") or tempfile.mkdtemp(prefix="semwidget-e2e-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nsemwidget e2e screenshots: {path}", file=sys.stderr)
    return path


def explorer_notebook() -> tuple[str, str]:
    """(notebook, name of its Explorer variable): the quickstart's if it has one."""
    found = harness.explorer_variable(harness.REPO / "examples" / "01_quickstart.ipynb")
    return ("01_quickstart.ipynb", found) if found else (GENERATED_NOTEBOOK, "ex")


@pytest.fixture(scope="module")
def explorer_page(lab, browser):
    """(page, variable): the Explorer notebook run in the browser, a first frame on screen.

    Module-scoped: the tests of a module share one kernel and one widget, in order.
    """
    notebook, variable = explorer_notebook()
    yield from _open_explorer(browser, lab, notebook, variable)


def _open_explorer(browser, lab, notebook: str, variable: str = "ex"):
    """Run ``notebook`` in the browser and yield (page, variable) once a first frame is on screen."""
    page = harness.open_notebook(browser, lab, notebook)
    try:
        harness.run_all_cells(page)
        harness.wait_for_widget(page)
        harness.wait_for_sent_seq(page)
        yield page, variable
    finally:
        page.close()


@pytest.fixture(scope="module")
def layered_page(lab, browser):
    """(page, variable): the small StyleGAN2 Explorer, a first frame on screen."""
    yield from _open_explorer(browser, lab, LAYERED_NOTEBOOK)


@pytest.fixture(scope="module")
def hierarchy_page(lab, browser):
    """(page, variable): the shapes StyleGAN2 Explorer (an early and a late SeFa direction)."""
    yield from _open_explorer(browser, lab, HIERARCHY_NOTEBOOK)
