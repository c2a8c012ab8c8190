"""Real ``arq_worker`` processes firing 1-second schedules: one job per slot, none missing, none
doubled, with a worker killed on the way and a schedule re-timed in the database meanwhile."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from django_arq.models import JobRecord, Schedule
from django_arq.queues.wakeup import wake_channel
from django_arq.schedules import GRACE, POLL_INTERVAL, IntervalTiming
from django_arq.schedules.changes import RECHECK_INTERVAL
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)

#: How long the schedules run before and after a worker is killed (slots are 1 s apart).
PHASE = 7.0


class ScheduleWorkers(WorkerRunner):
    def env(self) -> dict[str, str]:
        return {**super().env(), "DJANGO_SETTINGS_MODULE": "tests.schedules.worker_settings"}


@pytest.fixture
def schedule_workers(queue_name: str, redis_client: redis.Redis) -> Iterator[ScheduleWorkers]:
    runner = ScheduleWorkers(queue_name)
    yield runner
    for process in runner.processes:
        process.kill()
    for key in redis_client.scan_iter("arq:*:schedule:*"):
        redis_client.delete(key)


def fired_ids(client: redis.Redis, schedule: Schedule) -> set[str]:
    """Ids of the jobs Redis holds for a schedule (queued or with a kept result)."""
    ids = set()
    for kind in ("job", "result"):
        for key in client.scan_iter(f"arq:{kind}:{schedule.job_id_prefix}*"):
            ids.add(key.decode().split(":", 2)[2])
    return ids


def ran_ids(client: redis.Redis, key: str) -> list[str]:
    """Ids of the jobs that ran, in order, as ``count_run`` noted them (a rerun twice)."""
    return [r.decode() for r in client.lrange(key, 0, -1)]


def slots_of(ids: set[str]) -> list[int]:
    return sorted(int(i.rsplit(":", 1)[1]) for i in ids)


def test_three_workers_fire_each_slot_once_through_a_kill_and_an_edit(
    schedule_workers: ScheduleWorkers, redis_client: redis.Redis, queue_name: str
) -> None:
    runs = {
        name: f"django-arq-tests:schedules:{uuid.uuid4().hex[:8]}:{name}" for name in ("a", "b", "edited")
    }
    fields = {"function": "tests.schedules.jobs.count_run", "queue_name": queue_name}
    stalled: list[str] = []
    try:
        workers = [schedule_workers.start() for _ in range(3)]
        every_second = [
            Schedule.objects.create(name=name, interval=1, args=[runs[name]], **fields) for name in ("a", "b")
        ]
        edited = Schedule.objects.create(name="edited", interval=3600, args=[runs["edited"]], **fields)
        time.sleep(PHASE)
        workers[0].kill()  # mid-way: the others go on, no slot is lost
        edited.interval = 2  # as the admin saves it: the next run moves without a restart
        edited.save()
        edit_time = edited.updated_at
        time.sleep(PHASE)
        Schedule.objects.update(enabled=False, next_run=None)
        # The jobs already fired run to the end; one the killed worker had claimed runs once a
        # live worker finds it lost (LOST_AFTER), well within the wait.
        for schedule in [*every_second, edited]:
            try:
                wait_for(
                    lambda s=schedule: set(ran_ids(redis_client, runs[s.name])) >= fired_ids(redis_client, s),
                    timeout=45,
                )
            except AssertionError:
                unrun = fired_ids(redis_client, schedule) - set(ran_ids(redis_client, runs[schedule.name]))
                stalled.append(f"{schedule.name}: fired but not run: {sorted(unrun)}")
    finally:
        for worker in schedule_workers.processes:
            worker.stop()
        logs = "\n".join(w.output()[-3000:] for w in schedule_workers.processes)
    assert not stalled, (stalled, logs)

    for schedule in every_second:
        ids = fired_ids(redis_client, schedule)
        slots = slots_of(ids)
        ran = ran_ids(redis_client, runs[schedule.name])
        first = int(IntervalTiming(1).after(schedule.updated_at).timestamp())
        assert slots[0] == first, (slots, first, logs)  # the slots while the workers started fired too
        assert slots == list(range(first, slots[-1] + 1)), (slots, logs)  # none missing
        assert len(slots) >= 2 * PHASE - 3, (slots, logs)  # the slots of both phases
        assert set(ran) == ids, (sorted(ran), sorted(ids), logs)  # every job ran
        records = JobRecord.objects.filter(job_id__startswith=schedule.job_id_prefix)
        expected = len(ids)
        wait_for(lambda r=records, n=expected: r.count() == n, timeout=30)  # type: ignore[misc]
        assert set(records.values_list("job_id", flat=True)) == ids
        # None ran twice, but a job the killed worker ran and could not mark done: arq's
        # at-least-once rerun, as its second try, once a live worker found the first lost.
        twice = [job_id for job_id in set(ran) if ran.count(job_id) > 1]
        assert len(twice) <= 1 and all(ran.count(job_id) == 2 for job_id in twice), (sorted(ran), logs)
        if twice:
            wait_for(records.filter(job_id=twice[0], job_try=2).exists, timeout=30)
    all_edited = slots_of(fired_ids(redis_client, edited))
    # Before the edit, the hourly timing: a run that crosses the top of an hour fires that slot.
    hourly = [slot for slot in all_edited if slot <= edit_time.timestamp()]
    assert len(hourly) <= 1 and all(slot % 3600 == 0 for slot in hourly), (all_edited, edit_time, logs)
    edited_slots = all_edited[len(hourly) :]
    first_edited = int(IntervalTiming(2).after(edit_time).timestamp())
    assert edited_slots[:1] == [first_edited], (all_edited, edit_time, logs)
    assert edited_slots == list(range(first_edited, edited_slots[-1] + 1, 2)), (all_edited, logs)
    assert len(edited_slots) >= 2, all_edited
    assert edited_slots[0] - edit_time.timestamp() <= 2


def test_a_restarted_worker_fires_no_slot_twice_and_catches_up(
    schedule_workers: ScheduleWorkers, redis_client: redis.Redis, queue_name: str
) -> None:
    runs = f"django-arq-tests:schedules:{uuid.uuid4().hex[:8]}:restart"
    first_worker = schedule_workers.start()
    schedule = Schedule.objects.create(
        name="restart",
        interval=1,
        args=[runs],
        function="tests.schedules.jobs.count_run",
        queue_name=queue_name,
    )
    wait_for(lambda: redis_client.llen(runs) >= 3, timeout=30)
    first_worker.stop()  # SIGTERM: a deploy; the row says which slot fired last
    stopped = time.time()
    schedule_workers.start()
    restarted = time.time()
    wait_for(
        lambda: len(slots_of(fired_ids(redis_client, schedule))) >= 3 + (restarted - stopped) + 2, timeout=30
    )
    Schedule.objects.update(enabled=False, next_run=None)
    wait_for(
        lambda: len(set(redis_client.lrange(runs, 0, -1))) >= len(fired_ids(redis_client, schedule)),
        timeout=30,
    )
    for worker in schedule_workers.processes:
        worker.stop()

    slots = slots_of(fired_ids(redis_client, schedule))
    ran = [r.decode() for r in redis_client.lrange(runs, 0, -1)]
    assert len(set(ran)) == len(slots)  # every fired slot ran
    # and ran once, but for a job the SIGTERM cancelled after its side effect: arq runs it again
    assert len(ran) - len(set(ran)) <= 1, ran
    missing = set(range(slots[0], slots[-1] + 1)) - set(slots)
    # Only slots older than the grace when the new worker started may be missing (catch-up "last").
    assert all(stopped < slot < restarted - GRACE.total_seconds() for slot in missing), (
        missing,
        stopped,
        restarted,
    )


def test_an_idle_worker_takes_an_edit_at_once(
    schedule_workers: ScheduleWorkers, redis_client: redis.Redis, queue_name: str
) -> None:
    """An idle worker's firer sleeps until the earliest next run (an hour away here, so as long as
    RECHECK_INTERVAL); a schedule saved through the ORM is announced, and the worker looks at once."""
    runs = f"django-arq-tests:schedules:{uuid.uuid4().hex[:8]}:edited-while-idle"
    fields = {"function": "tests.schedules.jobs.count_run", "queue_name": queue_name}
    schedule = Schedule.objects.create(name="hourly", interval=3600, args=[runs], **fields)
    # The worker subscribes to its queue's wake channel and to the schedules' channel in one command.
    # The first is this test's alone; the second is shared by every worker of the Redis server,
    # whatever its database (a suite running beside this one), so its count would say nothing.
    channel = wake_channel(queue_name)
    schedule_workers.start()
    wait_for(lambda: dict(redis_client.pubsub_numsub(channel))[channel.encode()] == 1, timeout=30)
    wait_for(lambda: Schedule.objects.get(pk=schedule.pk).next_run is not None, timeout=30)  # it looked
    time.sleep(3 * POLL_INTERVAL.total_seconds())  # and, hearing edits, looked again and went to sleep
    schedule.interval = 1
    schedule.save()  # announced on commit
    edited = time.monotonic()
    wait_for(lambda: redis_client.llen(runs) >= 2, timeout=RECHECK_INTERVAL.total_seconds() / 3)
    assert time.monotonic() - edited < RECHECK_INTERVAL.total_seconds() / 3
    Schedule.objects.update(enabled=False, next_run=None)
