"""Threads still running when a worker process is done: Python's exit would wait for them forever
(a non-daemon thread a job left looping, a sync job that outlived its cancellation), so they get
a grace, then are named and abandoned."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

__all__ = ["GRACE", "lingering", "outliving", "thread_names"]

#: Seconds the threads get at least, whatever ``JOB_COMPLETION_WAIT`` says: threads that are ending
#: (the job pool's idle ones, told to stop) are not abandoned.
GRACE = 5.0


def lingering() -> list[threading.Thread]:
    """The live non-daemon threads but the current one: those the interpreter's exit joins."""
    current = threading.current_thread()
    return [t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]


def outliving(seconds: float) -> list[threading.Thread]:
    """The lingering threads still alive after ``seconds`` (at least ``GRACE``) spent joining them;
    a ``KeyboardInterrupt`` (Ctrl-C again) ends the wait."""
    deadline = time.monotonic() + max(seconds, GRACE)
    threads, joining = lingering(), None
    try:
        for joining in threads:
            joining.join(max(0.0, deadline - time.monotonic()))
        joining = None
    except KeyboardInterrupt:  # the thread being joined may now pass for ended (CPython's bpo-45274)
        return [t for t in threads if t is joining or t.is_alive()]
    return lingering()


def thread_names(threads: list[threading.Thread], jobs: Mapping[threading.Thread, str]) -> str:
    """Each thread's name, with the job it runs (``jobs``), else the function it was started on."""
    return ", ".join(f"{t.name!r} ({jobs.get(t) or _started_on(t)})" for t in threads)


def _started_on(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)  # CPython's Thread keeps it; a subclass may run() instead
    where = target if target is not None else type(thread).run
    return f"{getattr(where, '__module__', '?')}.{getattr(where, '__qualname__', repr(where))}"
