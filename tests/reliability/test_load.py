"""A smaller run of bench/bench_load.py: concurrent producers, several arq_worker processes."""

from __future__ import annotations

import pytest

from bench.bench_load import run_load

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_every_job_runs_once_with_one_complete_record_and_no_keys_left(on_server: str) -> None:
    report = run_load(on_server, jobs=2000, producers=20, workers=2, bulk=20)
    print("\n".join(report.lines()))
    assert report.problems == []
    assert len(report.single_latencies) == 1000 and len(report.bulk_latencies) == 50


def test_the_check_reports_lost_repeated_and_leftover_jobs(on_server: str, server_client) -> None:  # type: ignore[no-untyped-def]
    """The load test's verdict is not vacuous: each kind of damage is reported."""
    from bench.bench_load import QUEUE, LoadReport, check
    from tests.reliability.jobs import RUNS

    server_client.hset(RUNS, mapping={"a": 1, "b": 2})
    server_client.set("arq:job:c", b"x")
    server_client.zadd(QUEUE, {"c": 1})
    server_client.set("arq:result:a", b"x")
    report = LoadReport(jobs=3, producers=1, workers=1)
    check(report, server_client, ["a", "b", "c"])
    assert report.problems == [
        "1 jobs never ran, 1 ran more than once",
        "0 records for 3 jobs",
        "keys left behind: {'arq:job': 1, 'django-arq-load:queue': 1}",
        "1 kept results for 3 jobs",
    ]
