"""deploy/k8s/monitoring: the PrometheusRule (promtool check and unit tests, every alert covered
and documented), the dashboards (generated output up to date, only documented metrics), the
kustomization as each overlay renders it (it includes monitoring/), and every panel query and recording rule run against the test
stack's live Prometheus after a synthetic call, each returning data.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

import prometheus_rules
from k8s_plane import kustomize
from layout import REPO

MONITORING = REPO / "deploy" / "k8s" / "monitoring"
#: the overlays, each of which includes MONITORING
OVERLAYS = {name: REPO / "deploy" / "k8s" / "overlays" / name for name in ("dev", "prod")}
#: the dashboards (dashboards/parley-<name>.json, ConfigMap parley-dashboard-<name>)
DASHBOARDS = ("overview", "signaling", "meetings-chat", "kafka-outbox")
METRICS_DOC = REPO / "docs" / "metrics.md"
OPERATIONS_DOC = REPO / "docs" / "operations.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
#: the services with a ServiceMonitor, and the port and path scraped
MONITORED = ("auth", "meetings", "chat", "signaling", "turn-config")
#: series every Prometheus has without any exporter listing them
BUILT_IN = {"up"}
PROBE_DEADLINE_S = 150
#: how long the live queries may take to all return data after the call (scrape 5 s, rules 5 s)
LIVE_DEADLINE_S = 90


def _dashboards_module():
    spec = importlib.util.spec_from_file_location("parley_dashboards", MONITORING / "dashboards.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _promtool_test(tmp_path: Path, groups: list[dict]) -> subprocess.CompletedProcess:
    (tmp_path / prometheus_rules.RULE_FILE_NAME).write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(MONITORING / "rules-test.yaml", tmp_path / "rules-test.yaml")
    return subprocess.run([PROMTOOL, "test", "rules", "rules-test.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def _alerts(groups: list[dict]) -> list[str]:
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def _recorded(groups: list[dict]) -> dict[str, str]:
    return {rule["record"]: rule["expr"] for group in groups for rule in group["rules"] if "record" in rule}


# --- documented metrics -----------------------------------------------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
             "bool", "offset", "inf", "nan", "Inf", "NaN"}


def metric_names(expr: str) -> set[str]:
    """The metric (series) names a PromQL ``expr`` selects: identifiers that are not functions,
    keywords, label names (in ``{…}`` or ``by (…)``) or label values."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()", text)
    return {name for name in names if name not in _KEYWORDS}


def documented_metrics() -> tuple[set[str], set[str]]:
    """(names, prefixes): every metric docs/metrics.md lists in a table's first column, and
    the prefixes of the wildcard rows (``process_*``)."""
    names, prefixes = set(), set()
    for match in re.finditer(r"^\|\s*`([a-z_:*]+)`\s*\|\s*(\w+)", METRICS_DOC.read_text(), re.M):
        name, kind = match.groups()
        if name.endswith("*"):
            prefixes.add(name[:-1])
        else:
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names, prefixes


def undocumented(expr: str, recorded: dict[str, str]) -> set[str]:
    """The names in ``expr`` that are neither listed in docs/metrics.md, nor built in, nor
    recorded by the PrometheusRule from listed metrics only."""
    names, prefixes = documented_metrics()
    missing = set()
    for name in metric_names(expr):
        if name in recorded:
            missing |= undocumented(recorded[name], recorded)
        elif name not in names and name not in BUILT_IN and not name.startswith(tuple(prefixes)):
            missing.add(name)
    return missing


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every target of every committed dashboard."""
    out = []
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets") or []:
                out.append((path.name, panel["title"], target["expr"]))
    return out


# --- the rules --------------------------------------------------------------------------

def test_promtool_accepts_the_rules(tmp_path):
    rules = prometheus_rules.write_rule_file(tmp_path / prometheus_rules.RULE_FILE_NAME)
    result = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_unit_tests_pass(tmp_path):
    result = _promtool_test(tmp_path, prometheus_rules.rule_groups())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_covered_by_a_unit_test_that_fails_when_it_never_fires(tmp_path):
    groups = prometheus_rules.rule_groups()
    alerts = _alerts(groups)
    assert {"ParleyServiceDown", "ParleyHighErrorRatio", "ParleyHighLatencyP99", "ParleyKafkaConsumerLag",
            "ParleyOutboxBacklog", "ParleySignalingSocketsNearCapacity", "ParleyTurnCredentialFailures"} <= set(alerts)
    for alert in alerts:
        broken = copy.deepcopy(groups)
        for group in broken:
            for rule in group["rules"]:
                if rule.get("alert") == alert:
                    rule["expr"] = "vector(1) == 0"  # never fires
        result = _promtool_test(tmp_path, broken)
        assert result.returncode != 0 and f"alertname: {alert}," in result.stdout + result.stderr, (
            f"no unit test in rules-test.yaml notices that {alert} never fires"
        )


def test_every_alert_has_a_runbook_entry_in_the_operations_doc():
    doc = OPERATIONS_DOC.read_text()
    for group in prometheus_rules.rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                assert re.search(rf"^#+ `?{rule['alert']}`?\s*$", doc, re.M), f"docs/operations.md has no {rule['alert']} heading"
                assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_the_rules_use_only_documented_metrics():
    groups = prometheus_rules.rule_groups()
    recorded = _recorded(groups)
    for group in groups:
        for rule in group["rules"]:
            assert not undocumented(rule["expr"], recorded), (rule.get("record") or rule.get("alert"), rule["expr"])


def test_the_local_prometheus_loads_the_same_rules(rendered):
    import render

    conf = yaml.safe_load(render.prometheus_config(rendered).read_text())
    assert conf["rule_files"] == [prometheus_rules.RULE_FILE_NAME]
    written = yaml.safe_load((render.prometheus_config(rendered).parent / prometheus_rules.RULE_FILE_NAME).read_text())
    assert written["groups"] == prometheus_rules.rule_groups()


# --- the dashboards ---------------------------------------------------------------------

def test_the_committed_dashboards_are_what_dashboards_py_makes(capsys):
    assert _dashboards_module().main(["--check"]) == 0, capsys.readouterr().err


def test_every_panel_uses_only_documented_metrics():
    recorded = _recorded(prometheus_rules.rule_groups())
    queries = panel_queries()
    assert {name for name, _, _ in queries} == {f"parley-{name}.json" for name in DASHBOARDS}
    for name, title, expr in queries:
        assert not undocumented(expr, recorded), f"{name} / {title}: {expr}"


def test_the_check_catches_a_metric_that_does_not_exist():
    recorded = _recorded(prometheus_rules.rule_groups())
    assert undocumented('sum by (service) (rate(parley_no_such_thing_total{route="/x"}[5m]))', recorded) == {
        "parley_no_such_thing_total"}
    assert undocumented("service:parley_http_requests:rate5m", recorded) == set()
    assert undocumented("histogram_quantile(0.99, sum by (le) (rate(parley_http_request_duration_seconds_bucket[5m])))",
                        recorded) == set()
    assert undocumented("service:no_such_recording:rate5m", recorded) == {"service:no_such_recording:rate5m"}


# --- the kustomization, in every overlay -----------------------------------------------

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_overlay_renders_the_monitors_rules_and_dashboards(overlay: str):
    docs = kustomize(OVERLAYS[overlay])
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    # the whole monitoring kustomization is in the overlay, unchanged
    for own in kustomize(MONITORING):
        key = (own["kind"], own["metadata"]["namespace"], own["metadata"]["name"])
        assert own in [d for d in docs if (d["kind"], d["metadata"].get("namespace"),
                                           d["metadata"]["name"]) == key], key
    [rule] = by_kind["PrometheusRule"]
    assert rule["spec"]["groups"] == prometheus_rules.rule_groups()
    # the dashboards: exactly the committed JSON, each in a ConfigMap Grafana's sidecar loads
    dashboards = {cm["metadata"]["name"]: cm for cm in by_kind["ConfigMap"]
                  if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"}
    assert sorted(dashboards) == sorted(f"parley-dashboard-{name}" for name in DASHBOARDS)
    for cm in dashboards.values():
        [(file_name, text)] = cm["data"].items()
        assert text == (MONITORING / "dashboards" / file_name).read_text()
    # one ServiceMonitor per service, beside its Service, each selecting exactly that Service
    # (port http, 8080)
    services = by_kind["Service"]
    monitors = {sm["metadata"]["name"]: sm for sm in by_kind["ServiceMonitor"]}
    assert sorted(monitors) == sorted(MONITORED)
    for name, sm in monitors.items():
        [endpoint] = sm["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
        wanted = sm["spec"]["selector"]["matchLabels"]
        selected = [s for s in services if s["metadata"]["namespace"] == sm["metadata"]["namespace"]
                    and wanted.items() <= (s["metadata"].get("labels") or {}).items()]
        assert [s["metadata"]["name"] for s in selected] == [name], name
        [port] = [p for p in selected[0]["spec"]["ports"] if p["name"] == "http"]
        assert port["port"] == 8080
    # every monitoring object lives in Parley's namespace, whose NetworkPolicies let
    # Prometheus (namespace `monitoring`) in
    namespaces = {d["metadata"]["namespace"] for kind in ("ServiceMonitor", "PrometheusRule")
                  for d in by_kind[kind]} | {cm["metadata"]["namespace"] for cm in dashboards.values()}
    assert namespaces == {"parley"}
    scraped_from = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    for policy in by_kind["NetworkPolicy"] if policy["metadata"]["namespace"] == "parley"
                    for rule in policy["spec"].get("ingress") or [] for peer in rule.get("from") or []
                    if "namespaceSelector" in peer}
    assert "monitoring" in scraped_from


# --- live: every query returns data from the test stack's Prometheus after a call --------

def _run_probe(base_url: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "parley_probe", "--base-url", base_url],
                               capture_output=True, text=True, timeout=PROBE_DEADLINE_S)
    lines = completed.stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines else {}
    assert completed.returncode == 0 and summary.get("ok") is True, completed.stdout[-3000:] + completed.stderr[-3000:]


def _empty_queries(prometheus_url: str, queries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (what, expr) of ``queries`` whose instant query returns no series (or fails)."""
    empty = []
    with httpx.Client(base_url=prometheus_url, timeout=10) as client:
        for what, expr in queries:
            answer = client.get("/api/v1/query", params={"query": expr}).json()
            if answer.get("status") != "success" or not answer["data"]["result"]:
                empty.append((what, expr))
    return empty


def _live_queries() -> list[tuple[str, str]]:
    recorded = _recorded(prometheus_rules.rule_groups())
    return ([(f"{name} / {title}", expr) for name, title, expr in panel_queries()]
            + [(f"record {record}", expr) for record, expr in recorded.items()]
            + [(f"recorded series {record}", record) for record in recorded])


@pytest.mark.e2e
@pytest.mark.timeout(PROBE_DEADLINE_S + LIVE_DEADLINE_S + 60)
def test_every_panel_and_recording_rule_returns_data_after_a_call(stack_info):
    _run_probe(stack_info["base_url"])
    queries = _live_queries()
    deadline = time.monotonic() + LIVE_DEADLINE_S
    while True:
        empty = _empty_queries(stack_info["prometheus_url"], queries)
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert not empty, "no data from:\n" + "\n".join(f"  {what}: {expr}" for what, expr in empty)


@pytest.mark.e2e
def test_a_query_of_a_metric_that_does_not_exist_is_reported_empty(stack_info):
    assert _empty_queries(stack_info["prometheus_url"], [
        ("bogus", 'sum by (service) (rate(parley_http_requestz_total[5m]))'),
        ("real", "sum by (service) (up)"),
    ]) == [("bogus", 'sum by (service) (rate(parley_http_requestz_total[5m]))')]
