"""``bench/bench_observability.py --steps`` runs and measures what traces add (a subprocess: it
installs an SDK of its own)."""

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
