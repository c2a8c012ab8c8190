"""The README's production settings (docs/examples/production_settings.py) on real TLS Redis and Sentinel."""

from __future__ import annotations

import runpy
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from arq.connections import create_pool
from arq.jobs import Job, JobStatus
from asgiref.sync import async_to_sync
from django.core.checks import run_checks
from django.test import override_settings

from django_arq import RedisUnavailable, get_queue
from django_arq.conf import get_config
from tests.helpers import ROOT, Process, free_port, wait_for

SNIPPET = ROOT / "docs" / "examples" / "production_settings.py"
PASSWORD = "tls-test-password"


def redis_server(*args: str) -> Process:
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed; these tests need it")
    return Process(["redis-server", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", *args])


def ready(process: Process, text: str) -> None:
    wait_for(lambda: text in process.output() or process.proc.poll() is not None, timeout=15)
    assert process.proc.poll() is None, process.output()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A redis-server speaking only TLS, with a certificate from a throwaway CA, and a password."""
    certs = tmp_path_factory.mktemp("certs")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=certs, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA",
            "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")  # fmt: skip
    (certs / "san.ext").write_text(  # what Python 3.13's strict verification expects of a server certificate
        "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n"
        "authorityKeyIdentifier = keyid\n"
    )
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    port = free_port()
    server = redis_server(
        "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(certs / "server.pem"),
        "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.pem"),
        "--tls-auth-clients", "no", "--requirepass", PASSWORD,
    )  # fmt: skip
    ready(server, "Ready to accept connections")
    yield {"REDIS_URL": f"rediss://:{PASSWORD}@127.0.0.1:{port}/0", "REDIS_CA_CERTS": str(certs / "ca.pem")}
    server.stop()


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Redis master and one Sentinel watching it as "shopmaster"."""
    master_port, sentinel_port = free_port(), free_port()
    master = redis_server("--port", str(master_port))
    ready(master, "Ready to accept connections")
    conf = tmp_path_factory.mktemp("sentinel") / "sentinel.conf"  # Sentinel rewrites its file: a private copy
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"sentinel monitor shopmaster 127.0.0.1 {master_port} 1\n"
        "sentinel down-after-milliseconds shopmaster 5000\n"
    )
    watcher = Process(["redis-server", str(conf), "--sentinel"])
    ready(watcher, "+monitor master shopmaster")
    yield {
        "REDIS_URL": "redis://sentinel-named-master/0",
        "REDIS_SENTINELS": f"127.0.0.1:{sentinel_port}",
        "REDIS_SENTINEL_MASTER": "shopmaster",
    }
    watcher.stop()
    master.stop()


def load_snippet(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Any]:
    for name in ("REDIS_URL", "REDIS_CA_CERTS", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SNIPPET))["ARQ_QUEUES"]  # type: ignore[no-any-return]


async def worker_side_status(job_id: str) -> JobStatus:
    """What an arq worker would see, connecting with the same RedisSettings as ``manage.py arq_worker``."""
    pool = await create_pool(get_queue().redis_settings)  # type: ignore[attr-defined]
    try:
        return await Job(job_id, pool, _queue_name="shop:queue").status()
    finally:
        await pool.aclose()


@pytest.mark.django_db
@pytest.mark.parametrize("server", ["tls_redis", "sentinel"])
def test_production_settings_reach_redis(
    server: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    arq_queues = load_snippet(monkeypatch, request.getfixturevalue(server))
    with override_settings(ARQ_QUEUES=arq_queues):
        # E004 would import the example project's job functions, which this suite does not install
        # (tests/example/test_project.py runs the project's own checks): every other check counts.
        errors = [
            m for m in run_checks()
            if m.id and m.id.startswith("django_arq") and m.is_serious() and m.id != "django_arq.E004"
        ]  # fmt: skip
        assert errors == []
        config = get_config()
        assert config.options["conn_retries"] == 5
        queue = get_queue()
        job = queue.enqueue_sync("shop.jobs.send_order_confirmation", 42)
        assert queue.get_job_metadata_sync(job.id).args == (42,)
        assert async_to_sync(worker_side_status)(job.id) == JobStatus.queued


@pytest.mark.django_db
def test_tls_without_the_ca_is_refused_with_a_clear_error(
    tls_redis: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arq_queues = load_snippet(monkeypatch, {"REDIS_URL": tls_redis["REDIS_URL"]})
    with override_settings(ARQ_QUEUES=arq_queues), pytest.raises(RedisUnavailable) as refused:
        get_queue().enqueue_sync("shop.jobs.send_order_confirmation", 42)
    message = str(refused.value)
    assert "rediss://:***@127.0.0.1" in message and PASSWORD not in message
