"""docs/examples/test_spans.py, a project's test of its spans, passes when pytest runs it (in a
process of its own: it sets the process's tracer provider)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def test_the_example_test_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "docs/examples/test_spans.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
