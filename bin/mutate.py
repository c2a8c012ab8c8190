"""Mutation testing of django-arq's core modules with mutmut; ``bin/mutate`` runs it.

For each module asked for, a scratch copy of the working tree is made under ``var/mutate/``
(tracked and untracked files, not what .gitignore ignores), mutmut is configured there for that
module and the tests ``mutate.toml`` maps it to, and run with one test process at a time. Then
killed / survived / total and every survivor are printed; ``mutmut show <name>`` in the scratch
copy shows a survivor's diff.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mutate.toml"
SCRATCH = ROOT / "var" / "mutate"
MUTMUT = Path(sys.executable).parent / "mutmut"

#: mutmut's exit codes of a mutant's test run, as its own ``stats.status_by_exit_code`` reads them.
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, -24, 24, 152, 255}


def load_config() -> dict:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def test_paths(patterns: list[str]) -> list[str]:
    """The map's entries as paths that exist (an entry may be a glob); an unknown one is an error."""
    paths = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern, root_dir=ROOT))
        if not found and not glob.has_magic(pattern):
            sys.exit(f"bin/mutate: {CONFIG.name} names {pattern!r}, which does not exist")
        paths += found
    return paths


def scratch_copy(module: str) -> Path:
    """A fresh copy of the working tree to mutate (the tree itself is never touched)."""
    work = SCRATCH / module.removesuffix(".py").replace("/", ".")
    shutil.rmtree(work, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if name.startswith("var/") or not source.is_file():  # e.g. deleted but still tracked
            continue
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return work


def mutmut_section(module: str, tests: list[str], run: dict) -> str:
    """The ``[tool.mutmut]`` section of the scratch copy's pyproject.toml."""
    section = {
        "source_paths": ["django_arq"],
        "only_mutate": [module],
        "also_copy": ["example_project"],  # imported by tests besides django_arq and tests
        "pytest_add_cli_args": run["pytest_args"],
        "pytest_add_cli_args_test_selection": tests,
        "timeout_constant": float(run["timeout_constant"]),
        "timeout_multiplier": float(run["timeout_multiplier"]),
        # A fork server that has collected the tests but run none: the suite's threads, event loops
        # and connections are not fork-safe in a process that has already run tests.
        "process_isolation": "forkserver",
        "forkserver_warmup": "collect",
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in section.items()]
    return "\n".join(lines) + "\n"


def results(work: Path, module: str) -> dict[str, int]:
    """Each mutant of ``module`` and mutmut's exit code for it (None: not checked)."""
    meta = work / "mutants" / f"{module}.meta"
    if not meta.exists():
        return {}
    data: dict[str, int] = json.loads(meta.read_text())["exit_code_by_key"]
    return data


def report(module: str, outcome: dict[str, int]) -> tuple[int, int, int]:
    kinds = Counter(
        "killed"
        if code in KILLED
        else "survived"
        if code in SURVIVED
        else "no tests"
        if code in NO_TESTS
        else "timeout"
        if code in TIMEOUT
        else "not checked"
        if code is None
        else "other"
        for code in outcome.values()
    )
    killed, survived, total = kinds["killed"], kinds["survived"], len(outcome)
    others = {k: v for k, v in kinds.items() if k not in ("killed", "survived")}
    detail = f" ({', '.join(f'{k} {v}' for k, v in others.items())})" if others else ""
    print(f"{module}: killed {killed} / survived {survived} / total {total}{detail}")
    for name, code in sorted(outcome.items()):
        if code not in KILLED:  # a timeout may be a mutant that loops, or a run too slow: look at it
            print(f"  {'survived' if code in SURVIVED else f'exit {code}'}: {name}")
    return killed, survived, total


def main() -> int:
    config = load_config()
    modules: dict[str, list[str]] = config["modules"]
    parser = argparse.ArgumentParser(prog="bin/mutate", description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="*", help="module paths from mutate.toml (default: all of them)")
    parser.add_argument("--list", action="store_true", help="print the module -> tests map and exit")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the mutants of this name (a glob, e.g. '*x_bearer_token*'); repeatable",
    )
    args = parser.parse_args()
    if args.list:
        for module, patterns in modules.items():
            print(f"{module}: {' '.join(test_paths(patterns))}")
        return 0
    unknown = [m for m in args.module if m not in modules]
    if unknown:
        parser.error(f"not in {CONFIG.name}: {', '.join(unknown)} (bin/mutate --list shows the modules)")
    run = config["run"]
    redis_url = os.environ.get("DJANGO_ARQ_MUTATE_REDIS", run["redis_url"])
    env = {**os.environ, "DJANGO_ARQ_TEST_REDIS": redis_url}
    env.pop("DJANGO_ARQ_TEST_DB", None)  # the SQLite leg
    totals = Counter[str]()
    for module in args.module or list(modules):
        tests = test_paths(modules[module])
        work = scratch_copy(module)
        with (work / "pyproject.toml").open("a") as f:
            f.write(mutmut_section(module, tests, run))
        log = work.parent / f"{work.name}.log"
        # One test database for all of this module's runs (made once, then --reuse-db), not one
        # each; tests.settings names it after DJANGO_ARQ_TEST_RUN.
        env["DJANGO_ARQ_TEST_RUN"] = run_id = f"mutate-{work.name}"
        Path(tempfile.gettempdir(), f"django-arq-test-{run_id}.sqlite3").unlink(missing_ok=True)
        print(f"== {module}: mutants run {' '.join(tests)} (log: {log.relative_to(ROOT)})", flush=True)
        with log.open("wb") as out:
            command = [MUTMUT, "run", "--max-children", "1", *args.only]
            subprocess.run(command, cwd=work, env=env, stdout=out, stderr=out)
        outcome = results(work, module)
        if not outcome:
            print(f"{module}: mutmut made no result; see {log.relative_to(ROOT)}")
            totals["failed"] += 1
            continue
        killed, survived, total = report(module, outcome)
        totals.update(killed=killed, survived=survived, total=total)
    if len(args.module or modules) > 1:
        print(f"all: killed {totals['killed']} / survived {totals['survived']} / total {totals['total']}")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
