"""Progress for anything that can take more than a second.

tqdm's ``auto`` front end draws a widget in notebooks and text in terminals.
Code running on behalf of a widget can also have the same updates forwarded
to a callback (:func:`report_to`), so the widget shows them itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

Listener = Callable[[str, int, int], None]  # (label, done, total)
_listeners: dict[int, Listener] = {}
_last: dict[int, tuple[str, int, int]] = {}  # per thread: the newest update its listener saw


class _Bar:
    """A tqdm bar (or none) whose updates also reach this thread's listener."""

    def __init__(self, total: int, desc: str, enabled: bool, unit: str) -> None:
        self.total, self.desc, self.done = total, desc, 0
        self._listener = _listeners.get(threading.get_ident())
        # Work done for a widget shows its progress in that widget. A tqdm bar here would be
        # drawn from a background thread as widgets of its own, opened and closed within a
        # second: in JupyterLab >= 4.4 that churn of comms can strand other widgets' comms
        # on a deleted kernel subshell (see js/channel.js).
        show = enabled and self._listener is None
        self._tqdm = tqdm(total=total, desc=desc, leave=False, unit=unit) if show else None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._tqdm is not None:
            self._tqdm.update(n)
        if self._listener is not None:
            _last[threading.get_ident()] = (self.desc, self.done, self.total)
            self._listener(self.desc, self.done, self.total)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


@contextmanager
def progress(total: int, desc: str, *, enabled: bool = True, unit: str = "img") -> Iterator[_Bar]:
    """A progress bar over ``total`` items; silent when not ``enabled``, except to a listener."""
    bar = _Bar(total, desc, enabled, unit)
    try:
        yield bar
    finally:
        bar.close()


def pulse() -> None:
    """Inside a long step, tell this thread's listener (if any) again where the work is.
    A widget's listener uses the call to draw what the user waits for, or to stop a
    cancelled job, without waiting for the step to end."""
    tid = threading.get_ident()
    listener = _listeners.get(tid)
    if listener is not None:
        listener(*_last.get(tid, ("working", 0, 0)))


@contextmanager
def report_to(listener: Listener) -> Iterator[None]:
    """Forward every progress update made in this thread to ``listener``."""
    tid = threading.get_ident()
    previous = _listeners.get(tid)
    _listeners[tid] = listener
    try:
        yield
    finally:
        _last.pop(tid, None)
        if previous is None:
            _listeners.pop(tid, None)
        else:
            _listeners[tid] = previous
