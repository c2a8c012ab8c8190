"""``bench/bench_observability.py --steps`` runs and measures what traces add (a subprocess: it
installs an SDK of its own)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT


def test_the_step_costs_show_a_recorded_run_span_costs_more_than_none() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_observability.py", "--steps", "--jobs", "200", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = dict(re.findall(r"^  (enqueue|run) +untraced +([\d.]+) us", done.stdout, re.M))
    added = dict(re.findall(r"^  (enqueue|run) .*: \+ *([\d.]+) us$", done.stdout, re.M))
    assert set(rows) == set(added) == {"enqueue", "run"}, done.stdout
    assert float(added["run"]) > 1.0, done.stdout  # a recorded span, where the untraced run has none
    assert "traces sampled 1 " in done.stdout
