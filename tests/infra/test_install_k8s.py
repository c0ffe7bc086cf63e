"""``install.py k8s``: how k8s.io/kubernetes is made buildable from the Go module proxy, and
that the installed binaries report the pinned versions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import install_k8s
from install_k8s import go_install, kubernetes_ldflags, staging_edits
from layout import (
    ETCD_VERSION, KUBE_SCORE_VERSION, KUBERNETES_COMMANDS, KUBERNETES_VERSION, KWOK_VERSION,
    etcd_bin, kube_score_bin, kubernetes_bin, kwok_bin, kwok_stages,
)


def test_every_staging_replace_becomes_a_requirement_of_the_published_module():
    go_mod = {"Replace": [
        {"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}},
        {"Old": {"Path": "k8s.io/kubectl"}, "New": {"Path": "./staging/src/k8s.io/kubectl"}},
        {"Old": {"Path": "github.com/x/y"}, "New": {"Path": "github.com/x/z", "Version": "v1"}},
    ]}
    assert staging_edits(go_mod, "v0.36.3") == [
        "-dropreplace=k8s.io/api", "-require=k8s.io/api@v0.36.3",
        "-dropreplace=k8s.io/kubectl", "-require=k8s.io/kubectl@v0.36.3",
    ]


def test_a_go_mod_without_staging_replaces_is_refused():
    with pytest.raises(SystemExit, match="no ./staging replaces"):
        staging_edits({"Replace": None}, "v0.36.3")


def test_version_ldflags_set_component_base_and_client_go():
    flags = kubernetes_ldflags("1.36.3").split()
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"{pkg}.gitVersion=v1.36.3" in flags
        assert f"{pkg}.gitMajor=1" in flags
        assert f"{pkg}.gitMinor=36" in flags


def test_go_install_builds_into_the_cached_path_once(tmp_path, monkeypatch):
    """``go install <package>@v<version>`` into GOBIN, then moved to the binary's place in the
    cache; a binary already there is kept and nothing is built."""
    calls = []

    def fake_go(args, *, what, cwd, env):  # what `go install` leaves in GOBIN
        calls.append(args)
        (Path(env["GOBIN"]) / "tool").write_text("built")

    monkeypatch.setattr(install_k8s, "go_with_progress", fake_go)
    monkeypatch.setattr(install_k8s, "_need_go", lambda: None)
    binary = tmp_path / "tool-1.2.3" / "bin" / "tool"
    go_install("tool", "example.com/x/cmd/tool", "1.2.3", binary, takes="seconds",
               ldflags="-s -w -X main.version=1.2.3")
    assert calls == [["install", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.3",
                      "example.com/x/cmd/tool@v1.2.3"]]
    assert binary.read_text() == "built"
    assert not binary.with_suffix(".partial").exists()
    binary.write_text("cached")
    go_install("tool", "example.com/x/cmd/tool", "1.2.3", binary, takes="seconds")
    assert len(calls) == 1 and binary.read_text() == "cached"


def test_a_failed_go_install_leaves_no_binary(tmp_path, monkeypatch):
    def failing_go(args, *, what, cwd, env):
        raise SystemExit(f"install: {what}: failed")

    monkeypatch.setattr(install_k8s, "go_with_progress", failing_go)
    monkeypatch.setattr(install_k8s, "_need_go", lambda: None)
    binary = tmp_path / "bin" / "tool"
    with pytest.raises(SystemExit, match="tool 1.2.3: failed"):
        go_install("tool", "example.com/x/cmd/tool", "1.2.3", binary, takes="seconds")
    assert not binary.exists()


def test_installed_binaries_report_their_versions():
    """Run after ``./taskw install:k8s`` (a dependency of ``./taskw test``)."""
    kubectl = subprocess.run([str(kubernetes_bin("kubectl")), "version", "--client", "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
    assert json.loads(kubectl)["clientVersion"]["gitVersion"] == f"v{KUBERNETES_VERSION}"
    for command in KUBERNETES_COMMANDS:
        if command != "kubectl":
            out = subprocess.run([str(kubernetes_bin(command)), "--version"], check=True,
                                 capture_output=True, text=True).stdout
            assert out.strip() == f"Kubernetes v{KUBERNETES_VERSION}", command
    etcd = subprocess.run([str(etcd_bin()), "--version"], check=True, capture_output=True,
                          text=True).stdout
    assert f"etcd Version: {ETCD_VERSION}" in etcd
    assert kwok_bin().exists()
    kube_score = subprocess.run([str(kube_score_bin()), "version"], check=True,
                                capture_output=True, text=True).stdout
    assert kube_score.startswith(f"kube-score version: {KUBE_SCORE_VERSION},")
    assert {p.name for p in kwok_stages().glob("*.yaml")} == {
        "node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml",
        "pod-complete.yaml", "pod-delete.yaml"}
    assert (kwok_stages() / ".complete").read_text().strip() == KWOK_VERSION
