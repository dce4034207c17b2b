"""The Explorer's background worker: renders never block the kernel, the newest render
wins, and slow jobs can be cancelled and never hold up what the user is looking at.

The comm handler only records requests (cheap); one worker thread does the work.
Render requests are not queued: a newer one replaces an older one not yet started,
so a fast drag never builds a backlog (at most one render waits). The pending render
goes before other jobs, which run in order; a job submitted with a ``key`` replaces a
queued one of the same key in its place (ten quick "new seeds": one heatmap).
While a job runs, each of its progress steps calls :meth:`Worker.checkpoint`, which
renders a waiting request there and then (a drag stays live during a GIF export) and
raises :class:`Cancelled` once :meth:`Worker.cancel` was called. NVIDIA's stylegan3
visualizer drains its queue to the newest request the same way.
Every failure goes to ``on_error``; the thread itself never dies.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._jobs import Cancelled

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """What the worker has done, for tests and benchmarks."""

    requested: int = 0  # render requests received
    rendered: int = 0  # renders performed
    dropped: int = 0  # render requests superseded before they started
    max_pending: int = 0  # the most render requests ever waiting at once (≤ 1 by design)
    jobs_done: int = 0
    jobs_failed: int = 0
    jobs_cancelled: int = 0
    render_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))

    def as_dict(self) -> dict[str, Any]:
        times = list(self.render_ms)
        return {
            "requested": self.requested,
            "rendered": self.rendered,
            "dropped": self.dropped,
            "max_pending": self.max_pending,
            "jobs_done": self.jobs_done,
            "jobs_failed": self.jobs_failed,
            "jobs_cancelled": self.jobs_cancelled,
            "render_ms_median": statistics.median(times) if times else None,
        }


class Worker:
    """One daemon thread running ``render(request)`` for the newest request and
    ``job()`` callables in order. ``on_error(exc, request_or_None)`` sees failures
    (a cancelled job is no failure); the thread keeps going."""

    def __init__(self, render: Callable[[Any], None], on_error: Callable[[BaseException, Any], None]) -> None:
        self._render = render
        self._on_error = on_error
        self._cond = threading.Condition()
        self._pending: Any = None
        self._jobs: deque[tuple[str | None, Callable[[], None]]] = deque()
        self._active = 0
        self._running: str | None = None  # the key of the job running ("" for none given)
        self._closed = False
        self._cancel = threading.Event()  # asks the running job to stop at its next checkpoint
        self.stats = WorkerStats()
        self._thread = threading.Thread(target=self._loop, name="semwidget-render", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def request_render(self, request: Any) -> None:
        with self._cond:
            self.stats.requested += 1
            if self._pending is not None:
                self.stats.dropped += 1
            self._pending = request
            self.stats.max_pending = max(self.stats.max_pending, 1)
            self._cond.notify()

    def submit(self, job: Callable[[], None], key: str | None = None) -> None:
        """Queue ``job``; with a ``key``, it replaces a queued job of that key (not one running)."""
        with self._cond:
            for i, (queued, _) in enumerate(self._jobs):
                if key is not None and queued == key:
                    self._jobs[i] = (key, job)
                    break
            else:
                self._jobs.append((key, job))
            self._cond.notify()

    def cancel(self, key: str | None = None) -> int:
        """Drop queued jobs and ask the running one to stop (with a ``key``: only jobs of
        that key); returns how many queued ones were dropped."""
        with self._cond:
            kept = deque(job for job in self._jobs if key is not None and job[0] != key)
            dropped = len(self._jobs) - len(kept)
            self._jobs = kept
            self.stats.jobs_cancelled += dropped
            if self._running is not None and (key is None or self._running == key):
                self._cancel.set()
            self._cond.notify_all()
        return dropped

    def checkpoint(self) -> None:
        """Called by a running job at each step (on the worker thread): render what the user
        is waiting for, then stop here if the job was cancelled."""
        if threading.current_thread() is not self._thread:
            return
        with self._cond:
            request, self._pending = self._pending, None
        if request is not None:
            self._run_render(request)
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._jobs or self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cancel.set()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and self._pending is None and not self._jobs:
                    self._cond.wait()
                if self._closed:
                    return
                if self._pending is not None:  # what the user is looking at comes first
                    job, request, self._pending = None, self._pending, None
                else:
                    key, job = self._jobs.popleft()
                    request, self._running = None, key or ""
                    self._cancel.clear()
                self._active += 1
            try:
                if job is None:
                    self._run_render(request)
                else:
                    self._run_job(job)
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

    def _run_render(self, request: Any) -> None:
        start = time.perf_counter()
        try:
            self._render(request)
        except BaseException as exc:  # noqa: BLE001 -- reported; the thread lives on
            self._failed(exc, request)
            return
        self.stats.render_ms.append((time.perf_counter() - start) * 1000)
        self.stats.rendered += 1

    def _run_job(self, job: Callable[[], None]) -> None:
        try:
            job()
            self.stats.jobs_done += 1
        except Cancelled:
            self.stats.jobs_cancelled += 1
        except BaseException as exc:  # noqa: BLE001 -- reported; the thread lives on
            self.stats.jobs_failed += 1
            self._failed(exc, None)
        finally:
            with self._cond:
                self._running = None
                self._cancel.clear()

    def _failed(self, exc: BaseException, request: Any) -> None:
        log.debug("worker job failed", exc_info=True)
        try:
            self._on_error(exc, request)
        except BaseException:  # noqa: BLE001 -- reporting can fail too (a kernel gone); keep going
            log.warning("semwidget: could not report a failed render or job", exc_info=True)
