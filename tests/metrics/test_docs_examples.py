"""The examples of docs/observability.md: settings that pass the checks, a URLconf that serves the
metrics, and a Prometheus scrape config that matches both."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from django.test import Client, override_settings

from django_arq.metrics import metrics_problems
from django_arq.worker import worker_problems
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db

EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def example_settings(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARQ_METRICS_TOKEN", "from-the-environment")
    return importlib.reload(importlib.import_module("docs.examples.metrics_settings"))


def test_the_settings_pass_the_checks(example_settings) -> None:  # type: ignore[no-untyped-def]
    with override_settings(
        ARQ_METRICS=example_settings.ARQ_METRICS, ARQ_METRICS_TOKENS=example_settings.ARQ_METRICS_TOKENS
    ):
        assert metrics_problems() == []
        assert worker_problems(example_settings.ARQ_QUEUES["default"]["WORKER"]) == []


def test_the_urlconf_serves_the_metrics_to_the_token(example_settings) -> None:  # type: ignore[no-untyped-def]
    with override_settings(
        ROOT_URLCONF="docs.examples.metrics_urls",
        ARQ_METRICS=True,
        ARQ_METRICS_TOKENS=example_settings.ARQ_METRICS_TOKENS,
    ):
        client = Client(headers={"Authorization": "Bearer from-the-environment"})
        for url in ("/metrics", "/arq/metrics"):
            response = client.get(url)
            assert response.status_code == 200 and b"django_arq_queue_up" in response.content


def test_the_scrape_config_matches(example_settings) -> None:  # type: ignore[no-untyped-def]
    config = yaml.safe_load(Path(EXAMPLES / "prometheus.yml").read_text())
    web, workers = config["scrape_configs"]
    assert web["metrics_path"] == "/metrics" and web["authorization"]["type"] == "Bearer"
    port = example_settings.ARQ_QUEUES["default"]["WORKER"]["METRICS_PORT"]
    assert all(t.endswith(f":{port}") for t in workers["static_configs"][0]["targets"])
    assert workers["metrics_path"] == "/metrics"
