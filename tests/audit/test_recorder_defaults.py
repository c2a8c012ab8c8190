"""A recorder built with its defaults: a full batch is written at once, all its database work runs
in its one named thread, it counts what it wrote, backs off from the flush interval, records no
worker until told one, and keeps its times aware whatever USE_TZ says."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import uuid
from typing import Any

import pytest
from django.db import OperationalError
from django.test import override_settings

import django_arq.audit.recorder as recorder_module
from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import start_echo

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_full_default_batch_is_written_without_waiting_for_the_interval() -> None:
    recorder = JobRecorder("default", "q", flush_interval=600)
    recorder.start()
    try:
        for _ in range(500):
            start_echo(recorder, uuid.uuid4().hex, 1)
        deadline = time.monotonic() + 60
        while recorder.written < 500:  # counted once the write returned, its rows all committed
            assert time.monotonic() < deadline, "the full batch was not written"
            await asyncio.sleep(0.05)
        assert await JobRecord.objects.acount() == 500
    finally:
        await recorder.close()


async def test_writes_and_lost_jobs_share_the_recorder_s_one_named_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = JobRecorder("default", "q")
    threads: list[str] = []
    entered, released = threading.Event(), threading.Event()
    write, record_lost = recorder._write, recorder_module.record_lost_jobs

    def held_write(batch: Any) -> None:
        threads.append(threading.current_thread().name)
        entered.set()
        assert released.wait(60), "the test never released the write"
        write(batch)

    def lost(*args: Any) -> None:
        threads.append(threading.current_thread().name)
        record_lost(*args)

    recorder._write = held_write  # type: ignore[method-assign]
    monkeypatch.setattr(recorder_module, "record_lost_jobs", lost)
    try:
        start_echo(recorder, uuid.uuid4().hex, 1)
        flushing = asyncio.create_task(recorder.flush())
        assert await asyncio.to_thread(entered.wait, 60), "the write never started"
        losing = asyncio.create_task(recorder.jobs_lost([]))
        await asyncio.sleep(0.2)  # time for a second thread, if there were one, to take the lost jobs
        released.set()
        assert await flushing is True
        await losing
    finally:
        released.set()
        await recorder.close()
    assert threads == ["django-arq-recorder_0", "django-arq-recorder_0"]


async def test_written_counts_the_jobs_of_each_successful_write(recorder: JobRecorder) -> None:
    assert recorder.written == 0
    start_echo(recorder, uuid.uuid4().hex, 1)
    start_echo(recorder, uuid.uuid4().hex, 1)
    assert await recorder.flush() is True
    assert recorder.written == 2


async def test_the_first_failed_write_is_retried_after_twice_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = JobRecorder("default", "q", flush_interval=1)
    write = recorder._write

    def fail(batch: Any) -> None:
        raise OperationalError("the database is down")

    recorder._write = fail  # type: ignore[method-assign]
    try:
        start_echo(recorder, uuid.uuid4().hex, 1)
        with caplog.at_level(logging.WARNING, logger="django_arq.recorder"):
            assert await recorder.flush() is False
        assert "could not write 1 job record(s), retrying in 2.0s" in caplog.text
    finally:
        recorder._write = write  # type: ignore[method-assign]
        await recorder.close()


async def test_a_recorder_not_told_its_worker_records_none(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    start_echo(recorder, job, 1)
    assert await recorder.flush() is True
    assert (await JobRecord.objects.aget(job_id=job)).worker_id == ""


def test_without_use_tz_the_recorder_s_times_are_still_aware() -> None:
    """Its times go into try entries' JSON text too, where a naive time would lose its instant;
    the records' fields store them as Django does under USE_TZ = False (test_recorder_time_zones)."""
    with override_settings(USE_TZ=False):
        recorder = JobRecorder("default", "q")
        try:
            start_echo(recorder, uuid.uuid4().hex, 1)
            [pending] = recorder._pending.values()
            assert pending.status["start_time"].tzinfo is dt.UTC
        finally:
            recorder._executor.shutdown()
