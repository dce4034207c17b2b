"""The Explorer keeps answering in JupyterLab with comms over kernel subshells (the default
since 4.4, with ipykernel 7), including in the two ways its comm used to end up dead:

- JupyterLab's per-target subshell is deleted under a comm that joined it while the last
  comm of the target was closing (a widget opened and closed at once, as a progress bar
  does): the page finds its subshell gone and reroutes (js/subshell.js);
- ipykernel 7.4 routes the page's messages to the subshell of the last request it had
  dispatched when our thread sent something, and that subshell can be gone
  (semwidget/widget/_routing.py).

And, with handlers on a subshell, the widget answers while a cell runs, and a cell that
changes the Explorer while the page drags leaves what is on screen equal to the kernel's
state.
"""

from __future__ import annotations

import time

import harness
import pytest

pytestmark = pytest.mark.e2e

CHURN_NOTEBOOK = "subshell_churn_e2e.ipynb"
CHURN_CELLS = (
    'import semwidget\nG = semwidget.load("digiface-dcgan", device="cpu")\n'
    "d = semwidget.SeFa(n_directions=4).fit(G).directions_",
    "import ipywidgets\nipywidgets.Layout().close()\nex = semwidget.Explorer(G, directions=d, n_samples=9, seed=0)\nex",
)


@pytest.fixture(scope="module")
def churn_page(lab, browser):
    (lab.root_dir / CHURN_NOTEBOOK).write_text(__import__("json").dumps(harness.code_notebook(*CHURN_CELLS)))
    page = harness.open_notebook(browser, lab, CHURN_NOTEBOOK)
    try:
        harness.run_all_cells(page)
        harness.wait_for_widget(page)
        harness.wait_for_sent_seq(page, timeout=30)
        yield page
    finally:
        page.close()


def _supports_subshells(page) -> bool:
    return bool(page.evaluate("() => window.__swNotebook.sessionContext.session.kernel.supportsSubshells"))


def _drag_and_wait(page, fraction: float, *, timeout: float = 15.0) -> float:
    track = page.locator('[data-testid="track-0"]')
    width = track.bounding_box()["width"]
    start = time.monotonic()
    harness.drag(page, page.locator('[data-testid="handle-0"]'), fraction * width)
    harness.wait_for_sent_seq(page, timeout=timeout)
    return time.monotonic() - start


def _in_sync(page) -> dict:
    """The kernel's state and the page's newest frame agree, byte for byte."""
    state = harness.kernel_json(
        page,
        "{'seq': ex.render_seq, 'crc': ex.frame_checksum, 'seed': ex.seed, 'error': ex.error,"
        " 'alphas': ex.alphas, 'n': len(ex.directions),"
        " 'fresh': ex.render_once(final=ex.last_frame.mime == 'image/png').checksum}",
    )
    shown = harness.render_seq(page)
    got = page.evaluate("(seq) => window.__sw.frames.filter((f) => f.seq === seq).pop() || null", shown)
    assert state["seq"] == shown, f"kernel's newest frame {state['seq']}, on screen {shown}"
    assert got is not None and got["crc"] == state["crc"], f"bytes on screen {got}, kernel's {state['crc']:#x}"
    assert state["crc"] == state["fresh"], "the newest frame is not a render of the kernel's current state"
    assert len(state["alphas"]) == state["n"] and not state["error"], state
    return state


def test_a_stranded_comm_is_found_and_rerouted(churn_page, lab):
    page = churn_page
    took = _drag_and_wait(page, 0.3)
    root = page.locator(harness.WIDGET).first
    repairs = int(root.get_attribute("data-channel-repairs"))
    print(
        f"\nsubshell churn: drag answered in {took:.2f} s; channel repairs: {repairs}; "
        f"kernel dropped {lab.log_tail(10**6).count('Unknown subshell_id')} messages",
        flush=True,
    )
    assert harness.kernel_json(page, "ex.alphas[0]") > 0
    assert root.get_attribute("data-channel") in ("ok", "waiting")
    assert page.locator('[data-testid="kernel-status"]').is_hidden()


def test_answers_though_ipykernel_would_route_to_a_deleted_subshell(churn_page):
    page = churn_page
    if not _supports_subshells(page):
        pytest.skip("this kernel has no subshells")
    # The state ipykernel 7.4 leaves after a send from our thread whose parent request came
    # through a subshell deleted since: its override would send every page message there.
    harness.kernel_exec(page, "ex.comm._reply_subshell_id = 'a-subshell-deleted-long-ago'")
    _drag_and_wait(page, -0.5)
    assert harness.kernel_json(page, "ex.alphas[0]") < 0


def test_answers_while_a_cell_runs(churn_page):
    page = churn_page
    if not _supports_subshells(page):
        pytest.skip("this kernel has no subshells: comm messages wait for the running cell")
    page.evaluate(
        """() => { const k = window.__swNotebook.sessionContext.session.kernel;
                   window.__swCellDone = false;
                   const f = k.requestExecute({code: 'import time; print("started", flush=True); time.sleep(12)'});
                   window.__swCellStarted = false;
                   f.onIOPub = (m) => { if (m.header.msg_type === 'stream') window.__swCellStarted = true; };
                   window.__swBusy = f.done.then(() => { window.__swCellDone = true; }); }"""
    )
    page.wait_for_function("() => window.__swCellStarted", timeout=10_000, polling=50)
    took = _drag_and_wait(page, 0.4, timeout=8)
    assert not page.evaluate("() => window.__swCellDone"), "the cell ended first: the test proves nothing"
    assert took < 8
    page.evaluate("() => window.__swBusy")  # let the cell finish before the next test


def test_a_cell_changing_it_while_the_page_drags_leaves_screen_and_state_equal(churn_page):
    page = churn_page
    if not _supports_subshells(page):
        pytest.skip("this kernel has no subshells: the cell and the page cannot act at once")
    loop = (
        "import time\n"
        "for i in range(24):\n"
        "    ex.handle({'kind': 'new_seeds'} if i % 3 == 0 else {'kind': 'render', 'final': True,"
        " 'alphas': [float(i % 5 - 2)] + list(ex.alphas[1:])})\n"
        "    if i == 12: ex.handle({'kind': 'compute', 'method': 'sefa', 'n_directions': 2, 'feature_layer': None})\n"
        "    time.sleep(0.1)\n"
        "ex.wait_idle(60)\n"
    )
    page.evaluate(
        """(code) => { const k = window.__swNotebook.sessionContext.session.kernel;
                       window.__swLoop = k.requestExecute({code}).done; }""",
        loop,
    )
    for i in range(8):
        harness.drag(page, page.locator('[data-testid="handle-0"]'), (0.2 if i % 2 else -0.2) * 200)
    page.evaluate("() => window.__swLoop")
    # The page may have asked for more after the cell's last change: wait for its newest.
    harness.wait_for_sent_seq(page, timeout=30)
    harness.kernel_exec(page, "assert ex.wait_idle(60)")
    harness.wait_until(
        page,
        "() => { const r = document.querySelector('[data-testid=\"semwidget\"]');"
        " return Number(r.getAttribute('data-render-seq')) >= Number(r.getAttribute('data-sent-seq')); }",
        "the page to show the newest frame",
    )
    state = _in_sync(page)
    assert state["n"] == 6, "the two SeFa directions computed by the cell are there"


def test_says_when_the_kernel_is_not_answering_and_recovers(churn_page, shots_dir):
    """Requests that go unanswered are noticed and shown; the banner goes once they are."""
    page = churn_page
    # Route this comm's messages to the main shell, then keep that busy: nothing can answer.
    harness.kernel_exec(page, "ex.comm._reply_subshell_for = lambda data, addressed: None")
    page.evaluate(
        """() => { const k = window.__swNotebook.sessionContext.session.kernel;
                   window.__swCellDone = false;
                   window.__swBusy = k.requestExecute({code: 'import time; time.sleep(7)'}).done
                       .then(() => { window.__swCellDone = true; }); }"""
    )
    time.sleep(0.5)
    harness.drag(page, page.locator('[data-testid="handle-0"]'), 40)
    status = page.locator('[data-testid="kernel-status"]')
    status.wait_for(state="visible", timeout=6_000)
    assert not page.evaluate("() => window.__swCellDone")
    assert "not answering" in status.inner_text() or "running a cell" in status.inner_text()
    harness.shot(page, shots_dir, "kernel-not-answering")
    page.evaluate("() => window.__swBusy")
    harness.wait_for_sent_seq(page, timeout=15)
    status.wait_for(state="hidden", timeout=5_000)
    harness.kernel_exec(
        page, "from semwidget.widget._routing import deliver_where_addressed\ndeliver_where_addressed(ex.comm)"
    )
