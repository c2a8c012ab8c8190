"""``bench/bench_observability.py --steps`` and ``bench/bench_span_warmth.py`` run and measure what
traces add (subprocesses: each installs an SDK of its own)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT


def test_the_step_costs_measure_one_recorded_span_per_traced_call_and_none_untraced() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_observability.py", "--steps", "--jobs", "200", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # the costs are figures for a person to read (a busy machine may even show a negative one)
    cost, added = r" +-?[\d.]+ us", r" +[+-][\d.]+ us"
    line = rf"^  (enqueue|run) +untraced{cost}, traced{cost}:{added} \(.*:{added}\)$"
    assert sorted(re.findall(line, done.stdout, re.M)) == ["enqueue", "run"], done.stdout
    # what each variant timed: the untraced step records no span, django-arq's and the one made by
    # hand (the SDK's floor) record one span per call
    spans = re.findall(r"^ +spans per call: untraced (\S+), traced (\S+), by hand (\S+)$", done.stdout, re.M)
    assert spans == [("0", "1", "1"), ("0", "1", "1")], done.stdout
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
