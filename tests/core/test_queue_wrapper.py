"""``QueueWrapper`` hands each call to the queue it wraps, arguments unchanged, and answers with
that queue's reply; what the wrapped queue declares (names, serializer, settings) stays its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from arq.connections import RedisSettings

from django_arq.queues.base import ArqQueue
from django_arq.queues.wrapper import QueueWrapper

Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def recorded(name: str, *, is_async: bool) -> Callable[..., Any]:
    """A backend method that notes its call and answers with a value of its own."""

    def sync(self: Base, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        return f"reply of {name}"

    async def coroutine(self: Base, *args: Any, **kwargs: Any) -> Any:
        return sync(self, *args, **kwargs)

    return coroutine if is_async else sync


ASYNC = [
    "enqueue_many",
    "abort_job",
    "get_job_metadata",
    "get_job_result",
    "get_job",
    "count_jobs",
    "list_workers",
]
SYNC = [name + "_sync" for name in ASYNC]


class Base(ArqQueue):
    """A backend that only notes what it is asked (its calls are added below)."""

    jobs_run_in_process = True

    def __init__(self) -> None:
        super().__init__(default_queue_name="wrapped:queue", abort_timeout=7.5, serializer="json")
        self.calls: list[Call] = []

    @property
    def redis_settings(self) -> RedisSettings:
        return RedisSettings(host="wrapped-host", database=3)

    @property
    def location(self) -> str:
        return "redis://wrapped-host:6379/3"

    async def aclose(self) -> None:
        self.calls.append(("aclose", (), {}))

    def close(self) -> None:
        self.calls.append(("close", (), {}))


Recording = type(
    "Recording",
    (Base,),
    {name: recorded(name, is_async=name in ASYNC) for name in ASYNC + SYNC},
)

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("enqueue_many", (["spec"],), {}),
    ("abort_job", ("job-1", "other:queue"), {"timeout": 2.5}),
    ("get_job_metadata", ("job-2", "other:queue"), {}),
    ("get_job_result", ("job-3", "other:queue"), {}),
    ("get_job", ("job-4", "other:queue"), {}),
    ("count_jobs", (["a", "b"],), {}),
    ("list_workers", ("other:queue", 12.5), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
async def test_each_call_reaches_the_wrapped_queue_unchanged(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    backend = Recording()
    wrapper = QueueWrapper(backend)
    assert await getattr(wrapper, name)(*args, **kwargs) == f"reply of {name}"
    assert getattr(wrapper, name + "_sync")(*args, **kwargs) == f"reply of {name}_sync"
    assert backend.calls == [(name, args, kwargs), (name + "_sync", args, kwargs)]


async def test_calls_given_only_a_job_id_pass_the_defaults_on() -> None:
    backend = Recording()
    wrapper = QueueWrapper(backend)
    await wrapper.abort_job("job-1")
    wrapper.abort_job_sync("job-1")
    for name in ("get_job_metadata", "get_job_result", "get_job"):
        await getattr(wrapper, name)("job-1")
        getattr(wrapper, name + "_sync")("job-1")
    assert backend.calls[:2] == [
        ("abort_job", ("job-1", None), {"timeout": None}),
        ("abort_job_sync", ("job-1", None), {"timeout": None}),
    ]
    assert {args for _, args, _ in backend.calls[2:]} == {("job-1", None)}


async def test_closing_the_wrapper_closes_the_wrapped_queue() -> None:
    backend = Recording()
    wrapper = QueueWrapper(backend)
    await wrapper.aclose()
    wrapper.close()
    assert backend.calls == [("aclose", (), {}), ("close", (), {})]


def test_the_wrapped_queue_s_names_settings_and_serializer_are_the_wrapper_s() -> None:
    backend = Recording()
    wrapper = QueueWrapper(QueueWrapper(backend))
    assert wrapper.backend is backend
    assert (wrapper.default_queue_name, wrapper.abort_timeout) == ("wrapped:queue", 7.5)
    assert wrapper.serializer is backend.serializer and wrapper.serializer.name == "json"
    assert wrapper.jobs_run_in_process is True
    assert wrapper.redis_settings == backend.redis_settings
    assert wrapper.location == "redis://wrapped-host:6379/3"
    backend._default_queue_name = "renamed"
    assert wrapper.default_queue_name == "renamed"  # read from the wrapped queue, not copied
