"""Metrics on and off: ARQ_METRICS, the package missing (nothing imported, nothing wrapped), E020."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_arq import get_queue
from django_arq.checks import check_api_tokens, check_metrics
from django_arq.metrics import metrics_enabled, metrics_problems
from django_arq.metrics.enqueue import MeteredQueue
from django_arq.queues.redis import RedisArqQueue
from django_arq.worker import create_worker, worker_problems
from tests.helpers import ROOT

#: A child process with prometheus_client made unimportable, as if the extra were not installed.
BLOCKED = """
import json, os, sys
sys.modules["prometheus_client"] = None
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
from django.conf import settings
settings.ARQ_METRICS = None  # the default: on if the package is there
django.setup()
from django.core.checks import run_checks
from django.test import Client
from django_arq import get_queue
from django_arq.checks import check_metrics
from django_arq.metrics import metrics_enabled
from django_arq.worker import create_worker
queue = get_queue("mock")
queue.enqueue_sync("tests.jobs.add", 1, 2)
worker = create_worker()
settings.ARQ_METRICS = True
errors = [m.id for m in run_checks() if m.id == "django_arq.E020"]
print(json.dumps({
    "enabled": metrics_enabled(),
    "queue": type(queue).__name__,
    "worker_metrics": worker.metrics is not None,
    "imported": sorted(
        m for m, module in sys.modules.items()
        if module is not None and m.startswith(("prometheus_client", "django_arq.metrics."))
    ),
    "e020": errors,
}))
"""


def test_without_the_package_nothing_is_imported_or_wrapped() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "enabled": False,
        "queue": "AuditedQueue",
        "worker_metrics": False,
        "imported": [
            "django_arq.metrics.directory",
            "django_arq.metrics.enqueue",
            "django_arq.metrics.labels",
            "django_arq.metrics.switch",
        ],
        "e020": ["django_arq.E020"],  # ARQ_METRICS = True without the package: a clear error
    }


def test_off_by_setting_and_on(redis_url: str) -> None:
    with override_settings(ARQ_METRICS=False):
        assert not metrics_enabled()
        assert not isinstance(get_queue(), MeteredQueue)
        assert create_worker().metrics is None
    with override_settings(ARQ_METRICS=True):
        queue = get_queue()
        assert isinstance(queue, MeteredQueue) and isinstance(queue.backend, RedisArqQueue)
        assert create_worker().metrics is not None


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("ARQ_METRICS", "yes", "ARQ_METRICS must be True, False or None, not 'yes'"),
        ("ARQ_METRICS_TOKENS", "secret", "ARQ_METRICS_TOKENS must be a list of strings, not str"),
        (
            "ARQ_METRICS_TOKENS",
            ["ok", ""],
            "ARQ_METRICS_TOKENS has empty or non-string entries at positions [1]",
        ),
    ],
)
def test_bad_settings_are_reported(setting: str, value: object, problem: str) -> None:
    with override_settings(**{setting: value}):
        assert metrics_problems() == [problem]
        assert [(m.id, m.msg) for m in check_metrics()] == [("django_arq.E020", problem)]


@pytest.mark.parametrize(
    "tokens",
    ["secret", ["ok", ""], ["ok", 3], [[5]], ("  ",), [" padded"], ["tok "], ["p\u00e4ss"], ["a\x00b"]],
)
def test_metrics_tokens_follow_the_rule_of_api_tokens(tokens: object) -> None:
    """A token no request can send (or no token at all) is E020 as it is E005 for ARQ_API_TOKENS."""
    with override_settings(ARQ_METRICS_TOKENS=tokens, ARQ_API_TOKENS=tokens):
        (api,) = check_api_tokens()
        (metrics,) = check_metrics()
    assert metrics.id == "django_arq.E020"
    assert metrics.msg == api.msg.replace("ARQ_API_TOKENS", "ARQ_METRICS_TOKENS")


@pytest.mark.parametrize("tokens", [[], ["one", "two"], ("one",), ["a-b.c_d~e+f/g==", "!#$%&'*<>?@[]^`{|}"]])
def test_metrics_tokens_a_request_can_send_pass(tokens: object) -> None:
    with override_settings(ARQ_METRICS_TOKENS=tokens):
        assert check_metrics() == []


@pytest.mark.parametrize(
    ("port", "problem"),
    [
        (-1, "must be a port number from 0 to 65535, not -1"),
        (70000, "must be a port number from 0 to 65535, not 70000"),
        (True, "must be a port number from 0 to 65535, not True"),
        ("9100", "must be a port number from 0 to 65535, not '9100'"),
        (float("nan"), "must be a port number from 0 to 65535, not nan"),
    ],
)
def test_bad_metrics_ports(metrics_on: None, port: object, problem: str) -> None:
    assert worker_problems({"FUNCTIONS": [], "METRICS_PORT": port}) == [f"WORKER['METRICS_PORT'] {problem}"]


@pytest.mark.parametrize("addr", ["", " ", 5, None])
def test_bad_metrics_addresses(metrics_on: None, addr: object) -> None:
    """An empty address is refused, not read as every interface: leaving it out means 0.0.0.0."""
    assert worker_problems({"FUNCTIONS": [], "METRICS_ADDR": addr}) == [
        f"WORKER['METRICS_ADDR'] must be a host name or IP address, not {addr!r}; "
        "leave it out to serve on every interface (0.0.0.0)"
    ]


def test_an_empty_metrics_addr_stops_the_worker_before_it_starts(metrics_on: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_QUEUES = {
        **settings.ARQ_QUEUES,
        "default": {
            **settings.ARQ_QUEUES["default"],
            "WORKER": {"FUNCTIONS": ["tests.jobs.add"], "METRICS_ADDR": ""},
        },
    }
    with pytest.raises(CommandError, match=r"^ARQ_QUEUES\['default'\]: WORKER\['METRICS_ADDR'\] must be"):
        call_command("arq_worker", "--metrics-port", "0", "--burst")


def test_metrics_port_with_metrics_off_is_a_one_line_error(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS = False
    with pytest.raises(CommandError, match=r"^--metrics-port needs metrics, which are off"):
        call_command("arq_worker", "--metrics-port", "0", "--burst")
    with pytest.raises(ImproperlyConfigured, match=r"^metrics_port needs metrics, which are off"):
        create_worker(metrics_port=0)


@pytest.mark.parametrize("port", ["65536", "-1"])
def test_a_bad_metrics_port_argument_is_named_as_given(metrics_on: None, port: str) -> None:
    """Not WORKER['METRICS_PORT'], which the settings may not even have."""
    problem = f"must be a port number from 0 to 65535, not {port}"
    with pytest.raises(CommandError, match=rf"^--metrics-port {problem}$"):
        call_command("arq_worker", "--metrics-port", port, "--burst")
    with pytest.raises(ImproperlyConfigured, match=rf"^metrics_port {problem}$"):
        create_worker(metrics_port=int(port))
