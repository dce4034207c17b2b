"""Compatibility matrix: does the Explorer answer a drag in each front end / kernel we support?

One test per row, each row 3 fresh sessions (a new server process, a new page); in each
session the notebook is run, handle 0 dragged, and the session counts as responding when
the grid's pixels changed and the kernel's ``ex.alphas[0]`` moved off 0. A row passes with
3/3. Rows:

- ``lab-default``: JupyterLab 4.6 + ipykernel 7, default settings (comms over kernel subshells).
- ``lab-no-subshells``: the same with the setting "Kernel Comms over subshells" disabled.
- ``lab-ipykernel6``: JupyterLab with a kernel on ipykernel 6, which has no subshells
  (installed by ``scripts/setup-browser.sh`` into ``<venv>/ipykernel6``).
- ``notebook7``: Jupyter Notebook 7 with its default settings.

Each row also checks that it tests what it says (the setting took effect in the page, the
kernel runs the ipykernel it should) and prints one line to stderr, e.g.
``compat lab-default: 3/3 sessions responded (...)``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness
import pytest

pytestmark = pytest.mark.e2e

SESSIONS = 3
NOTEBOOK = "compat_matrix.ipynb"
CELLS = (
    'import semwidget\nG = semwidget.load("digiface-dcgan")\nd = semwidget.SeFa(n_directions=5).fit(G).directions_',
    # A widget opened and closed at once, as a progress bar does: in JupyterLab >= 4.4 that
    # churn can leave the next widget's comm on a deleted kernel subshell (js/channel.js).
    "import ipywidgets\nipywidgets.Layout().close()\nex = semwidget.Explorer(G, directions=d, n_samples=9, seed=0)\nex",
)
IPYKERNEL6_SPEC = "python3-ipykernel6"
KERNELS_SETTINGS = "@jupyterlab/apputils-extension:kernels-settings"
# The grid counts as changed when a cell's mean |Δ| per RGBA byte (0..255) passes this.
PIXEL_CHANGE = 0.5
# Seconds to wait for a frame after the drag (a responsive session needs well under 1 s).
RESPONSE_TIMEOUT = 20.0


@dataclass(frozen=True)
class Row:
    name: str
    app: str = "lab"  # harness.start_lab's app
    settings: dict[str, dict] = field(default_factory=dict)
    kernel: str = "python3"
    ipykernel_major: str = "7"
    comms_over_subshells: str | None = None  # the kernel connection's value the row requires


ROWS = [
    Row("lab-default"),
    Row(
        "lab-no-subshells",
        settings={KERNELS_SETTINGS: {"commsOverSubshells": "disabled"}},
        comms_over_subshells="disabled",
    ),
    Row("lab-ipykernel6", kernel=IPYKERNEL6_SPEC, ipykernel_major="6"),
    Row("notebook7", app="notebook"),
]


class WrongSetup(Exception):
    """The session does not test what its row says (a setting not applied, the wrong kernel)."""


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true (like conftest's e2e_ready): CI must run every row."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"compat matrix row cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


# What the page and kernel say about the session: front end, kernel connection, ipykernel.
FACTS_JS = """async () => {
    const app = window.jupyterapp, k = window.__swNotebook.sessionContext.session.kernel;
    await k.info;
    return {app: app.name + ' ' + app.version, kernel: k.name, commsOverSubshells: k.commsOverSubshells,
            supportsSubshells: k.supportsSubshells};
}"""


FIRST_FRAME_OR_ERROR_JS = f"""() => {{
    const r = document.querySelector('{harness.WIDGET}');
    if (r && Number(r.getAttribute('data-render-seq') || 0) > 0) return true;
    const cells = window.__swNotebook.model.cells;
    for (let i = 0; i < cells.length; i++) {{
        const outputs = cells.get(i).outputs;
        for (let j = 0; outputs && j < outputs.length; j++) if (outputs.get(j).type === 'error') return true;
    }}
    return false;
}}"""


def _session(row: Row, browser: harness.Browser, root: Path, work: Path, env: dict[str, str]) -> dict:
    """One fresh server and page: run the notebook, drag handle 0. Returns what it saw:
    ``responded`` and, when not, ``why``; raises WrongSetup when the row's setup did not hold."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    facts: dict = {"responded": False}
    server = harness.start_lab(root, work, app=row.app, settings=row.settings, env=env)
    page = None
    try:
        page = harness.open_notebook(browser, server, NOTEBOOK, timeout=90)
        facts.update(page.evaluate(FACTS_JS))
        facts["ipykernel"] = harness.kernel_json(page, "__import__('ipykernel').__version__", timeout=30)
        if facts["kernel"] != row.kernel:
            raise WrongSetup(f"the notebook runs on kernelspec {facts['kernel']!r}, not {row.kernel!r}")
        if facts["ipykernel"].split(".")[0] != row.ipykernel_major:
            raise WrongSetup(f"the kernel runs ipykernel {facts['ipykernel']}, not {row.ipykernel_major}.x")
        if row.ipykernel_major == "6" and facts["supportsSubshells"]:
            raise WrongSetup("the page says the ipykernel 6 kernel supports subshells")
        if row.comms_over_subshells and facts["commsOverSubshells"] != row.comms_over_subshells:
            raise WrongSetup(
                f"the kernel connection's commsOverSubshells is {facts['commsOverSubshells']!r}, "
                f"not {row.comms_over_subshells!r}: the user setting did not take effect"
            )

        harness.run_all_cells(page)
        try:
            # A frame, or a Python error in a cell: then no frame is coming, don't wait for one.
            page.wait_for_function(FIRST_FRAME_OR_ERROR_JS, timeout=90_000, polling=100)
            harness.wait_for_widget(page, timeout=5)
            harness.wait_for_sent_seq(page, timeout=RESPONSE_TIMEOUT)
        except (AssertionError, PlaywrightTimeout) as e:
            facts["why"] = f"no first frame: {e}"
            return facts
        track = page.locator('[data-testid="track-0"]')
        track.scroll_into_view_if_needed()
        harness.snapshot(page, "before")
        harness.drag(page, page.locator('[data-testid="handle-0"]'), 0.3 * track.bounding_box()["width"])
        try:
            harness.wait_for_sent_seq(page, timeout=RESPONSE_TIMEOUT)
        except AssertionError as e:
            facts["why"] = f"no frame after the drag: {e}"
            return facts
        harness.snapshot(page, "after")
        change = harness.pixel_change(page, "before", "after")
        facts["pixel_change"] = [round(c, 2) for c in change]
        alpha = harness.kernel_json(page, "float(ex.alphas[0])", timeout=RESPONSE_TIMEOUT)
        facts["alpha0"] = alpha
        problems = []
        if not change or min(change) <= PIXEL_CHANGE:
            problems.append(f"grid cells did not change on screen (mean |Δ| per cell {facts['pixel_change']})")
        if alpha == 0:
            problems.append("the kernel's ex.alphas[0] is still 0")
        facts["responded"] = not problems
        if problems:
            facts["why"] = "; ".join(problems)
        return facts
    except WrongSetup:
        raise
    except Exception as e:  # noqa: BLE001 - a session that breaks did not respond; say how
        facts["why"] = f"{type(e).__name__}: {e}"
        return facts
    finally:
        if page is not None and not facts["responded"]:
            facts["server_log"] = server.log_tail(1500)
        if page is not None:
            try:
                page.close()
            except Exception:  # noqa: BLE001
                pass
        server.stop()


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_compat_matrix(row: Row, e2e_ready, tmp_path):
    env: dict[str, str] = {}
    if row.app == "notebook" and (reason := harness.missing_notebook7()):
        _unavailable(reason)
    if row.kernel == IPYKERNEL6_SPEC:
        if reason := harness.missing_ipykernel6():
            _unavailable(reason)
        data = tmp_path / "jupyter-data"
        harness.write_kernelspec(
            data,
            IPYKERNEL6_SPEC,
            display_name="Python 3 (ipykernel 6)",
            pythonpath=[harness.ipykernel6_dir(), harness.REPO],
        )
        env["JUPYTER_PATH"] = str(data)
    root = tmp_path / "root"
    root.mkdir()
    (root / NOTEBOOK).write_text(json.dumps(harness.code_notebook(*CELLS, kernel=row.kernel)))

    browser = harness.start_browser(tmp_path / "chromium-profile")
    results = []
    try:
        for i in range(SESSIONS):
            t0 = time.monotonic()
            try:
                facts = _session(row, browser, root, tmp_path / f"server-{i}", env)
            except WrongSetup as e:
                pytest.fail(f"compat {row.name}, session {i + 1}: {e}", pytrace=False)
            facts["seconds"] = round(time.monotonic() - t0, 1)
            results.append(facts)
            seen = (
                f"min pixel change {min(facts['pixel_change'])}, alphas[0] {facts['alpha0']:.3g}"
                if facts["responded"]
                else facts.get("why", "?")[:300]
            )
            print(
                f"compat {row.name} session {i + 1}: {'responded' if facts['responded'] else 'NO RESPONSE'}"
                f" in {facts['seconds']} s ({seen})",
                file=sys.stderr,
            )
    finally:
        browser.close()

    ok = sum(r["responded"] for r in results)
    first = results[0]
    about = (
        f"{first.get('app', '?')}, kernel {first.get('kernel', '?')} on ipykernel {first.get('ipykernel', '?')},"
        f" commsOverSubshells={first.get('commsOverSubshells', '?')},"
        f" kernel subshells={first.get('supportsSubshells', '?')}"
    )
    print(f"compat {row.name}: {ok}/{SESSIONS} sessions responded ({about})", file=sys.stderr)
    details = "\n".join(
        f"  session {i + 1} ({r['seconds']} s): "
        + (
            "responded"
            if r["responded"]
            else f"did not respond: {r.get('why', '?')}\n    server log tail: {r.get('server_log', '')[-600:]!r}"
        )
        for i, r in enumerate(results)
    )
    assert ok == SESSIONS, (
        f"compat {row.name}: {ok}/{SESSIONS} sessions responded to a drag of handle 0 ({about})\n{details}"
    )
