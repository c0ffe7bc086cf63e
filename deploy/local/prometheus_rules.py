"""Parley's Prometheus rules, from their one source: the PrometheusRule of deploy/k8s/monitoring.

The local stack's Prometheus loads the same groups (:func:`write_rule_file`, called by
render.py), and tests/infra/test_k8s_monitoring.py runs promtool on them, so what is evaluated
here, tested and deployed is one text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from layout import REPO

#: The PrometheusRule (kind monitoring.coreos.com/v1 PrometheusRule) holding every group.
PROMETHEUS_RULE = REPO / "deploy" / "k8s" / "monitoring" / "prometheusrule.yaml"
#: The rule file's name beside the local stack's prometheus.yml (its ``rule_files``).
RULE_FILE_NAME = "parley.rules.yml"


def rule_groups(source: Path = PROMETHEUS_RULE) -> list[dict[str, Any]]:
    """``spec.groups`` of the PrometheusRule at ``source``: a list of ``{name, rules}``.

    Raises ``ValueError`` when ``source`` is not a PrometheusRule with groups.
    """
    doc = yaml.safe_load(source.read_text())
    if not isinstance(doc, dict) or doc.get("kind") != "PrometheusRule":
        raise ValueError(f"{source} is not a PrometheusRule")
    groups = (doc.get("spec") or {}).get("groups")
    if not groups:
        raise ValueError(f"{source} has no spec.groups")
    return groups


def write_rule_file(out: Path, source: Path = PROMETHEUS_RULE) -> Path:
    """Write the groups of ``source`` as a Prometheus rule file (``groups:``) at ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Generated from {source.relative_to(REPO)} (deploy/local/prometheus_rules.py): edit that file.\n"
    out.write_text(header + yaml.safe_dump({"groups": rule_groups(source)}, sort_keys=False))
    return out
