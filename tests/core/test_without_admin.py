"""django-arq in a project without ``django.contrib.admin`` (nor auth): the app loads, the system
checks run, jobs are enqueued and recorded, and ``arq_reconcile`` runs (it once imported the
admin); the admin pages are simply not there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PROJECT = """
import json, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django_arq"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    ARQ_QUEUES={"default": {"BACKEND": "django_arq.MockArqQueue", "AUDIT": True}},
    USE_TZ=True,
)
django.setup()
from django.core.checks import run_checks
from django.core.management import call_command
from django_arq import flush_records, get_queue
from django_arq.models import JobRecord
call_command("migrate", verbosity=0)
job = get_queue().enqueue_sync("tests.jobs.add", 1, 2)
flush_records()
call_command("arq_reconcile", verbosity=0)  # the commands too: none imports the admin
print(json.dumps({
    "checks": [m.id for m in run_checks() if m.is_serious()],
    "record": JobRecord.objects.filter(job_id=job.id).exists(),
}))
"""


def test_a_project_without_the_admin_loads_checks_and_records(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROJECT, str(tmp_path / "db.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"checks": [], "record": True}
