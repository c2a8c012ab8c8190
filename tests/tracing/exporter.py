"""A span exporter for child processes (workers, servers): each ended span as one JSON line in a
file, read back by the test that started the process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.path.open("a") as out:
            for span in spans:
                out.write(span.to_json(indent=None) + "\n")
        return SpanExportResult.SUCCESS


def read_spans(path: Path) -> list[dict[str, Any]]:
    """The spans a worker exported so far (a line being written is left for the next read)."""
    if not path.exists():
        return []
    spans = []
    for line in path.read_text().splitlines():
        try:
            spans.append(json.loads(line))
        except ValueError:
            break
    return spans


def export_to_file(path: str) -> None:
    """Make this process's tracer provider an SDK one that writes every span to ``path``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(path)))
    trace.set_tracer_provider(provider)
