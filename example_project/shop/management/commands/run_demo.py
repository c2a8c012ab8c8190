"""Start the demo jobs on a running demo site and show them finishing (used by ``bin/demo``)."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shop import demo


class Command(BaseCommand):
    help = "Enqueue the demo jobs through the site at --url and show their live status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running demo site")
        parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for every job")
        parser.add_argument("--summary", help="also write the outcome of each job as JSON to this file")

    def handle(self, *args: Any, url: str, timeout: float, summary: str | None, **options: Any) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not password:
            raise CommandError("set DJANGO_SUPERUSER_PASSWORD to the demo superuser's password")
        if not settings.ARQ_API_TOKENS:
            raise CommandError("set ARQ_API_TOKENS: the demo calls the HTTP API with a bearer token")
        site = demo.Site(url, settings.ARQ_API_TOKENS[0])
        site.login(username, password)
        result = demo.run(site, timeout=timeout, out=self.stdout._out)
        jobs = [job.summary() for job in result.jobs]
        if summary:
            with open(summary, "w") as f:
                json.dump(jobs, f, indent=2)
        good = sum(job["ok"] for job in jobs)
        for job in jobs:
            if not job["ok"]:
                why = job["problem"] or f"still {job['status']} after {timeout:g}s"
                self.stderr.write(f"{job['label']}: {why}")
        if good != len(jobs):
            raise CommandError(f"demo: {good} of {len(jobs)} jobs finished as expected")
        self.stdout.write(self.style.SUCCESS(f"demo: {good} of {len(jobs)} jobs finished as expected"))
        problems = result.check_admin()
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS("demo: the admin job list and queue dashboard show them"))
