"""The example project as a user runs it: its test suite, system checks, migrations, production settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import EXAMPLE, POSTGRES, ExampleDatabase


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_test_suite_passes(example_env: dict[str, str]) -> None:
    """``cd example_project && pytest``: the project's own tests on MockArqQueue, README examples included."""
    env = {k: v for k, v in example_env.items() if k != "DJANGO_SETTINGS_MODULE"}  # pytest.ini names its own
    if POSTGRES:
        env["DJANGO_ARQ_TEST_DB"] = "postgres"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary


def test_checks_and_migrations_are_clean(example_env: dict[str, str]) -> None:
    check = manage(example_env, "check", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stderr
    migrations = manage(example_env, "makemigrations", "--check", "--dry-run")
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr


def test_production_settings_need_their_secrets(example_env: dict[str, str]) -> None:
    env = {**example_env, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    done = manage(env, "check")
    assert done.returncode != 0
    assert "set the DJANGO_SECRET_KEY environment variable for production settings" in done.stderr


def test_production_settings_pass_the_deploy_checks(example_env: dict[str, str]) -> None:
    env = {
        **example_env,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": os.urandom(32).hex(),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("settings", ["config.settings.dev", "config.settings.production"])
def test_no_settings_module_holds_a_superuser_password(settings: str) -> None:
    source = (EXAMPLE / (settings.replace(".", "/") + ".py")).read_text()
    assert "DJANGO_SUPERUSER_PASSWORD" not in source and "PASSWORD =" not in source


def test_readme_maintenance_commands(example_env: dict[str, str], example_db: ExampleDatabase) -> None:
    """The README's "Running in production" commands, on the example project's database."""
    example_db.create()
    assert manage(example_env, "migrate", "--no-input").returncode == 0
    prune = manage(example_env, "arq_prune", "--older-than", "30")
    assert prune.returncode == 0, prune.stderr
    assert "deleted 0 job record(s) older than 30 day(s), status complete" in prune.stdout
    dry_run = manage(example_env, "arq_prune", "--older-than", "7", "--status", "all", "--dry-run")
    assert dry_run.returncode == 0 and "0 job record(s)" in dry_run.stdout, dry_run.stdout + dry_run.stderr
