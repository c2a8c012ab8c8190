"""The docs' example files run: the tutorial's settings, jobs, views and routes, and the deploy files."""

from __future__ import annotations

import configparser
import json
import shlex
import sys
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.test import RequestFactory, override_settings
from django.urls import path

from django_arq import JobStatus, get_queue, queues
from django_arq.checks import check_queues

from .commands import manage_py_problem
from .markdown import DOCS

TUTORIAL = DOCS / "examples" / "tutorial"
DEPLOY = DOCS / "examples" / "deploy"


def tutorial_settings() -> dict[str, object]:
    """docs/examples/tutorial/settings.py run as the end of a settings.py that defines INSTALLED_APPS."""
    namespace: dict[str, object] = {"INSTALLED_APPS": ["django.contrib.admin"]}
    exec(compile((TUTORIAL / "settings.py").read_text(), str(TUTORIAL / "settings.py"), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture
def tutorial_queue(redis_url: str) -> Iterator[None]:
    """The tutorial's ARQ_QUEUES, on the test Redis, on a queue of its own."""
    arq_queues = tutorial_settings()["ARQ_QUEUES"]
    assert isinstance(arq_queues, dict)
    config = {**arq_queues["default"], "REDIS_URL": redis_url, "DEFAULT_QUEUE_NAME": "docs-examples:queue"}
    with override_settings(ARQ_QUEUES={"default": config}):
        queues.reset()
        yield
    queues.reset()


def test_the_tutorial_settings_pass_the_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TUTORIAL))  # the checks import myapp.jobs, as in the project
    namespace = tutorial_settings()
    assert namespace["INSTALLED_APPS"] == ["django.contrib.admin", "django_arq", "myapp"]
    with override_settings(ARQ_QUEUES=namespace["ARQ_QUEUES"]):
        assert [m for m in check_queues() if m.is_serious()] == []


def test_the_tutorial_jobs_take_ctx_first() -> None:
    import docs.examples.tutorial.myapp.jobs as jobs

    ctx = {"job_id": "j1", "job_try": 1}
    assert async_to_sync(jobs.send_welcome)(ctx, "ada@example.com") == {"sent_to": "ada@example.com"}
    assert jobs.count_words(ctx, "one two  three") == 3


@pytest.mark.django_db(transaction=True)
def test_the_tutorial_views_enqueue(tutorial_queue: None) -> None:
    import docs.examples.tutorial.myapp.views as views

    factory = RequestFactory()
    sync = views.welcome(factory.post("/welcome/", {"email": "ada@example.com"}))
    asynchronous = async_to_sync(views.count)(factory.post("/count/", {"text": "a b c"}))
    jobs = {}
    for response in (sync, asynchronous):
        assert response.status_code == 202
        body = json.loads(response.content)
        assert body["status"] == "queued"
        jobs[body["job_id"]] = get_queue().get_job_metadata_sync(body["job_id"])
    assert sorted((m.name, m.args, m.status) for m in jobs.values()) == [
        ("myapp.jobs.count_words", ("a b c",), JobStatus.queued),
        ("myapp.jobs.send_welcome", ("ada@example.com",), JobStatus.queued),
    ]
    assert views.welcome(factory.get("/welcome/")).status_code == 405  # POST only


def test_the_tutorial_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TUTORIAL))  # myapp importable, as in the project
    namespace: dict[str, object] = {"path": path, "urlpatterns": []}
    exec(compile((TUTORIAL / "urls.py").read_text(), str(TUTORIAL / "urls.py"), "exec"), namespace)  # noqa: S102
    views = sys.modules["myapp.views"]
    routes = {str(p.pattern): p.callback for p in namespace["urlpatterns"]}  # type: ignore[attr-defined]
    assert routes == {"welcome/": views.welcome, "count/": views.count}


def _manage_py_args(command: str) -> list[str]:
    args = shlex.split(command)
    return args[args.index("manage.py") + 1 :]


def test_the_systemd_unit_runs_a_worker() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "arq-worker@.service")
    args = _manage_py_args(unit["Service"]["ExecStart"])
    assert args[0] == "arq_worker" and manage_py_problem(args) is None
    assert unit["Service"]["KillSignal"] == "SIGTERM"


def test_the_supervisor_program_runs_workers() -> None:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(DEPLOY / "supervisor-arq-worker.conf")
    program = conf["program:arq-worker"]
    args = _manage_py_args(program["command"])
    assert args[0] == "arq_worker" and manage_py_problem(args) is None
    assert int(program["numprocs"]) > 1 and "%(process_num)" in program["process_name"]
    assert program["stopsignal"] == "TERM"
