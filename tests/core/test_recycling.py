"""When a worker retires: the memory it reads (from /proc, or its peak where there is none) and the
reason it gives."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import pytest

from django_arq.queues import recycling
from django_arq.queues.recycling import Recycling, memory_mb

MB = 1024 * 1024


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_memory_is_the_resident_pages_of_statm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    statm = tmp_path / "statm"
    pages = 3 * MB // os.sysconf("SC_PAGE_SIZE")
    statm.write_text(f"{10 * pages} {pages} 7 1 0 5 0\n")  # size, resident, shared, ...
    monkeypatch.setattr(recycling, "_STATM", statm)
    assert memory_mb() == 3.0


@pytest.mark.parametrize("content", [None, "", "12", "12 many 3"])
def test_without_a_readable_statm_memory_is_the_peak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    statm = tmp_path / "statm"
    if content is not None:
        statm.write_text(content)
    monkeypatch.setattr(recycling, "_STATM", statm)
    before = peak_kb()
    used = memory_mb()
    assert before / 1024 <= used <= peak_kb() / 1024  # Linux gives kB


def test_on_macos_the_peak_is_read_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recycling, "_STATM", tmp_path / "absent")
    monkeypatch.setattr(sys, "platform", "darwin")
    before = peak_kb()
    used = memory_mb()
    assert before / MB <= used <= peak_kb() / MB


def test_memory_limit_reason_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recycling, "memory_mb", lambda: 1023.6)
    below = Recycling(max_memory=1024)
    assert not below.job_ended() and not below.due and below.reason == ""
    monkeypatch.setattr(recycling, "memory_mb", lambda: 1024.0)  # at the limit: retire
    assert below.job_ended() and below.due
    assert below.reason == "uses 1024 MB (max memory 1024 MB)"
    assert not below.job_ended() and below.due and below.jobs == 3  # reported once, still counted


def test_the_job_limit_is_checked_before_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recycling, "memory_mb", lambda: 5000.0)
    both = Recycling(max_jobs=1, max_memory=10)
    assert both.job_ended() and both.reason == "ran 1 jobs (max jobs per process 1)"
    jobs_only = Recycling(max_jobs=3)
    assert not jobs_only.job_ended() and jobs_only.jobs == 1 and not jobs_only.due
