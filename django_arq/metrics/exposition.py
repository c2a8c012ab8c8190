"""A scrape of this process's metrics: the text a Prometheus server reads, and a worker's server.

In one process the default registry holds django-arq's counters and histograms (and whatever
else the project registered there). Under ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn or uvicorn
with several workers) the values come from that directory's files, every process's added up,
as prometheus-client documents. Either way the queues' counts are read from Redis by a
``QueueCollector`` at each scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from .collector import QueueCollector, Targets, configured_queues
from .directory import MULTIPROC_DIR

__all__ = ["CONTENT_TYPE", "MetricsServer", "render", "scrape_registry"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def scrape_registry(targets: Callable[[], Targets] = configured_queues) -> CollectorRegistry:
    """A registry of this process's metrics (or every process's, in multiprocess mode) and the queues'."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_DIR):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(QueueCollector(targets))
    return registry


def render() -> bytes:
    """The metrics of this web process (all processes, in multiprocess mode) and of every alias's queues."""
    return generate_latest(scrape_registry())


class MetricsServer:
    """prometheus-client's HTTP server on ``addr:port`` (port 0: a free one), in a daemon thread."""

    def __init__(self, port: int, addr: str, targets: Callable[[], Targets]) -> None:
        self.port, self.addr, self.targets = port, addr, targets
        self._server: WSGIServer | None = None

    def start(self) -> str:
        """Start serving; the URL of ``/metrics``. ``OSError`` if the address cannot be bound."""
        self._server, _ = start_http_server(self.port, self.addr, scrape_registry(self.targets))
        return f"http://{self.where()}/metrics"

    def where(self) -> str:
        """``addr:port`` as a URL writes it (an IPv6 address in brackets), the port bound once started."""
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"{host}:{self.port if self._server is None else self._server.server_port}"

    def stop(self) -> None:
        """Stop serving (nothing if not started)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
