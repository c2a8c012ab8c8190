"""The Grafana dashboard in the docs is drawn from the metrics django-arq exports, all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from django_arq.metrics import instruments
from django_arq.metrics.collector import GAUGES
from tests.helpers import ROOT

DASHBOARD = ROOT / "docs" / "examples" / "grafana-django-arq.json"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}


def exported() -> dict[str, str]:
    """Every sample name django-arq exports -> the name of its metric."""
    names = {g: g for g in GAUGES}
    metrics = [v for v in vars(instruments).values() if isinstance(v, MetricWrapperBase)]
    metrics += list(instruments.OUTCOMES.values())
    for metric in metrics:
        for family in metric.describe():
            names.update({family.name + suffix: family.name for suffix in SUFFIXES[family.type]})
    return names


def expressions(node: Any) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and template variable queries."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        if isinstance(node.get("definition"), str):
            found.append(node["definition"])
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def test_every_expression_names_only_exported_metrics_and_every_metric_is_shown() -> None:
    dashboard = json.loads(Path(DASHBOARD).read_text())
    exprs = expressions(dashboard)
    assert len(exprs) >= 15
    names = exported()
    used = {name for expr in exprs for name in re.findall(r"\bdjango_arq_\w+", expr)}
    assert sorted(used - set(names)) == []
    assert sorted(set(names.values()) - {names[n] for n in used}) == []  # every metric has a panel
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(
            t["expr"].count("(") == t["expr"].count(")") for t in panel["targets"]
        )
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
