"""The kernel side of the widget's line to the page: acknowledgements, routing, and
changes made from Python while the page drags (js/channel.js is the page side)."""

from __future__ import annotations

import threading

import pytest
from ipykernel.comm.comm import BaseComm

from semwidget import Explorer
from semwidget.common._progress import progress, report_to
from semwidget.widget._routing import deliver_where_addressed


def test_every_request_with_an_id_is_acknowledged_first_even_a_bad_one(explorer):
    explorer.handle({"kind": "undo", "seq": 5, "rid": 7})
    explorer.handle({"kind": "explode", "rid": 8})  # refused, but heard
    explorer.handle({"kind": "undo", "seq": 6, "rid": True})  # not an id: no ack
    explorer.handle({"kind": "undo", "seq": 7, "rid": 2**60})  # beyond a JS number: no ack
    assert explorer.wait_idle()
    acks = [c["rid"] for c, _ in explorer.sent if c["kind"] == "ack"]
    assert acks == [7, 8]
    kinds = [c["kind"] for c, _ in explorer.sent]
    assert kinds.index("ack") == 0, "the ack leaves before any work"
    errors = [c["message"] for c, _ in explorer.sent if c["kind"] == "error"]
    assert len(errors) == 1 and "unknown request kind 'explode'" in errors[0]


def test_the_comm_delivers_page_messages_where_the_page_sends_them(tiny_dcgan, monkeypatch):
    if not callable(getattr(BaseComm, "_reply_subshell_for", None)):
        pytest.skip("this ipykernel does not override the page's subshell (< 7.4)")
    # ipykernel's own comm class, as in a kernel (outside one, ipywidgets makes a dummy).
    monkeypatch.setattr("ipywidgets.widgets.widget.comm.create_comm", lambda **kw: BaseComm(**kw))
    explorer = Explorer(tiny_dcgan, n_samples=4, seed=3)
    comm = explorer.comm
    assert isinstance(comm, BaseComm) and explorer.comm_id == comm.comm_id
    # What ipykernel 7.4 records after a send from a thread whose parent request came
    # through a subshell that JupyterLab deleted since: its override would pick that one.
    comm._reply_subshell_id = "a-deleted-subshell"
    assert comm._reply_subshell_for({"method": "custom"}, "the-page's-subshell") == "the-page's-subshell"
    assert comm._reply_subshell_for({"method": "custom"}, None) is None
    # Other comms keep ipykernel's behaviour.
    other = BaseComm(target_name="t", primary=False, comm_id="other")
    other._reply_subshell_id = "a-deleted-subshell"
    assert other._reply_subshell_for({}, "the-page's-subshell") == "a-deleted-subshell"
    explorer.close()


def test_routing_is_left_alone_where_the_kernel_has_no_override():
    class Plain:
        pass

    comm = Plain()
    deliver_where_addressed(comm)
    deliver_where_addressed(None)
    assert not hasattr(comm, "_reply_subshell_for")


def test_work_done_for_a_widget_draws_no_progress_bar_of_its_own(monkeypatch):
    made = []
    monkeypatch.setattr("semwidget.common._progress.tqdm", lambda **kw: made.append(kw))
    seen = []
    with report_to(lambda *a: seen.append(a)), progress(3, "GANSpace") as bar:
        bar.update()
    assert made == [] and seen == [("GANSpace", 1, 3)]
    with progress(3, "GANSpace"):
        pass
    assert len(made) == 1, "without a widget listening, the tqdm bar is drawn"


def test_changes_from_python_are_numbered_after_the_pages(explorer):
    explorer.handle({"kind": "render", "seq": 40, "alphas": [1, 0, 0, 0, 0], "final": True})
    explorer.handle({"kind": "new_seeds"})  # from a cell: no seq of its own
    assert explorer.wait_idle()
    seqs = [c["seq"] for c, _ in explorer.sent if c["kind"] == "frame"]
    assert seqs[-1] == 41 and explorer.render_seq == 41
    # A page request numbered before that change is answered after it, so it is newest.
    explorer.handle({"kind": "render", "seq": 39, "alphas": [2, 0, 0, 0, 0], "final": True})
    assert explorer.wait_idle()
    assert explorer.render_seq == 42 and explorer.alphas[0] == 2


def test_a_cell_and_the_page_changing_it_at_once_leave_it_consistent(explorer):
    """Comm handlers run on a kernel subshell, beside the user's cells: two threads at once."""
    errors = []

    def page():
        try:
            for seq in range(100, 160):
                a = (seq % 7) - 3.0
                explorer.handle({"kind": "render", "seq": seq, "alphas": [a, 0, 0, 0, 0], "final": seq % 5 == 0})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def cell():
        try:
            for i in range(20):
                explorer.handle({"kind": "new_seeds"} if i % 2 else {"kind": "reset"})
                explorer.handle({"kind": "render", "alphas": [0, float(i % 3), 0, 0, 0], "final": True})
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=page), threading.Thread(target=cell)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert explorer.wait_idle(120) and not errors and not explorer.error
    frames = [c for c, _ in explorer.sent if c["kind"] == "frame"]
    assert [f["seq"] for f in frames] == sorted(f["seq"] for f in frames), "frames leave in seq order"
    # What the newest frame shows is exactly the state the kernel holds now.
    assert frames[-1]["seq"] == explorer.render_seq
    assert frames[-1]["seed"] == explorer.seed
    assert explorer.frame_checksum == explorer.render_once(final=frames[-1]["mime"] == "image/png").checksum


def test_the_worker_lives_on_when_reporting_a_failure_fails_too():
    """ipykernel 7.0 raised on every send from a thread: the error report itself failed,
    and the worker thread died with it. It must outlive both."""
    from semwidget.widget._worker import Worker

    done = []

    def render(request):
        raise RuntimeError("render failed")

    def report(exc, request):
        raise LookupError("the kernel cannot send from this thread")

    worker = Worker(render, report)
    try:
        worker.request_render(1)
        assert worker.wait_idle(10)
        worker.submit(lambda: done.append("job"))
        assert worker.wait_idle(10) and done == ["job"]
    finally:
        worker.close()


def test_the_page_cannot_point_the_widget_at_another_comm(explorer):
    assert explorer.comm_id == explorer.model_id
    explorer.set_state({"comm_id": "someone-elses-comm"})
    assert "may set only the traits ['columns', 'resolution']" in explorer.error
    assert explorer.comm_id == explorer.model_id


def test_the_pending_render_goes_first_and_keyed_jobs_coalesce():
    from semwidget.widget._worker import Worker

    order = []
    gate = threading.Event()
    worker = Worker(lambda request: order.append(f"render {request}"), lambda exc, request: None)
    try:
        worker.submit(gate.wait)  # hold the worker while requests pile up
        for i in range(5):
            worker.submit(lambda i=i: order.append(f"heatmap {i}"), key="heatmap")
        worker.submit(lambda: order.append("export"))
        worker.request_render(1)
        worker.request_render(2)
        gate.set()
        assert worker.wait_idle(10)
        assert order == ["render 2", "heatmap 4", "export"]
    finally:
        worker.close()


def test_ten_quick_new_seeds_compute_one_heatmap_after_the_images(explorer, monkeypatch):
    from semwidget.widget import _jobs

    calls = []
    real = _jobs.image_change_heatmap
    monkeypatch.setattr(_jobs, "image_change_heatmap", lambda *a: (calls.append(len(explorer.sent)), real(*a))[1])
    for _ in range(10):
        explorer.handle({"kind": "new_seeds"})
    assert explorer.wait_idle(60)
    assert 1 <= len(calls) <= 2, f"{len(calls)} heatmaps for 10 quick new seeds"
    first_frame = next(i for i, (c, _) in enumerate(explorer.sent) if c["kind"] == "frame")
    assert first_frame < calls[-1], "the fresh images left before the heatmap was computed"
    assert explorer.seed == 3 + 10 * 4
