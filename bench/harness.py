"""What the process-level benchmarks share: a free port, a private redis-server, a process's CPU."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of the benchmark's own, on a free port, gone afterwards."""

    def __init__(self) -> None:
        import redis

        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.port = free_port()
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        cmd += ["--appendonly", "no", "--dir", self.dir]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def commands(self) -> int:
        return int(self.client.info("stats")["total_commands_processed"])

    def command_calls(self) -> dict[str, int]:
        """Calls so far by command name (those run inside Lua scripts included)."""
        stats = self.client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def setup_django_without_records(redis_url: str, **alias: object) -> None:
    """Set Django up on tests.settings for a benchmark that writes no records: the default alias on
    ``redis_url`` with AUDIT and TRACING off (``alias`` overrides its keys), a database file never
    made, DEBUG off."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    settings.ARQ_QUEUES  # noqa: B018 - load tests.settings before changing it
    off = {"REDIS_URL": redis_url, "AUDIT": False, "TRACING": False}
    settings.ARQ_QUEUES["default"] = {**settings.ARQ_QUEUES["default"], **off, **alias}
    settings.DATABASES["default"]["NAME"] = os.path.join(tempfile.mkdtemp(), "unused.db")
    settings.DEBUG = False
    django.setup()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children that it waited for, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
