"""Where the kernel delivers the page's messages to the Explorer: where the page sends them.

ipykernel 7.4 overrides the kernel subshell a page addresses. Each comm remembers the
subshell of the parent header of the last message the kernel *sent* on it
(``BaseComm.publish_msg``), and routes every later message from the page to that
subshell instead (``BaseComm._reply_subshell_for``), "so that a reply reaches the loop
that sent it". For a message sent from a thread of our own (the Explorer's render
worker), the parent is whatever request the kernel last dispatched on *any* thread: for
example the page's ``jupyter.widget.control`` comm, handled on a subshell that JupyterLab
deletes seconds later. From then on every message from the page is routed to a subshell
that no longer exists and dropped ("Unknown subshell_id"), and nothing the page does can
change it, because the only fix would be another send from the kernel in the right
context, which only a delivered message could cause. That is the Explorer freeze.

The Explorer answers through its worker and never waits for the page inside a cell,
which is the case the override exists for. So its comm (and only its comm) delivers each
message to the subshell the page chose; the page checks that route and repairs it
(js/subshell.js).
"""

from __future__ import annotations

from typing import Any


def deliver_where_addressed(comm: Any) -> None:
    """Make ``comm`` deliver each incoming message to the subshell its header names.

    A no-op for kernels without the override (ipykernel < 7.4, other kernels): there the
    header's subshell is already what counts.
    """
    if comm is not None and callable(getattr(comm, "_reply_subshell_for", None)):
        comm._reply_subshell_for = _as_addressed


def _as_addressed(_data: Any, addressed: str | None) -> str | None:
    return addressed
