"""queues/reporting.py: the coalescing rule against a clock the test moves, so that each step is
decided by the rule and not by how fast a busy machine runs the test: a report one interval after
the last stored one is stored at once, a report after a flushed one waits its interval, and
nothing is stored after a job ended."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from django_arq import report_progress
from django_arq.queues import reporting
from django_arq.queues.reporting import WHILE_RUNNING
from tests.core.test_progress_reports import Recorded, Slow, job_ctx
from tests.helpers import async_wait_for

#: Real seconds a waiting report's timer takes (the rule's own clock does not move by itself).
INTERVAL = 0.25  # exact in binary: the clock's sums are exact


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(reporting, "time", SimpleNamespace(monotonic=lambda: clock.now))
    return clock


async def test_a_report_exactly_one_interval_after_the_stored_one_is_stored_at_once(
    clock: SimpleNamespace,
) -> None:
    reports = Recorded(interval=INTERVAL)
    await report_progress(job_ctx(reports), 1)
    clock.now += INTERVAL
    await report_progress(job_ctx(reports), 2)
    assert reports.done() == [1, 2]


async def test_a_report_after_a_flushed_one_waits_its_interval_then_one_is_stored_at_once(
    clock: SimpleNamespace,
) -> None:
    reports = Recorded(interval=INTERVAL)
    await report_progress(job_ctx(reports), 1)  # stored at once
    await report_progress(job_ctx(reports), 2)  # waits: stored by the flush when its timer fires
    await async_wait_for(lambda: reports.done() == [1, 2], timeout=10)
    await async_wait_for(lambda: reports._jobs["j"].flush is None, timeout=10)
    await report_progress(job_ctx(reports), 3)  # the flush started a new interval: this one waits
    assert reports.done() == [1, 2]
    await async_wait_for(lambda: reports.done() == [1, 2, 3], timeout=10)
    await async_wait_for(lambda: reports._jobs["j"].flush is None, timeout=10)
    clock.now += INTERVAL  # the interval is over and nothing waits: the next report goes at once
    await report_progress(job_ctx(reports), 4)
    assert reports.done() == [1, 2, 3, 4]


async def test_nothing_is_stored_after_the_job_ended(clock: SimpleNamespace) -> None:
    reports = Recorded(interval=INTERVAL)
    for done in (1, 2, 3):  # 1 stored at once, 2 and 3 coalesced into one waiting store
        await report_progress(job_ctx(reports), done)
    await reports.job_ended("j", 5000)
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 3, 5000)]
    await asyncio.sleep(4 * INTERVAL)  # past any timer of the job's: none is left to fire
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 3, 5000)]


async def test_reports_during_a_store_and_after_it_leave_one_timer_which_the_jobs_end_cancels(
    clock: SimpleNamespace,
) -> None:
    reports = Slow(interval=INTERVAL)
    await report_progress(job_ctx(reports), 1)  # stored at once
    reports.gate.clear()
    reports.storing.clear()
    await report_progress(job_ctx(reports), 2)  # waits; its store then blocks on the gate
    await asyncio.wait_for(reports.storing.wait(), 10)
    flush = reports._jobs["j"].flush
    assert flush is not None and flush.get_name() == "django-arq-progress-j"  # found in a task dump
    await report_progress(job_ctx(reports), 3)  # comes while 2 is stored: a new timer after it
    reports.gate.set()
    await async_wait_for(lambda: reports.done() == [1, 2] and reports._jobs["j"].flush is None, timeout=10)
    await report_progress(job_ctx(reports), 4)  # joins the timer that is set: no second one
    await reports.job_ended("j", 5000)
    assert reports.stored[2:] == [("j", 4, 5000)]
    await asyncio.sleep(4 * INTERVAL)  # past any timer of the job's: none is left to fire
    assert reports.done() == [1, 2, 4]
