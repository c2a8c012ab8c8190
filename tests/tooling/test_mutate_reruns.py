"""bin/mutate runs each mutant mutmut reports as a timeout again, alone, with plain pytest and a
time limit, and files it by that run: killed, survived or timeout."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import ROOT

# bin/mutate runs on the Django 5.2 venv (.venv, requirements/dev.txt), the one that has mutmut;
# the Django 6 legs have no mutmut, and nothing here depends on Django's version.
pytest.importorskip("mutmut", reason="bin/mutate runs in .venv (requirements/dev.txt), with mutmut")


def load_mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bin_mutate", ROOT / "bin" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutate = load_mutate()

MODULE = "pkg/thing.py"
#: A test module that behaves as each mutant "makes" it: fails, passes, or never ends.
TESTS = """
import os
import time


def test_thing():
    mutant = os.environ["MUTANT_UNDER_TEST"]
    assert not mutant.endswith("__mutmut_1"), "killed"
    while mutant.endswith("__mutmut_3"):
        time.sleep(0.1)
"""


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (None, "not checked"),
        (0, "survived"),
        (1, "killed"),
        (3, "killed"),
        (5, "no tests"),
        (33, "no tests"),
        (36, "timeout"),
        (255, "timeout"),
        (-24, "timeout"),
        (2, "other"),
        (-9, "other"),
    ],
)
def test_an_exit_code_files_a_mutant(code, outcome):
    assert mutate.outcome_of(code) == outcome


def scratch(tmp_path: Path, codes: dict[str, int | None]) -> Path:
    """A scratch copy as mutmut leaves it: the meta file of ``MODULE``, its stats, the tests."""
    mutants = tmp_path / "mutants"
    (mutants / "tests").mkdir(parents=True)
    (mutants / "tests" / "test_thing.py").write_text(TESTS)
    (mutants / f"{MODULE}.meta").parent.mkdir(parents=True)
    (mutants / f"{MODULE}.meta").write_text(json.dumps({"exit_code_by_key": codes, "durations_by_key": {}}))
    stats = {
        "tests_by_mangled_function_name": {"pkg.thing.x_thing": ["tests/test_thing.py::test_thing"]},
        "duration_by_test": {"tests/test_thing.py::test_thing": 0.01},
    }
    (mutants / "mutmut-stats.json").write_text(json.dumps(stats))
    return tmp_path


def test_timeouts_are_run_again_and_filed_by_that_run(tmp_path, capsys):
    codes = {
        "pkg.thing.x_thing__mutmut_1": 255,  # mutmut's runner crashed; the tests kill it
        "pkg.thing.x_thing__mutmut_2": 255,  # crashed too; the tests pass
        "pkg.thing.x_thing__mutmut_3": 36,  # the tests never end
        "pkg.thing.x_other__mutmut_1": 255,  # no test calls x_other
        "pkg.thing.x_thing__mutmut_4": 1,  # killed by mutmut: not run again
        "pkg.thing.x_thing__mutmut_5": 0,  # survived under mutmut: not run again
    }
    work = scratch(tmp_path, codes)
    # The limit is (recorded duration + constant) * multiplier: room for pytest's start on a busy
    # machine, and what the never-ending run is stopped at.
    run = {"pytest_args": ["-q", "-p", "no:randomly", "-p", "no:cacheprovider"]}
    run |= {"timeout_constant": 15.0, "timeout_multiplier": 1.0}
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    started = time.monotonic()
    rerun = mutate.rerun_timeouts(work, MODULE, codes, run, env)
    took = time.monotonic() - started

    assert {name: mutate.outcome_of(code) for name, code in rerun.items()} == {
        "pkg.thing.x_thing__mutmut_1": "killed",
        "pkg.thing.x_thing__mutmut_2": "survived",
        "pkg.thing.x_thing__mutmut_3": "timeout",
        "pkg.thing.x_other__mutmut_1": "no tests",
    }
    assert took >= 15.0  # the never-ending run was stopped at its limit, not before
    printed = capsys.readouterr().out
    assert "4 timeouts of mutmut's" in printed
    assert "re-run: pkg.thing.x_thing__mutmut_1: mutmut exit 255 -> killed" in printed
    # mutmut's meta file now holds the re-runs' codes, and the others as they were.
    saved = json.loads((work / "mutants" / f"{MODULE}.meta").read_text())["exit_code_by_key"]
    assert saved == {**codes, **rerun}
    assert "AssertionError: killed" in (work / "mutants" / "reruns.log").read_text()


def test_nothing_is_run_again_without_timeouts(tmp_path):
    codes = {"pkg.thing.x_thing__mutmut_1": 1, "pkg.thing.x_thing__mutmut_2": 0}
    work = scratch(tmp_path, codes)
    run = {"pytest_args": [], "timeout_constant": 1.0, "timeout_multiplier": 1.0}
    assert mutate.rerun_timeouts(work, MODULE, codes, run, {}) == {}
    assert not (work / "mutants" / "reruns.log").exists()
