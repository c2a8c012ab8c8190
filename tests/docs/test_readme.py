"""README.md cannot rot: its Python examples are excerpts of tested files, its commands and links work."""

from __future__ import annotations

import re

import pytest
from django.core.management import get_commands
from django.test import override_settings

from django_arq.checks import check_queues
from django_arq.conf import DEFAULT_SETTINGS, get_config

from .commands import command_problem
from .markdown import README, ROOT, blocks, console_commands, is_excerpt

TESTED_SOURCES = [
    *ROOT.glob("docs/examples/**/*.py"),
    *ROOT.glob("example_project/**/*.py"),
    *ROOT.glob("tests/**/*.py"),
]
README_BLOCKS = blocks(README)
PYTHON = [b.content for b in README_BLOCKS if b.language == "python"]
#: The most README may hold: it is a newcomer's first page, the reference is in docs/.
MAX_README_CHARS = 10_000


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.strip().splitlines()[0][:40])
def test_python_example_is_an_excerpt_of_a_tested_file(block: str) -> None:
    if not any(is_excerpt(block, source.read_text()) for source in TESTED_SOURCES):
        pytest.fail(f"README example is not an excerpt of any tested file:\n{block}")


def test_the_excerpt_check_tells_a_changed_line() -> None:
    source = "def f(ctx):\n    # a comment\n    return 1\n"
    assert is_excerpt("def f(ctx):\n    return 1", source)
    assert not is_excerpt("def f(ctx):\n    return 2", source)
    assert not is_excerpt("# only a comment", source)


def test_every_python_example_names_its_file() -> None:
    """The tutorial test writes each block to the file its first line names."""
    for block in PYTHON:
        assert re.match(r"# [\w/]+\.py( \(at the end\))?\n", block), block.splitlines()[0]


def test_readme_is_short() -> None:
    assert len(README.read_text()) <= MAX_README_CHARS


def test_the_newcomer_steps_come_in_order() -> None:
    text = README.read_text()
    steps = ["## Install", "INSTALLED_APPS", "async def send_welcome(ctx", "from django_arq import get_queue",
             "manage.py migrate", "manage.py arq_worker", "/admin/django_arq/jobrecord/", "bin/demo --once",
             "bin/test"]  # fmt: skip
    positions = [text.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "command",
    [c for b in README_BLOCKS if b.language == "console" for c in console_commands(b)],
    ids=" ".join,
)
def test_every_command_in_the_readme_runs_as_shown(command: list[str]) -> None:
    assert command_problem(command) is None


def test_every_management_command_in_the_readme_exists() -> None:
    named = set(re.findall(r"manage\.py (\w+)", README.read_text()))
    assert {"migrate", "arq_worker"} <= named
    assert named <= set(get_commands())


def test_every_relative_link_in_the_readme_exists() -> None:
    links = re.findall(r"\]\(([^)#\s]+)\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert local, "README links to no docs page"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert missing == []


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
