"""``bench/bench_observability.py --steps`` and ``bench/bench_span_warmth.py`` run and measure what
traces add (subprocesses: each installs an SDK of its own)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT


def test_the_step_costs_show_a_recorded_run_span_costs_more_than_none_traced_and_by_hand() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_observability.py", "--steps", "--jobs", "200", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    line = r"^  (enqueue|run) +untraced [ \d.]+ us, traced [ \d.]+ us: \+ *([\d.]+) us \(.*\+ *([\d.]+) us\)$"
    rows = {step: (float(added), float(floor)) for step, added, floor in re.findall(line, done.stdout, re.M)}
    assert set(rows) == {"enqueue", "run"}, done.stdout
    # a recorded span, where the untraced run has none: by django-arq and by hand (the SDK's floor)
    assert rows["run"][0] > 1.0 and rows["run"][1] > 1.0, done.stdout
    assert "traces sampled 1 " in done.stdout


def test_the_warmth_bench_times_both_operations_inside_a_real_worker_jobs() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_span_warmth.py", "--jobs", "30", "--warm", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr  # the script checks that its worker ran all 30 probes
    line = r"^  (span|extract) +first in the job +([\d.]+), right after +([\d.]+), 5 in a row +([\d.]+): "
    rows = {name: [float(v) for v in values] for name, *values in re.findall(line, done.stdout, re.M)}
    assert set(rows) == {"span", "extract"}, done.stdout
    assert all(v > 0 for values in rows.values() for v in values), done.stdout
    assert "inside 30 jobs of a worker" in done.stdout
