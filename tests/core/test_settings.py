"""ARQ_QUEUES: defaults, aliases, the handler's cache, backends, and every system check id."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.checks import Tags, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_arq import MockArqQueue, RedisArqQueue, get_queue, queues
from django_arq.audit.queue import AuditedQueue
from django_arq.checks import check_queues
from django_arq.conf import InvalidQueueAlias, get_config
from django_arq.handler import build_backend
from django_arq.queues.connection import redact_url
from tests.helpers import ROOT

REDIS = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": "redis://127.0.0.1:6379/11"}
MOCK = {"BACKEND": "django_arq.MockArqQueue"}


def ids_for(**aliases: Any) -> list[str]:
    """The check ids ``check_queues`` reports for ``ARQ_QUEUES`` = default (valid) + ``aliases``."""
    with override_settings(ARQ_QUEUES={"default": REDIS, **aliases}):
        return sorted(str(m.id) for m in check_queues())


def arq_run_checks() -> list[str]:
    """Ids of django-arq's messages from the registered checks, with DEBUG on as in development.

    Not every tag: on Django 6 the model checks query SQLite, which these tests do not open.
    """
    with override_settings(DEBUG=True):
        messages = run_checks(tags=[Tags.compatibility, Tags.security])  # the tags django-arq's are under
        return [str(m.id) for m in messages if str(m.id).startswith("django_arq")]


def messages_for(raw: Any) -> list[str]:
    with override_settings(ARQ_QUEUES={"default": REDIS, "other": raw}):
        return [m.msg for m in check_queues()]


# -- get_config and the handler --------------------------------------------------------------


def test_missing_setting_means_one_default_alias_on_local_redis(settings: Any) -> None:
    del settings.ARQ_QUEUES
    config = get_config()
    assert (config.alias, config.backend) == ("default", "django_arq.RedisArqQueue")
    assert (config.redis_url, config.default_queue_name) == ("redis://localhost:6379/0", "arq:queue")
    assert (config.serializer, config.audit, config.abort_timeout) == ("pickle", True, 10.0)
    assert check_queues() == []


def test_unknown_alias() -> None:
    with pytest.raises(InvalidQueueAlias, match="'nope'"):
        get_queue("nope")
    assert issubclass(InvalidQueueAlias, ImproperlyConfigured)


def test_invalid_settings_raise_at_use() -> None:
    with (
        override_settings(ARQ_QUEUES={"default": {**REDIS, "SERIALIZER": "yaml"}}),
        pytest.raises(ImproperlyConfigured, match="SERIALIZER"),
    ):
        get_config()


def test_override_settings_resets_the_cached_instances() -> None:
    first = get_queue("mock")
    assert get_queue("mock") is first
    with override_settings(ARQ_QUEUES={"default": REDIS, "mock": {**MOCK, "DEFAULT_QUEUE_NAME": "other"}}):
        inside = get_queue("mock")
        assert inside is not first
        assert inside.default_queue_name == "other"
    after = get_queue("mock")
    assert after is not inside and after is not first
    assert after.default_queue_name != "other"


def test_build_backend_makes_the_configured_class() -> None:
    with override_settings(
        ARQ_QUEUES={
            "default": {**REDIS, "DEFAULT_QUEUE_NAME": "q1", "SERIALIZER": "json", "ABORT_TIMEOUT": 2},
            "mock": {**MOCK, "DEFAULT_QUEUE_NAME": "q2"},
        }
    ):
        redis_queue = build_backend(get_config("default"))
        mock_queue = build_backend(get_config("mock"))
        assert type(redis_queue) is RedisArqQueue
        assert (redis_queue.default_queue_name, redis_queue.abort_timeout) == ("q1", 2.0)
        assert redis_queue.serializer.name == "json"
        assert redis_queue.safe_url == "redis://127.0.0.1:6379/11"
        assert type(mock_queue) is MockArqQueue
        assert mock_queue.default_queue_name == "q2"
        redis_queue.close()


def test_build_backend_refuses_a_class_that_is_not_an_arq_queue() -> None:
    """With the E002 message, whether the settings were validated first or not."""
    bad = get_config("mock").__class__(alias="x", backend="django_arq.conf.QueueConfig")
    with pytest.raises(
        ImproperlyConfigured, match=r"^ARQ_QUEUES\['x'\]: BACKEND .* is not an ArqQueue subclass$"
    ):
        build_backend(bad)
    with (
        override_settings(ARQ_QUEUES={"default": {"BACKEND": "django_arq.conf.QueueConfig"}}),
        pytest.raises(ImproperlyConfigured, match="not an ArqQueue subclass"),
    ):
        get_config()


# -- AUDIT ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "wrapped", "immediate"), [(True, True, False), (False, False, False),
                                                             ("immediate", True, True)])  # fmt: skip
def test_audit_modes(value: Any, wrapped: bool, immediate: bool) -> None:
    with override_settings(ARQ_QUEUES={"default": REDIS, "mock": {**MOCK, "AUDIT": value}}):
        assert get_config("mock").audit == value
        queue = queues["mock"]
        assert isinstance(queue, AuditedQueue) is wrapped
        if wrapped:
            assert isinstance(queue, AuditedQueue) and queue.immediate is immediate


@pytest.mark.parametrize("value", ["yes", 1, None, "deferred"])  # "deferred": the old name of True
def test_bad_audit_values_are_reported(value: Any) -> None:
    assert ids_for(other={**REDIS, "AUDIT": value}) == ["django_arq.E001"]
    assert any("AUDIT must be" in m for m in messages_for({**REDIS, "AUDIT": value}))
    with (
        override_settings(ARQ_QUEUES={"default": {**MOCK, "AUDIT": value}}),
        pytest.raises(ImproperlyConfigured, match="AUDIT"),
    ):
        get_config()


# -- system checks ----------------------------------------------------------------------------


def test_the_test_settings_pass_every_check() -> None:
    assert arq_run_checks() == []


def test_e001_not_a_dict_unknown_key_missing_default() -> None:
    with override_settings(ARQ_QUEUES=["default"]):
        assert [m.id for m in check_queues()] == ["django_arq.E001"]
    assert ids_for(other="redis://") == ["django_arq.E001"]
    assert ids_for(other={**REDIS, "REDIS": "x"}) == ["django_arq.E001"]
    assert "unknown keys ['REDIS']" in messages_for({**REDIS, "REDIS": "x"})[0]
    with override_settings(ARQ_QUEUES={"main": REDIS}):
        (message,) = check_queues()
        assert (message.id, message.msg) == ("django_arq.E001", 'ARQ_QUEUES must define a "default" alias')


def test_e002_backend() -> None:
    assert ids_for(other={"REDIS_URL": "redis://127.0.0.1/0"}) == ["django_arq.E002"]  # no BACKEND
    assert ids_for(other={"BACKEND": "django_arq.NoSuchQueue"}) == ["django_arq.E002"]
    assert "cannot be imported" in messages_for({"BACKEND": "no_such_module.Queue"})[0]
    assert ids_for(other={"BACKEND": "django_arq.conf.QueueConfig"}) == ["django_arq.E002"]
    assert "is not an ArqQueue subclass" in messages_for({"BACKEND": "django_arq.conf.QueueConfig"})[0]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:6379/0", "must start with one of"),
        ("redis://127.0.0.1:port/0", "malformed"),
        ("redis://127.0.0.1:99999/0", "malformed"),
        ("redis://127.0.0.1:6379/zero", "is not a number"),
        ("redis:///0", "no host"),
        (6379, "must be a string"),
    ],
)
def test_e003_malformed_redis_url(url: Any, problem: str) -> None:
    assert ids_for(other={**REDIS, "REDIS_URL": url}) == ["django_arq.E003"]
    (message,) = messages_for({**REDIS, "REDIS_URL": url})
    assert problem in message


def test_e004_worker_settings_use_the_workers_validator() -> None:
    assert ids_for(other={**REDIS, "WORKER": []}) == ["django_arq.E004"]
    assert ids_for(other={**REDIS, "WORKER": {"MAX_JOB": 3}}) == ["django_arq.E004"]
    assert "WORKER has unknown keys ['MAX_JOB']" in messages_for({**REDIS, "WORKER": {"MAX_JOB": 3}})[0]
    assert ids_for(other={**REDIS, "WORKER": {"MAX_JOBS": 0, "FUNCTIONS": "tests.jobs.add"}}) == [
        "django_arq.E004",
        "django_arq.E004",
    ]
    assert ids_for(other={**REDIS, "WORKER": {"FUNCTIONS": 5}}) == ["django_arq.E004"]
    assert ids_for(other={**REDIS, "WORKER": {"FUNCTIONS": ["tests.jobs.add"], "MAX_JOBS": 2}}) == []


def test_empty_arq_queues_is_an_error_not_a_fall_back_to_localhost() -> None:
    with override_settings(ARQ_QUEUES={}):
        (message,) = check_queues()
        assert (message.id, message.msg) == ("django_arq.E001", 'ARQ_QUEUES must define a "default" alias')
        with pytest.raises(InvalidQueueAlias, match=r"no alias 'default' \(aliases: \[\]\)"):
            get_config()


def test_unix_url_without_a_socket_path_is_e003() -> None:
    assert ids_for(other={**REDIS, "REDIS_URL": "unix://"}) == ["django_arq.E003"]
    assert "needs a socket path" in messages_for({**REDIS, "REDIS_URL": "unix://"})[0]


@pytest.mark.parametrize("url", ["redis://h:6379", "redis://h:6379/", "redis://h", "unix:///run/redis.sock"])
def test_urls_without_a_database_number_are_accepted(url: str) -> None:
    assert "django_arq.E003" not in ids_for(other={**REDIS, "REDIS_URL": url})


@pytest.mark.parametrize(("value", "ok"), [(0, True), (0.5, True), (30, True), (True, False), (False, False),
                                          (-1, False), ("10", False), (None, False)])  # fmt: skip
def test_abort_timeout_zero_accepted_booleans_refused(value: Any, ok: bool) -> None:
    assert ids_for(other={**REDIS, "ABORT_TIMEOUT": value}) == ([] if ok else ["django_arq.E001"])
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "ABORT_TIMEOUT": value}}):
        if ok:
            assert get_config().abort_timeout == value
        else:
            with pytest.raises(ImproperlyConfigured, match="ABORT_TIMEOUT must be a number"):
                get_config()


@pytest.mark.parametrize("value", [["json"], {"json": 1}, {"name": "json"}, 1, None, "yaml"])
def test_serializer_of_a_wrong_type_is_a_message_not_a_crash(value: Any) -> None:
    """A list or dict used to raise ``TypeError: unhashable type`` from config_problems."""
    assert ids_for(other={**REDIS, "SERIALIZER": value}) == ["django_arq.E001"]
    (message,) = messages_for({**REDIS, "SERIALIZER": value})
    assert message == f"ARQ_QUEUES['other']: SERIALIZER must be one of ['json', 'pickle'], not {value!r}"


@pytest.mark.parametrize(("value", "ok"), [("warn", True), ("error", True), ("ignore", True), ("WARN", False),
                                          (True, False), (["error"], False)])  # fmt: skip
def test_unknown_functions_setting_is_validated(value: Any, ok: bool) -> None:
    assert ids_for(other={**REDIS, "UNKNOWN_FUNCTIONS": value}) == ([] if ok else ["django_arq.E001"])
    if not ok:
        (message,) = messages_for({**REDIS, "UNKNOWN_FUNCTIONS": value})
        assert 'UNKNOWN_FUNCTIONS must be one of "warn", "error", "ignore"' in message


@pytest.mark.parametrize(
    "tokens",
    [
        "secret",
        ["ok", ""],
        ["ok", 3],
        ("  ",),
        {"a": "b"},
        [" padded"],
        ["two words"],
        ["p\u00e4ss"],
        ["a\x00b"],
    ],
)
def test_e005_api_tokens(settings: Any, tokens: Any) -> None:
    settings.ARQ_API_TOKENS = tokens
    assert arq_run_checks() == ["django_arq.E005"]


@pytest.mark.parametrize("tokens", [[], ["one", "two"], ("one",), ["a-b.c_d~e+f/g==", "!#$%&'*<>?@[]^`{|}"]])
def test_e005_accepts_lists_of_tokens(settings: Any, tokens: Any) -> None:
    settings.ARQ_API_TOKENS = tokens
    assert arq_run_checks() == []


def test_w001_mock_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    assert ids_for(other=MOCK) == ["django_arq.W001"]
    settings.DEBUG = True
    assert ids_for(other=MOCK) == []


@pytest.mark.parametrize(
    ("url", "options", "warned"),
    [
        ("redis://10.0.0.5:6379/0", {}, True),
        ("redis://redis.example.com:6379/0", {}, True),
        ("rediss://redis.example.com:6379/0", {}, False),
        ("redis://:pw@redis.example.com:6379/0", {}, False),
        ("redis://redis.example.com:6379/0", {"password": "pw"}, False),
        ("redis://redis.example.com:6379/0", {"ssl": True}, False),
        ("redis://redis.example.com:6379/0", {"ssl": False}, True),
        ("redis://127.0.0.1:6379/0", {}, False),
        ("redis://localhost:6379/0", {}, False),
        ("redis://[::1]:6379/0", {}, False),
        ("unix:///run/redis.sock", {}, False),
    ],
)
def test_w002_remote_redis_in_clear_text(url: str, options: dict[str, Any], warned: bool) -> None:
    ids = ids_for(other={**REDIS, "REDIS_URL": url, "OPTIONS": options})
    assert ids == (["django_arq.W002"] if warned else [])


def test_redact_url_hides_passwords() -> None:
    assert redact_url("redis://:s3cret@host:6380/1") == "redis://:***@host:6380/1"
    assert redact_url("rediss://user:s3cret@host/0") == "rediss://user:***@host/0"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "REDIS_URL": "redis://:s3cret@127.0.0.1:1/0"}}):
        queue = build_backend(get_config())
        assert isinstance(queue, RedisArqQueue)
        assert "s3cret" not in queue.safe_url and "s3cret" not in repr(queue)


def test_public_names() -> None:
    """DESIGN.md's names, and the transaction helpers of the audit layer, import from django_arq."""
    import django_arq
    from django_arq.audit import on_commit, writer

    names = "ArqQueue RedisArqQueue MockArqQueue JobMetadata JobResult JobStatus ArqJobError JobNotFound"
    for name in [*names.split(), "JobNotQueued", "JobResultUnavailable", "get_queue"]:
        assert name in django_arq.__all__ and hasattr(django_arq, name)
    assert django_arq.enqueue_on_commit is on_commit.enqueue_on_commit
    assert django_arq.aenqueue_on_commit is on_commit.aenqueue_on_commit
    assert django_arq.flush_records is writer.flush_records


def test_importing_django_arq_needs_no_settings() -> None:
    """``import django_arq`` happens while INSTALLED_APPS is read: it must not touch models or settings."""
    code = "import sys, django_arq; assert 'django_arq.models' not in sys.modules; print(django_arq.__all__)"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": str(ROOT)}, cwd="/",
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "enqueue_on_commit" in done.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [("ARQ_API_MAX_BODY_SIZE", 0), ("ARQ_API_MAX_BODY_SIZE", "1mb"), ("ARQ_API_MAX_BODY_SIZE", True),
     ("ARQ_API_MAX_WAIT", -1), ("ARQ_API_MAX_WAIT", float("nan")), ("ARQ_API_MAX_WAIT", float("inf")),
     ("ARQ_API_MAX_WAITERS", -1), ("ARQ_API_MAX_WAITERS", 2.5), ("ARQ_API_MAX_WAITERS", None)],
)  # fmt: skip
def test_e006_api_limits(settings: Any, name: str, value: Any) -> None:
    setattr(settings, name, value)
    assert arq_run_checks() == ["django_arq.E006"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARQ_API_MAX_BODY_SIZE", 1),
        ("ARQ_API_MAX_WAIT", 0),
        ("ARQ_API_MAX_WAIT", 2.5),
        ("ARQ_API_MAX_WAITERS", 0),
    ],
)
def test_e006_accepts_limits_in_range(settings: Any, name: str, value: Any) -> None:
    setattr(settings, name, value)
    assert arq_run_checks() == []
