"""README.md cannot rot: its Python examples are excerpts of files the tests run, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.test import override_settings

from django_arq.checks import check_queues
from django_arq.conf import DEFAULT_SETTINGS, get_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TESTED_SOURCES = [
    *ROOT.glob("docs/examples/*.py"),
    *ROOT.glob("example_project/**/*.py"),
    *ROOT.glob("tests/**/*.py"),
]


def _normalise(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("block", python_blocks(), ids=lambda b: b.strip().splitlines()[0][:40])
def test_python_example_is_an_excerpt_of_a_tested_file(block: str) -> None:
    wanted = _normalise(block)
    assert wanted, "an empty example"
    for source in TESTED_SOURCES:
        lines = _normalise(source.read_text())
        for start in range(len(lines) - len(wanted) + 1):
            if lines[start : start + len(wanted)] == wanted:
                return
    pytest.fail(f"README example is not an excerpt of any tested file:\n{block}")


def test_readme_has_python_examples() -> None:
    assert len(python_blocks()) >= 5


def test_every_management_command_in_the_readme_exists() -> None:
    named = set(re.findall(r"manage\.py (arq_\w+)", README))
    assert {"arq_worker", "arq_enqueue", "arq_result", "arq_abort", "arq_prune"} <= named
    assert named <= set(get_commands())


def test_settings_reference_matches_the_defaults() -> None:
    from docs.examples.settings_reference import ARQ_QUEUES

    assert ARQ_QUEUES["default"] == DEFAULT_SETTINGS
    with override_settings(ARQ_QUEUES=ARQ_QUEUES):
        assert [m for m in check_queues() if m.is_serious()] == []
        config = get_config("default")
    assert (config.redis_url, config.default_queue_name, config.abort_timeout) == (
        "redis://localhost:6379/0",
        "arq:queue",
        10.0,
    )
