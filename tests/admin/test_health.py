"""Worker health as the dashboard and ``arq_worker --check`` show it: arq's report read into an age
and counts, stale reports in red, and dashboard counts that link to the filtered job list."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from django_arq.conf import HEALTH_CHECK_INTERVAL
from django_arq.models import JobRecord
from django_arq.queues.health import CLOCK_SKEW, STALE_GRACE, read_health

DASHBOARD = "/admin/django_arq/jobrecord/dashboard/"
NOW = dt.datetime(2026, 12, 1, 15, 30, 0)


def report(when: dt.datetime, complete: int = 11, failed: int = 2, ongoing: int = 1, queued: int = 3) -> str:
    """A health report exactly as arq's ``Worker.record_health`` writes it."""
    return (
        f"{when:%b-%d %H:%M:%S} j_complete={complete} j_failed={failed} j_retried=0 "
        f"j_ongoing={ongoing} queued={queued}"
    )


# -- reading a report ------------------------------------------------------------------------


def test_a_fresh_report_reads_as_its_age_and_counts_in_words() -> None:
    health = read_health(report(NOW - dt.timedelta(seconds=4)), ttl=7.0, interval=10, now=NOW)
    assert (health.age, health.stale) == (4.0, False)
    assert health.counts == {"j_complete": 11, "j_failed": 2, "j_retried": 0, "j_ongoing": 1, "queued": 3}
    assert health.report == "last report 4 s ago: 11 complete, 2 failed, 0 retried, 1 running, 3 queued"


def test_a_report_older_than_the_interval_is_stale() -> None:
    """A plain arq worker at its default hour: the key lives on long after the report was written."""
    old = NOW - dt.timedelta(seconds=HEALTH_CHECK_INTERVAL + STALE_GRACE + 1)
    health = read_health(report(old), ttl=3000.0, interval=HEALTH_CHECK_INTERVAL, now=NOW)
    assert health.stale and health.report.startswith(
        f"last report {HEALTH_CHECK_INTERVAL + STALE_GRACE + 1:.0f} s ago (stale): 11 complete"
    )
    on_time = read_health(
        report(NOW - dt.timedelta(seconds=HEALTH_CHECK_INTERVAL)), 3000.0, HEALTH_CHECK_INTERVAL, NOW
    )
    assert not on_time.stale


def test_a_report_written_in_december_read_in_january() -> None:
    health = read_health(
        report(dt.datetime(2026, 12, 31, 23, 59, 58)), None, 10, now=dt.datetime(2027, 1, 1, 0, 0, 1)
    )
    assert (health.age, health.stale) == (3.0, False)


def test_without_a_readable_time_the_age_comes_from_the_time_to_live() -> None:
    text = "j_complete=5 j_failed=0 j_retried=0 j_ongoing=0 queued=0"
    assert read_health(text, ttl=8.0, interval=10, now=NOW).age == 3.0  # written 11 - 8 s ago
    assert read_health(text, ttl=None, interval=10, now=NOW).age is None  # nothing to tell
    ahead = read_health(
        report(NOW + dt.timedelta(hours=2)), ttl=10.5, interval=10, now=NOW
    )  # other time zone
    assert ahead.age == 0.5 and not ahead.stale


def test_the_limits_of_a_report_s_time() -> None:
    """A time up to ``CLOCK_SKEW`` ahead reads as now; a day ahead is this year's, gone past that is
    last year's (arq writes no year); a report exactly an interval and the grace old is not stale."""
    assert read_health(report(NOW + dt.timedelta(seconds=CLOCK_SKEW)), None, 10, now=NOW).age == 0.0
    assert read_health(report(NOW + dt.timedelta(days=1)), None, 10, now=NOW).age is None
    ahead = NOW + dt.timedelta(days=1, hours=12)
    last_year = (NOW - ahead.replace(year=NOW.year - 1)).total_seconds()
    assert read_health(report(ahead), None, 10, now=NOW).age == last_year
    on_the_limit = read_health(report(NOW - dt.timedelta(seconds=10 + STALE_GRACE)), None, 10, now=NOW)
    assert (on_the_limit.age, on_the_limit.stale) == (10 + STALE_GRACE, False)


@pytest.mark.parametrize(("ttl", "age"), [(0.0, 11.0), (0.5, 10.5), (1.5, 9.5), (11.0, 0.0), (11.5, None)])
def test_the_time_to_live_tells_the_age_only_within_one_interval_and_a_second(
    ttl: float, age: float | None
) -> None:
    assert read_health("no time here", ttl=ttl, interval=10, now=NOW).age == age


def test_text_that_is_not_arq_s_is_shown_as_it_is() -> None:
    health = read_health("custom worker OK", ttl=5.0, interval=10, now=NOW)
    assert (health.counts, health.report) == ({}, "last report 6 s ago: custom worker OK")


@given(
    age=st.integers(min_value=0, max_value=20 * 86400),
    counts=st.tuples(*[st.integers(min_value=0, max_value=10**9)] * 4),
    ttl=st.none() | st.floats(min_value=0, max_value=10**6, allow_nan=False),
    interval=st.integers(min_value=1, max_value=7200),
)
def test_any_report_reads_back_its_age_and_counts(
    age: int, counts: tuple[int, int, int, int], ttl: float | None, interval: int
) -> None:
    complete, failed, ongoing, queued = counts
    text = report(NOW - dt.timedelta(seconds=age), complete, failed, ongoing, queued)
    health = read_health(text, ttl, interval, now=NOW)
    assert health.age == age and health.stale == (age > interval + STALE_GRACE)
    assert health.counts["j_complete"] == complete and health.counts["queued"] == queued
    assert f"{failed} failed" in health.report and "j_" not in health.report


@given(text=st.text(), ttl=st.none() | st.floats(allow_nan=False), interval=st.floats(0.1, 1e6))
def test_any_text_reads_without_error(text: str, ttl: float | None, interval: float) -> None:
    health = read_health(text, ttl, interval, now=NOW)
    assert health.age is None or health.age >= 0
    assert health.report.startswith("last report")


# -- the dashboard --------------------------------------------------------------------------


@pytest.fixture
def health_key(queue_name: str, redis_client: redis.Redis) -> Iterator[Callable[[str, float], None]]:
    """Writes ``queue_name``'s health report with a time to live, as a worker does."""
    key = f"{queue_name}:health-check"

    def write(text: str, ttl: float) -> None:
        redis_client.psetex(key, int(ttl * 1000), text.encode())

    yield write
    redis_client.delete(key)


def health_cell(client: Client, queue_name: str) -> str:
    html = client.get(DASHBOARD).content.decode()
    section = html.split(f'data-queue="{queue_name}"')[1].split("</section>")[0]
    return section.split('<td class="arq-health">')[1].split("</td>")[0]


def test_dashboard_shows_the_last_report_in_words(
    viewer_client: Client,
    queue_name: str,
    health_key: Callable[[str, float], None],
    make_record: Callable[..., JobRecord],
) -> None:
    make_record(queue_name=queue_name, alias="default")  # the dashboard lists queues it has records of
    health_key(report(dt.datetime.now()), HEALTH_CHECK_INTERVAL + 1)
    cell = health_cell(viewer_client, queue_name)
    assert '<span class="arq-alive"' in cell and re.search(r"last report \d+ s ago</span>", cell)
    assert "11 complete, 2 failed, 0 retried, 1 running, 3 queued" in cell
    assert "j_complete" not in cell.split("title=")[0] and "expires in" not in cell


def test_dashboard_shows_a_stale_report_in_red(
    viewer_client: Client,
    queue_name: str,
    health_key: Callable[[str, float], None],
    make_record: Callable[..., JobRecord],
) -> None:
    make_record(queue_name=queue_name, alias="default")
    written = dt.datetime.now() - dt.timedelta(minutes=20)
    health_key(report(written), 3600)  # a plain arq worker's hour: the key outlives the worker
    cell = health_cell(viewer_client, queue_name)
    assert '<span class="arq-down"' in cell and "s ago (stale)" in cell
    age = int(re.findall(r"last report (\d+) s ago", cell)[0])
    assert 20 * 60 <= age < 30 * 60  # however slow this machine is
    status = StringIO()
    with pytest.raises(
        CommandError, match=r"no recent health check for queue .*: last report \d+ s ago \(stale\)"
    ) as raised:
        call_command("arq_worker", "--check", "--queue", queue_name, stdout=status)
    assert raised.value.returncode == 1


def test_dashboard_counts_link_to_the_filtered_job_list(
    viewer_client: Client, queue_name: str, make_record: Callable[..., JobRecord]
) -> None:
    now = timezone.now()
    done = dict(queue_name=queue_name, status="complete", finish_time=now, start_time=now)
    ok, bad = make_record(**done, success=True), make_record(**done, success=False)
    old = make_record(**{**done, "finish_time": now - dt.timedelta(hours=3)}, success=False)
    make_record(queue_name="elsewhere", status="complete", finish_time=now, success=False)
    html = viewer_client.get(DASHBOARD).content.decode()
    section = html.split(f'data-queue="{queue_name}"')[1].split("</section>")[0]
    links = {}
    for css in ("finished", "failures"):
        cell = section.split(f'class="num arq-{css}-count">')[1].split("</td>")[0]
        links[css] = cell.split('href="')[1].split('"')[0].replace("&amp;", "&")
    for css, expected in (("finished", {ok.pk, bad.pk}), ("failures", {bad.pk})):
        url = urlsplit(links[css])
        assert url.path == "/admin/django_arq/jobrecord/" and parse_qs(url.query)["queue_name"] == [
            queue_name
        ]
        response = viewer_client.get(links[css])
        assert response.status_code == 200, links[css]  # the admin accepts the lookup (no ?e=1)
        assert {r.pk for r in response.context["cl"].result_list} == expected
    assert old.pk not in {r.pk for r in viewer_client.get(links["failures"]).context["cl"].result_list}


def test_live_counts_link_by_status(
    viewer_client: Client, queue_name: str, redis_client: redis.Redis, make_record: Callable[..., JobRecord]
) -> None:
    from django_arq import get_queue

    job = get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id=uuid.uuid4().hex)
    from django_arq.audit.writer import flush_records

    assert flush_records(10)
    html = viewer_client.get(DASHBOARD).content.decode()
    section = html.split(f'data-queue="{queue_name}"')[1].split("</section>")[0]
    cell = section.split('class="num arq-queued-count">')[1].split("</td>")[0]
    link = cell.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert ">1</a>" in cell and "status__exact=queued" in link
    assert [r.job_id for r in viewer_client.get(link).context["cl"].result_list] == [job.id]
