"""Fixtures of the metrics tests: metrics on, a private queue, samples read from a registry or a scrape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.worker.conftest import queue_name, workers  # noqa: F401 - fixtures: a private queue, its workers


@pytest.fixture
def metrics_on(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.ARQ_METRICS = True
    yield


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by (name, labels); the text is parsed as Prometheus would."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """One sample of a scrape; 0 if it is absent (a counter not yet incremented)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)
