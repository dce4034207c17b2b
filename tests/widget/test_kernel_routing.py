"""The Explorer's freeze, reproduced in a real kernel without a browser (issue 10's
``subshell_freeze.py``, made deterministic), and the fix.

A widget's own thread sends while the last request the kernel dispatched came through a
subshell; the subshell is then deleted, as JupyterLab deletes the one of a comm target
whose last comm closed. ipykernel 7.4 routes every later message from the page to that
widget to the deleted subshell and drops it. A comm given
:func:`semwidget.widget._routing.deliver_where_addressed` gets its messages where the page
addressed them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

REPO = Path(__file__).resolve().parents[2]

SETUP = """
import threading, anywidget
from semwidget.widget._routing import deliver_where_addressed

class Bare(anywidget.AnyWidget):
    _esm = "export default {}"
    def __init__(self):
        super().__init__()
        self.got = 0
        self.on_msg(lambda _w, _c, _b: setattr(self, "got", self.got + 1))

plain, ours = Bare(), Bare()
deliver_where_addressed(ours.comm)
go = threading.Event()

def send_from_a_thread():  # as the Explorer's render worker does
    go.wait()
    plain.send({"tick": 1})
    ours.send({"tick": 1})

threading.Thread(target=send_from_a_thread, daemon=True).start()
print(plain.comm.comm_id, ours.comm.comm_id)
"""


class Kernel:
    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self.km, self.kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)

    def run(self, code: str, subshell: str | None = None) -> str:
        msg = self.kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": False})
        if subshell:
            msg["header"]["subshell_id"] = subshell
        self.kc.shell_channel.send(msg)
        out = []
        while True:
            m = self.kc.get_iopub_msg(timeout=30)
            if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
            elif m["msg_type"] == "error":
                raise AssertionError("\n".join(m["content"]["traceback"]))
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return "".join(out)

    def control(self, msg_type: str, content: dict) -> dict:
        msg = self.kc.session.msg(msg_type, content)
        self.kc.control_channel.send(msg)
        while True:
            reply = self.kc.control_channel.get_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply["content"]

    def page_sends(self, comm_id: str, subshell: str | None) -> None:
        """A comm message as the page sends it, addressed to ``subshell``."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {}}})
        if subshell:
            msg["header"]["subshell_id"] = subshell
        self.kc.shell_channel.send(msg)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    yield k
    k.close()


def test_a_send_from_a_thread_no_longer_strands_the_comm(kernel):
    plain_id, ours_id = kernel.run(SETUP).split()
    made = kernel.control("create_subshell_request", {})
    if made.get("status") != "ok":
        pytest.skip(f"this kernel has no subshells: {made}")
    doomed = made["subshell_id"]
    assert "sent" in kernel.run("go.set()\nimport time; time.sleep(0.5)\nprint('sent')", subshell=doomed)
    assert kernel.control("delete_subshell_request", {"subshell_id": doomed})["status"] == "ok"
    live = kernel.control("create_subshell_request", {})["subshell_id"]  # the page's next subshell

    for comm_id in (plain_id, ours_id):
        kernel.page_sends(comm_id, live)
        kernel.page_sends(comm_id, None)
    deadline = time.monotonic() + 10
    while True:
        plain, ours, route = kernel.run(
            "print(plain.got, ours.got, getattr(plain.comm, '_reply_subshell_id', None))"
        ).split()
        if int(ours) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert int(ours) == 2, "our comm's messages arrive wherever the page sends them"
    version = kernel.run("import ipykernel; print(ipykernel.__version__)").strip()
    if version.startswith("7.4."):
        # The upstream behaviour worked around here, as ipykernel 7.4 has it: the plain widget is dead.
        assert (int(plain), route) == (0, doomed)
