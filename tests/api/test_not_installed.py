"""The HTTP API mounted in a project that forgot ``"django_arq"`` in INSTALLED_APPS: the error says
so in its last line, rather than Django's "Model class ... doesn't declare an explicit app_label"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PROJECT = """
import sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    ROOT_URLCONF="not_installed_urls",
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
call_command("check")
"""
URLS = 'from django.urls import include, path\nurlpatterns = [path("arq/", include("django_arq.urls"))]\n'


def test_the_api_without_the_app_installed_says_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "not_installed_urls.py").write_text(URLS)
    done = subprocess.run(
        [sys.executable, "-c", PROJECT, str(tmp_path / "db.sqlite3")],
        cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        'django.core.exceptions.ImproperlyConfigured: the HTTP API (django_arq.urls) needs "django_arq" '
        "in INSTALLED_APPS: add it there, and run `manage.py migrate`"
    ), done.stderr
