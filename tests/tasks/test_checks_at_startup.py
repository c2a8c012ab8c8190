"""``manage.py check`` runs ArqBackend's checks in a project where nothing imports ``django.tasks``
(Django registers the TASKS checks on that import, which django-arq's ``ready()`` now makes)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import ROOT


def test_manage_py_check_reports_an_arq_backend_naming_no_alias() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.tasks.misconfigured_settings",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "(django_arq.T002) TASKS['default']: OPTIONS['ALIAS'] 'nope'" in done.stderr
