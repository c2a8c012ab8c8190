"""When a worker process should retire: after so many jobs, or once it uses so much memory.

A worker past either limit stops taking jobs, finishes those it runs and exits with status 0, for
its process manager (systemd, supervisord) to start a fresh one: the cure for job code that leaks.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

__all__ = ["Recycling", "memory_mb"]

_STATM = Path("/proc/self/statm")


def memory_mb() -> float:
    """This process's resident memory in MB (on systems without ``/proc``, its peak so far)."""
    try:
        resident_pages = int(_STATM.read_text().split()[1])
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
        return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class Recycling:
    """Counts a worker's jobs and watches its memory against ``max_jobs`` and ``max_memory`` (MB)."""

    def __init__(self, max_jobs: int | None = None, max_memory: int | None = None) -> None:
        self.max_jobs, self.max_memory = max_jobs, max_memory
        self.jobs = 0
        self.reason = ""  # why the worker retires, once it does

    @property
    def due(self) -> bool:
        """Whether the worker retires (takes no more jobs)."""
        return bool(self.reason)

    def job_ended(self) -> bool:
        """Count a job that ended; True the first time a limit is reached."""
        self.jobs += 1
        if self.reason:
            return False
        if self.max_jobs is not None and self.jobs >= self.max_jobs:
            self.reason = f"ran {self.jobs} jobs (max jobs per process {self.max_jobs})"
        elif self.max_memory is not None and (used := memory_mb()) >= self.max_memory:
            self.reason = f"uses {used:.0f} MB (max memory {self.max_memory} MB)"
        return bool(self.reason)
