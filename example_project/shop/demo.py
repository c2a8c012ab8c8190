"""The demo behind ``bin/demo``: starts jobs the ways a project does, and shows them finishing live.

Runs against a live site (``--url``): it logs in like a browser and uses the shop's sync and
async views, calls the HTTP API with a bearer token, runs ``manage.py arq_enqueue``, enqueues a
Django Task on Django 6, and waits for the cron job. Then it polls every job through the HTTP
API until it ends, and checks each outcome against what the job should produce.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import django
from django.core.management import call_command
from django.utils import timezone

from django_arq.queues.progress import progress_from_json

from .models import Order, Product, SalesSnapshot
from .views import REMINDER_DELAY

#: Reads a finished job (the HTTP API's JSON: ``success``, ``result``, times) -> a problem, or None.
Check = Callable[[dict[str, Any]], "str | None"]


@dataclass
class DemoJob:
    """One demo job, how it was started, and the outcome it must have."""

    label: str
    via: str
    job_id: str | None
    check: Check | None
    status: str = "queued"
    detail: str = ""
    problem: str | None = None
    done: bool = False
    first_status: str = ""
    result: Any = None  # what the job returned (JSON form), once it ended
    task_result: Any = None  # a django.tasks TaskResult, for the Django Task
    abort: str = ""  # "when running": abort it through the HTTP API once a worker runs it; then the reply

    @property
    def ok(self) -> bool:
        return self.done and self.problem is None

    def summary(self) -> dict[str, Any]:
        """The job's outcome as JSON-safe values."""
        fields = ("label", "via", "job_id", "status", "detail", "problem", "first_status", "result")
        return {**{name: getattr(self, name) for name in fields}, "ok": self.ok}


class Site:
    """The demo site over HTTP: a browser session (cookies, CSRF token) and a bearer token for the API."""

    def __init__(self, base_url: str, api_token: str) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"the demo site URL must be http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_token = api_token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.cookies if c.name == name), "")

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, Any] | None = None,
        json_body: Any = None,
        api: bool = False,
    ) -> Any:
        """Send a request; ``api=True`` authenticates with the bearer token instead of the session."""
        headers = {"Accept": "application/json"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if api:
            headers["Authorization"] = f"Bearer {self.api_token}"
        elif method == "POST":
            headers.update({"X-CSRFToken": self.cookie("csrftoken"), "Referer": self.base_url + "/"})
        url = self.base_url + path
        req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with self.opener.open(req, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()[:500]}") from None
        return json.loads(text) if text.startswith(("{", "[")) else text

    def login(self, username: str, password: str) -> None:
        """Log in through the admin's login form, as a person would."""
        self.request("GET", "/admin/login/")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": self.cookie("csrftoken")}
        self.request("POST", "/admin/login/", form={**form, "next": "/shop/"})
        if not self.cookie("sessionid"):
            raise RuntimeError(f"could not log in to {self.base_url}/admin/ as {username!r}")


# -- expected outcomes --------------------------------------------------------------------------


def expect_value(expected: Any) -> Check:
    def check(job: dict[str, Any]) -> str | None:
        if not job["success"]:
            return f"failed: {job['result']}"
        return None if job["result"] == expected else f"returned {job['result']!r}, expected {expected!r}"

    return check


def expect_failure(exception: str, text: str) -> Check:
    def check(job: dict[str, Any]) -> str | None:
        error = job["result"] if isinstance(job["result"], dict) else {}
        if job["success"]:
            return f"succeeded with {job['result']!r}, expected {exception}"
        if not (str(error.get("exception", "")).endswith(exception) and text in error.get("message", "")):
            return f"failed with {job['result']!r}, expected {exception}({text!r}...)"
        return None

    return check


def expect_report(job: dict[str, Any]) -> str | None:
    if not job["success"]:
        return f"failed: {job['result']}"
    return None if job["result"].get("orders", 0) >= 1 else f"no orders counted: {job['result']!r}"


def expect_deferred(order_id: int, email: str) -> Check:
    def check(job: dict[str, Any]) -> str | None:
        waited = (
            datetime.fromisoformat(job["start_time"]) - datetime.fromisoformat(job["enqueue_time"])
        ).seconds
        if waited < REMINDER_DELAY - 1:
            return f"started {waited}s after it was enqueued, before its {REMINDER_DELAY}s deferral"
        return expect_value({"order": order_id, "reminded": email})(job)

    return check


# -- the demo -----------------------------------------------------------------------------------


@dataclass
class Demo:
    site: Site
    jobs: list[DemoJob] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=timezone.now)

    def add(self, label: str, via: str, job_id: str | None, check: Check | None, **extra: Any) -> None:
        self.jobs.append(DemoJob(label, via, job_id, check, **extra))

    def start_jobs(self) -> None:
        """Start every demo job, each through a different door."""
        email = "ada@example.com"
        product = Product.objects.order_by("pk").first()
        if product is None:
            raise RuntimeError("no products: run `manage.py create_demo_data` first")

        # 1. A sync view: the order's confirmation (sent on commit) and a deferred reminder.
        order = {"product": product.pk, "quantity": 2, "email": email}
        placed = self.site.request("POST", "/shop/orders/", form=order)
        order_id = placed["order"]
        self.add("order confirmation e-mail", "sync view", placed["jobs"]["confirmation"],
                 expect_value({"order": order_id, "sent_to": email}))  # fmt: skip
        self.add(f"cart reminder (deferred {REMINDER_DELAY}s)", "sync view", placed["jobs"]["reminder"],
                 expect_deferred(order_id, email))  # fmt: skip

        # 2. An async view: a report that records its progress.
        report = self.site.request("POST", "/shop/reports/", form={"seconds": 4})
        self.add("sales report with progress", "async view", report["job_id"], expect_report)

        # 3. The HTTP API, as another service would call it: a job that fails.
        bad_rows = [{"name": "Mug", "price": "16.00"}, {"name": "Grinder", "price": "n/a"}]
        failing = self.site.request(
            "POST",
            "/arq/jobs/",
            json_body={"name": "shop.jobs.import_price_list", "args": [bad_rows]},
            api=True,
        )
        self.add(
            "price list with a bad row", "HTTP API", failing["id"], expect_failure("ValueError", "row 2")
        )

        # 4. An operator aborts a long job while it runs (the admin's "Abort" does the same).
        job = {"name": "shop.jobs.build_sales_report", "kwargs": {"seconds": 60}}
        long = self.site.request("POST", "/arq/jobs/", json_body=job, api=True)
        self.add("long report, aborted", "HTTP API", long["id"], expect_failure("CancelledError", ""),
                 abort="when running")  # fmt: skip

        # 5. A management command, as a script or cron would run it.
        good_rows = json.dumps([{"name": "Mug", "price": "15.00"}, {"name": "Green tea", "price": "8.00"}])
        out = io.StringIO()
        call_command("arq_enqueue", "shop.jobs.import_price_list", good_rows, stdout=out)
        self.add("price list", "arq_enqueue", out.getvalue().split()[-1], expect_value({"updated": 2}))

        # 6. The worker's CRON_JOBS.
        self.add("sales snapshot (cron, every 10s)", "CRON_JOBS", None, None)

        # 7. A Django Task (Django >= 6.0, TASKS on django_arq.tasks.ArqBackend).
        if django.VERSION >= (6, 0):
            from .tasks import restock_check

            result = restock_check.enqueue(product.name, threshold=2)
            self.add("restock check", "@task", result.id, None, task_result=result)

    def poll(self) -> None:
        """Refresh every unfinished job's status; check the outcome of those that ended."""
        for job in self.jobs:
            if job.done:
                continue
            if job.task_result is not None:
                self._poll_task(job)
            elif job.job_id is None:
                self._poll_cron(job)
            else:
                self._poll_job(job)
            job.first_status = job.first_status or job.status

    def _poll_job(self, job: DemoJob) -> None:
        state = self.site.request("GET", f"/arq/jobs/{job.job_id}/", api=True)
        job.status = state["status"]
        progress = state.get("progress")  # what the job last said with report_progress, or None
        if progress is not None:
            job.detail = _progress_text(progress)
        if job.abort == "when running" and state["status"] == "in_progress":
            reply = self.site.request("POST", f"/arq/jobs/{job.job_id}/abort/", api=True)
            job.abort, job.detail = (
                "aborted" if reply["aborted"] else f"not aborted: {reply}",
                "abort requested",
            )
            return
        if "success" in state:
            job.done, job.problem = True, job.check(state) if job.check else None
            if job.abort not in ("", "aborted"):
                job.problem = f"the abort was refused ({job.abort})"
            if job.via == "async view" and job.problem is None and (progress or {}).get("fraction") != 1:
                job.problem = f"finished with its progress at {_progress_text(progress or {})}"
            job.status = "succeeded" if state["success"] else "aborted" if job.abort else "failed"
            job.result, job.detail = state["result"], _short(state["result"])

    def _poll_cron(self, job: DemoJob) -> None:
        snapshot = SalesSnapshot.objects.filter(taken_at__gte=self.started_at).first()
        if snapshot is None:
            job.status, job.detail = "waiting", "for the next 10-second mark"
        else:
            job.done, job.status = True, "succeeded"
            job.detail = f"{snapshot.orders} orders, revenue {snapshot.revenue}"

    def _poll_task(self, job: DemoJob) -> None:
        result = job.task_result
        result.refresh()
        job.status = result.status.lower()
        if result.is_finished:
            job.done = True
            if result.status == "SUCCESSFUL":
                job.result, job.detail = result.return_value, _short(result.return_value)
                sold = sum(
                    Order.objects.filter(product__name=result.args[0]).values_list("quantity", flat=True)
                )
                expected = {"product": result.args[0], "sold": sold, "restock": sold >= 2}
                job.problem = None if result.return_value == expected else f"returned {result.return_value!r}"
            else:
                job.problem = f"task {result.status}: {[e.exception_class_path for e in result.errors]}"

    def finished(self) -> bool:
        return all(job.done for job in self.jobs)

    def check_admin(self) -> list[str]:
        """What the admin's job list and queue dashboard fail to show (empty if both are right)."""
        problems = []
        job_list = self.site.request("GET", "/admin/django_arq/jobrecord/")
        missing = [job.job_id for job in self.jobs if job.job_id and job.job_id not in job_list]
        if missing:
            problems.append(f"the admin job list does not show jobs {missing}")
        dashboard = self.site.request("GET", "/admin/django_arq/jobrecord/dashboard/")
        if "shop:queue" not in dashboard:
            problems.append("the queue dashboard does not show the queue shop:queue")
        return problems

    def rows(self) -> list[str]:
        elapsed = time.monotonic() - self.started
        lines = [f"{'JOB':34} {'STARTED THROUGH':15} {'ID':12} {'STATUS':11}    DETAIL  [{elapsed:4.1f}s]"]
        for job in self.jobs:
            mark = "  " if not job.done else ("ok" if job.ok else "!!")
            detail = job.detail if job.problem is None else f"UNEXPECTED: {job.problem}"
            line = (
                f"{job.label:34} {job.via:15} {(job.job_id or '-')[:12]:12} {job.status:11} {mark} {detail}"
            )
            lines.append(line[:170])
        return lines


def _progress_text(progress: dict[str, Any]) -> str:
    """A job's progress, from its JSON form in the API's answer: ``progress 3/5 (60%) region 3 ...``."""
    report = progress_from_json(progress)
    return "no progress reported" if report is None else f"progress {report.summary()}"


def _short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Console:
    """A status table redrawn in place on a terminal; plain lines, one per change, otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.drawn = 0
        self.seen: dict[str, str] = {}

    def show(self, demo: Demo) -> None:
        if self.tty:
            lines = demo.rows()
            if self.drawn:
                self.out.write(f"\x1b[{self.drawn}F")  # back to the table's first line
            self.out.write("".join(f"\x1b[2K{line}\n" for line in lines))
            self.drawn = len(lines)
        else:
            elapsed = time.monotonic() - demo.started
            for job in demo.jobs:
                state = f"{job.status} {job.detail}".strip()
                if self.seen.get(job.label) != state:
                    self.seen[job.label] = state
                    problem = f"  UNEXPECTED: {job.problem}" if job.problem else ""
                    self.out.write(f"[{elapsed:5.1f}s] {job.label} ({job.via}): {state}{problem}\n")
        self.out.flush()


def run(site: Site, *, timeout: float, out: TextIO = sys.stdout) -> Demo:
    """Start the demo jobs, and show them until all ended or ``timeout`` seconds passed."""
    demo = Demo(site)
    demo.start_jobs()
    console = Console(out)
    deadline = time.monotonic() + timeout
    while True:
        demo.poll()
        console.show(demo)
        if demo.finished() or time.monotonic() > deadline:
            return demo
        time.sleep(0.25)
