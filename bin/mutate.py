"""Mutation testing of django-arq's core modules with mutmut; ``bin/mutate`` runs it.

For each module asked for, a scratch copy of the working tree is made under ``var/mutate/``
(tracked and untracked files, not what .gitignore ignores), mutmut is configured there for that
module and the tests ``mutate.toml`` maps it to, and run with one test process at a time. Then
killed / survived / total and every survivor are printed; ``mutmut show <name>`` in the scratch
copy shows a survivor's diff.

mutmut's fork server sometimes loses a mutant's child (exit 255, which mutmut files as a timeout):
every mutant mutmut reports as a timeout is run again alone, with plain pytest on the tests mutmut
recorded for it and a real time limit, and that run's outcome replaces mutmut's.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
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
#: The exit code a re-run past its time limit is recorded with (mutmut's own for a timeout).
TIMED_OUT = 36


def outcome_of(code: int | None) -> str:
    """What an exit code of a mutant's run (mutmut's, or plain pytest's) says about the mutant."""
    if code is None:
        return "not checked"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in TIMEOUT:
        return "timeout"
    return "other"


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


def save_results(work: Path, module: str, codes: dict[str, int]) -> None:
    """Record exit codes in mutmut's meta file, so that ``mutmut results`` and a later run agree."""
    meta = work / "mutants" / f"{module}.meta"
    data = json.loads(meta.read_text())
    data["exit_code_by_key"].update(codes)
    meta.write_text(json.dumps(data))


def plain_run(work: Path, name: str, tests: list[str], run: dict, env: dict[str, str], limit: float) -> int:
    """Pytest's exit code for ``tests`` with mutant ``name`` active, ``TIMED_OUT`` past ``limit`` s."""
    command = [sys.executable, "-m", "pytest", "--rootdir=.", "--tb=native", *tests, *run["pytest_args"]]
    log = work / "mutants" / "reruns.log"
    with log.open("ab") as out:
        out.write(f"\n== {name}\n".encode())
        out.flush()
        # A session of its own, so that a timeout ends the tests' workers and servers too.
        process = subprocess.Popen(
            command,
            cwd=work / "mutants",
            env={**env, "MUTANT_UNDER_TEST": name},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        try:
            return process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return TIMED_OUT


def rerun_timeouts(
    work: Path, module: str, codes: dict[str, int], run: dict, env: dict[str, str]
) -> dict[str, int]:
    """Run each mutant mutmut reports as a timeout again alone, with plain pytest and a time limit of
    ``(its tests' recorded duration + timeout_constant) * timeout_multiplier``; its new exit codes."""
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    names = sorted(name for name, code in codes.items() if code in TIMEOUT)
    if not names:
        return {}
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text())
    tests_by_function: dict[str, list[str]] = stats["tests_by_mangled_function_name"]
    duration: dict[str, float] = stats["duration_by_test"]
    print(f"{module}: {len(names)} timeouts of mutmut's, each run again with plain pytest", flush=True)
    rerun = {}
    for name in names:
        tests = sorted(tests_by_function.get(mangled_name_from_mutant_name(name), []))
        if tests:
            estimate = sum(duration.get(test, 0.0) for test in tests)
            limit = (estimate + run["timeout_constant"]) * run["timeout_multiplier"]
            rerun[name] = plain_run(work, name, tests, run, env, limit)
        else:
            rerun[name] = min(NO_TESTS)
        print(f"  re-run: {name}: mutmut exit {codes[name]} -> {outcome_of(rerun[name])}", flush=True)
    save_results(work, module, rerun)
    return rerun


def report(module: str, outcome: dict[str, int]) -> tuple[int, int, int]:
    kinds = Counter(outcome_of(code) for code in outcome.values())
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
    parser.add_argument(
        "--rerun-only",
        action="store_true",
        help="run mutmut's timeouts of the last run again (its scratch copy), not mutmut itself",
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
        work = SCRATCH / module.removesuffix(".py").replace("/", ".")
        log = work.parent / f"{work.name}.log"
        # One test database for all of this module's runs (made once, then --reuse-db), not one
        # each; tests.settings names it after DJANGO_ARQ_TEST_RUN.
        env["DJANGO_ARQ_TEST_RUN"] = run_id = f"mutate-{work.name}"
        if not args.rerun_only:
            work = scratch_copy(module)
            with (work / "pyproject.toml").open("a") as f:
                f.write(mutmut_section(module, tests, run))
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
        outcome.update(rerun_timeouts(work, module, outcome, run, env))
        killed, survived, total = report(module, outcome)
        totals.update(killed=killed, survived=survived, total=total)
    if len(args.module or modules) > 1:
        print(f"all: killed {totals['killed']} / survived {totals['survived']} / total {totals['total']}")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
