"""ArqBackend without a worker: enqueue, mapping to arq jobs, validation, unknown ids, checks."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.tasks import TaskResultStatus, default_task_backend, task, task_backends
from django.tasks.backends.dummy import DummyBackend
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist, TaskResultMismatch
from django.tasks.signals import task_enqueued
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from django_arq import JobStatus, get_queue
from django_arq.queues.jobs import score_not_before
from django_arq.tasks import RUN_TASK, ArqBackend, common, worker_functions
from django_arq.tasks.common import MAX_DEPTH, _json_key
from tests.settings import REDIS_URL
from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_QUEUE
from tests.tasks.support import wait_finished


def test_default_backend_is_arq_with_honest_flags() -> None:
    backend = task_backends["default"]
    assert isinstance(backend, ArqBackend)
    assert backend.arq_alias == "tasks"
    assert (backend.supports_defer, backend.supports_async_task, backend.supports_get_result) == (
        True,
        True,
        True,
    )
    assert backend.supports_priority is False


def test_enqueue_returns_ready_result_and_an_arq_job() -> None:
    before = timezone.now()
    result = sample_tasks.add.enqueue(2, b=3)
    assert result.status == TaskResultStatus.READY
    assert result.backend == "default"
    assert (result.args, result.kwargs) == ([2], {"b": 3})
    assert (
        result.enqueued_at is not None
        # arq rounds the enqueue time to the millisecond: it can read up to 0.5 ms ahead of now()
        and before - timedelta(seconds=1) <= result.enqueued_at <= timezone.now() + timedelta(milliseconds=1)
    )
    assert result.worker_ids == [] and result.started_at is None and result.errors == []
    meta = get_queue("tasks").get_job_metadata_sync(result.id)
    assert meta.name == RUN_TASK
    assert meta.args == ("tests.tasks.sample_tasks.add", [2], {"b": 3})
    assert meta.kwargs == {"backend": "default", "queue_name": "default", "run_after": None}
    assert meta.queue_name == TASKS_QUEUE


def test_read_back_before_a_worker_runs_it() -> None:
    result = sample_tasks.echo.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue(
        (1, 2), k={"x": 1}
    )
    again = sample_tasks.echo.get_result(result.id)
    assert again.status == TaskResultStatus.READY
    assert (again.args, again.kwargs) == ([[1, 2]], {"k": {"x": 1}})
    assert again.enqueued_at == result.enqueued_at
    assert again.task.module_path == "tests.tasks.sample_tasks.echo"
    assert again.task.run_after == result.task.run_after
    with pytest.raises(ValueError, match="not finished"):
        again.return_value  # noqa: B018


def test_run_after_defers_the_arq_job() -> None:
    when = timezone.now() + timedelta(minutes=10)
    result = sample_tasks.add.using(run_after=when).enqueue(1, 1)
    meta = get_queue("tasks").get_job_metadata_sync(result.id)
    assert meta.status == JobStatus.deferred
    assert meta.kwargs["run_after"] == when


def test_run_after_days_past_runs_the_task_at_once(task_worker: Any) -> None:
    """Django's meaning; before, the payload lived a day less the delay: none, and the task was lost."""
    result = sample_tasks.add.using(run_after=timezone.now() - timedelta(days=2)).enqueue(1, 2)
    assert wait_finished(result, timeout=30).return_value == 3


def test_other_django_queue_maps_to_a_prefixed_arq_queue() -> None:
    backend = task_backends["default"]
    assert backend.arq_queue_name("default") == TASKS_QUEUE
    assert backend.arq_queue_name("other") == f"{TASKS_QUEUE}:other"
    result = sample_tasks.add.using(queue_name="other").enqueue(1, 2)
    meta = get_queue("tasks").get_job_metadata_sync(result.id, f"{TASKS_QUEUE}:other")
    assert meta.queue_name == f"{TASKS_QUEUE}:other"
    assert sample_tasks.add.get_result(result.id).task.queue_name == "other"


async def test_aenqueue_is_native_async(monkeypatch: pytest.MonkeyPatch) -> None:
    queue = get_queue("tasks")

    def no_blocking(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("aenqueue must not use the blocking enqueue")

    monkeypatch.setattr(queue, "enqueue_sync", no_blocking)
    monkeypatch.setattr(ArqBackend, "enqueue", no_blocking)
    # deferred: READY whatever the order of the tests (the session's worker may be running)
    later = timezone.now() + timedelta(hours=1)
    result = await sample_tasks.async_add.using(run_after=later).aenqueue(4, 5)
    assert result.status == TaskResultStatus.READY
    again = await sample_tasks.async_add.aget_result(result.id)
    assert again.args == [4, 5] and again.status == TaskResultStatus.READY


@pytest.mark.parametrize("use_async", [False, True])
async def test_task_enqueued_signal(use_async: bool) -> None:
    seen: list[Any] = []

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        seen.append((sender, task_result.id, task_result.status))

    task_enqueued.connect(receiver)
    try:
        if use_async:
            result = await sample_tasks.add.aenqueue(1, 2)
        else:
            from asgiref.sync import sync_to_async

            result = await sync_to_async(sample_tasks.add.enqueue)(1, 2)
    finally:
        task_enqueued.disconnect(receiver)
    assert seen == [(ArqBackend, result.id, TaskResultStatus.READY)]


# -- validation -------------------------------------------------------------------------------


def test_priority_is_refused_in_djangos_words_with_the_reason() -> None:
    with pytest.raises(InvalidTask) as raised:
        sample_tasks.add.using(priority=10)
    message = str(raised.value)
    assert message.startswith("Backend does not support setting priority of tasks.")  # Django's text
    assert "use a separate queue for urgent tasks" in message


def test_queue_not_in_queues_is_worded_as_djangos_backends_word_it() -> None:
    with pytest.raises(InvalidTask) as raised:
        sample_tasks.add.using(queue_name="emails")
    message = str(raised.value)
    assert message.startswith("Queue 'emails' is not valid for backend.")  # what Django's tests expect
    assert message.endswith("TASKS['default']['QUEUES'] is ['default', 'other'].")


class NoPriorityBackend(DummyBackend):
    """Django's own backend, without priority support as ArqBackend."""

    supports_priority = False


@pytest.mark.parametrize("changes", [{"queue_name": "emails"}, {"priority": 10}], ids=["queue", "priority"])
def test_messages_begin_with_those_of_djangos_own_backends(changes: dict[str, Any]) -> None:
    """Django's test suite for task backends matches these texts (assertRaisesMessage: a substring)."""
    bad = sample_tasks.add.using(backend="immediate", **changes)  # ImmediateBackend checks no queue
    params = {"QUEUES": ["default"], "OPTIONS": {"ALIAS": "tasks"}}
    with pytest.raises(InvalidTask) as djangos:
        NoPriorityBackend("dummy", params).validate_task(bad)
    with pytest.raises(InvalidTask) as ours:
        ArqBackend("default", params).validate_task(bad)
    assert str(ours.value).startswith(str(djangos.value))


@given(name=st.text(max_size=40).filter(lambda n: n not in ("default", "other")))
def test_any_unknown_queue_is_refused_in_djangos_words(name: str) -> None:
    bad = sample_tasks.add.using(backend="immediate", queue_name=name)
    with pytest.raises(InvalidTask) as ours:
        task_backends["default"].validate_task(bad)
    assert str(ours.value).startswith(f"Queue '{name}' is not valid for backend.")


def test_naive_run_after_is_refused() -> None:
    with pytest.raises(InvalidTask, match=r"^run_after must be an aware datetime\.$"):  # Django's check
        sample_tasks.add.using(run_after=datetime(2030, 1, 1))


def test_without_use_tz_a_naive_run_after_is_a_time_in_time_zone(without_use_tz: None) -> None:
    """Django's clock is naive there, and ``timezone.now() + delta`` its way to defer a task."""
    later = timezone.now() + timedelta(minutes=10)
    assert timezone.is_naive(later)
    result = sample_tasks.add.using(run_after=later).enqueue(1, 1)
    meta = get_queue("tasks").get_job_metadata_sync(result.id)
    instant = timezone.make_aware(later)
    assert meta.status == JobStatus.deferred and meta.kwargs["run_after"] == instant
    with redis.Redis.from_url(REDIS_URL) as client:
        score = client.zscore(meta.queue_name, result.id)
    assert score == score_not_before(instant)  # due at that instant, never before it


def test_functions_that_cannot_be_imported_by_path_are_refused() -> None:
    def local(a: int) -> int:
        return a

    with pytest.raises(InvalidTask, match="module level"):
        task(local)


def test_context_tasks_need_a_context_argument() -> None:
    with pytest.raises(InvalidTask, match="first argument of 'context'"):
        task(takes_context=True)(sample_tasks.not_a_task)


def test_arguments_must_be_json() -> None:
    with pytest.raises(
        TypeError, match=r"arguments of task 'tests.tasks.sample_tasks.add' must be JSON-serialisable"
    ):
        sample_tasks.add.enqueue(object(), 1)


@pytest.mark.parametrize("args", [(10**5000, 1), ([{"a": -(10**4400)}], 1)], ids=["int", "nested int"])
def test_an_int_of_more_digits_than_json_can_write_is_refused_at_enqueue(args: tuple[Any, ...]) -> None:
    """It is no JSON (``json.dumps`` refuses it), and arq's worker would fail the job before it started."""
    with pytest.raises(TypeError, match=r"must be JSON-serialisable: Exceeds the limit \(4300 digits\)"):
        sample_tasks.add.enqueue(*args)
    assert sample_tasks.add.enqueue(10**4000, 1).args == [10**4000, 1]  # within the limit


def nested(levels: int) -> list[Any]:
    """Lists nested ``levels`` deep: ``nested(1) == []``."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_arguments_may_nest_max_depth_deep() -> None:
    result = sample_tasks.echo.enqueue(nested(MAX_DEPTH), k={"a": nested(MAX_DEPTH - 1)})
    assert result.args == [nested(MAX_DEPTH)] and result.kwargs == {"k": {"a": nested(MAX_DEPTH - 1)}}


def contains_itself() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((nested(MAX_DEPTH + 1),), {}),
        ((), {"k": {"a": nested(MAX_DEPTH)}}),
        ((nested(10**5),), {}),  # the caller's stack would run out
        ((contains_itself(),), {}),
    ],
    ids=["one level more", "one level more in a dict", "far deeper", "contains itself"],
)
def test_arguments_nested_deeper_are_refused_at_enqueue(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """A worker or reader with less stack left could not rebuild them."""
    with pytest.raises(
        TypeError, match=f"must be JSON-serialisable: lists and dicts nested more than {MAX_DEPTH}"
    ):
        sample_tasks.echo.enqueue(*args, **kwargs)


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ({1: "a", "1": "b"}, "1 and '1'"),
        ({True: "a", "true": "b"}, "True and 'true'"),
        ({None: "a", "null": "b"}, "None and 'null'"),
        ({"x": [{2.5: "a", "2.5": "b"}]}, "2.5 and '2.5'"),
    ],
)
def test_keys_json_would_write_as_one_are_refused_on_a_json_alias(value: dict[Any, Any], keys: str) -> None:
    with pytest.raises(TypeError, match=f"the keys {re.escape(keys)} of one dict are both written as"):
        sample_tasks.echo.using(backend="json").enqueue(value)
    assert sample_tasks.echo.enqueue(value).args == [value]  # pickled: both kept as they are


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text()))
def test_a_keys_json_text_is_the_one_json_writes(key: Any) -> None:
    assert _json_key(key) == next(iter(json.loads(json.dumps({key: None}))))


def test_int_keys_on_a_json_alias_are_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not each through json.dumps and json.loads (on every enqueue and result): a dict with
    200 int keys took five times as long."""
    calls: list[str] = []

    class Counted:
        def dumps(self, *args: Any, **kwargs: Any) -> str:
            calls.append("dumps")
            return json.dumps(*args, **kwargs)

        def loads(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("loads")
            return json.loads(*args, **kwargs)

    monkeypatch.setattr(common, "json", Counted())
    value = {i: i for i in range(200)}
    assert common.json_value(value, text_keys=True) == value
    assert calls == ["dumps"]


def test_keys_that_normalise_to_one_are_refused_on_any_alias() -> None:
    for backend in ("default", "json"):
        with pytest.raises(TypeError, match=r"the keys b'a' and 'a' of one dict are both written as 'a'"):
            sample_tasks.echo.using(backend=backend).enqueue({b"a": 1, "a": 2})


# -- results that do not exist --------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["no-such-task", "", 42, "\ud800", "a\x00b"])
def test_unknown_ids(bad_id: Any) -> None:
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(bad_id)


@pytest.mark.parametrize(
    "huge_id",
    ["x" * 10**6, "\ud800" * 10**6, b"x" * 10**6, ["x"] * 10**5],
    ids=["str", "surrogates", "bytes", "list"],
)
def test_an_unknown_huge_id_is_shown_cut_in_the_message(huge_id: Any) -> None:
    with pytest.raises(TaskResultDoesNotExist) as raised:
        default_task_backend.get_result(huge_id)
    message = str(raised.value)
    assert len(message) < 400 and repr(huge_id[:20])[:-1] in message


async def test_unknown_id_async() -> None:
    with pytest.raises(TaskResultDoesNotExist, match="no task result with id 'nope'"):
        await sample_tasks.add.aget_result("nope")


def test_an_arq_job_that_is_not_a_task_is_no_task_result() -> None:
    meta = get_queue("tasks").enqueue_sync(
        "tests.jobs.add", 1, 2, _queue_name="django-arq-tests:tasks:nobody"
    )
    with pytest.raises(TaskResultDoesNotExist, match=r"arq job of .tests\.jobs\.add., not a Django task"):
        default_task_backend.get_result(meta.id)


def test_result_of_another_task_is_a_mismatch() -> None:
    result = sample_tasks.add.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue(1, 2)
    with pytest.raises(TaskResultMismatch):
        sample_tasks.echo.get_result(result.id)


def test_a_task_of_another_arq_backend_on_the_same_alias_is_no_task_result_of_this_one(settings: Any) -> None:
    twin = {"BACKEND": "django_arq.tasks.ArqBackend", "QUEUES": ["default"], "OPTIONS": {"ALIAS": "tasks"}}
    settings.TASKS = {**settings.TASKS, "twin": twin}
    result = sample_tasks.add.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue(1, 2)
    with pytest.raises(
        TaskResultDoesNotExist, match=r"is a task of TASKS\['default'\], not of TASKS\['twin'\]"
    ):
        task_backends["twin"].get_result(result.id)


def test_a_task_of_an_alias_with_another_serializer_is_no_task_result() -> None:
    result = sample_tasks.add.using(backend="json", run_after=timezone.now() + timedelta(minutes=5)).enqueue(
        1, 2
    )
    with pytest.raises(
        TaskResultDoesNotExist, match=r"an arq job this backend cannot read \(pickle serializer\)"
    ):
        default_task_backend.get_result(result.id)


# -- system checks and worker functions -------------------------------------------------------


def test_configured_backends_pass_their_checks() -> None:
    assert task_backends["default"].check() == []
    assert task_backends["audited"].check() == []
    assert task_backends["json"].check() == []


@pytest.mark.parametrize(
    ("options", "check_id", "text"),
    [
        ({"ALIAS": "tasks", "PRIORITY": 1}, "django_arq.T001", "unknown keys ['PRIORITY']"),
        ({"ALIAS": "missing"}, "django_arq.T002", "ARQ_QUEUES has no alias 'missing'"),
        ({"ALIAS": "mock"}, "django_arq.T003", "needs a RedisArqQueue alias"),
    ],
)
def test_misconfiguration_is_reported_by_check(options: dict[str, Any], check_id: str, text: str) -> None:
    backend = ArqBackend("broken", {"OPTIONS": options})
    messages = backend.check()
    assert [m.id for m in messages] == [check_id]
    assert text in messages[0].msg


def test_worker_functions_for_an_alias() -> None:
    (function,) = worker_functions("tasks")
    assert function.name == RUN_TASK
    (function,) = worker_functions("tasks_audit")
    assert function.name == RUN_TASK
    assert worker_functions("default") == []
    assert worker_functions("mock") == []
