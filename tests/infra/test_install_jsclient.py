"""``install.py jsclient``: ``npm ci`` in tests/jsclient/ only when its lock changed (npm is not run
here: ``run`` is recorded)."""

from __future__ import annotations

import pytest

import install


@pytest.fixture
def jsclient(tmp_path, monkeypatch):
    """A fake tests/jsclient/ with its lock file; ``npm`` calls recorded in ``calls``."""
    project = tmp_path / "tests" / "jsclient"
    project.mkdir(parents=True)
    (project / "package.json").write_text('{"name": "parley-jsclient-test"}')
    (project / "package-lock.json").write_text('{"lockfileVersion": 3}')
    calls: list[list[str]] = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        assert kw["cwd"] == project
        (project / "node_modules").mkdir(exist_ok=True)

    monkeypatch.setattr(install, "JSCLIENT", project)
    monkeypatch.setattr(install, "JSCLIENT_STAMPS", tmp_path / ".tools" / "jsclient")
    monkeypatch.setattr(install, "REPO", tmp_path)
    monkeypatch.setattr(install, "run", fake_run)
    monkeypatch.setattr(install, "need", lambda *a: None)
    CALLS[project] = calls
    return project


CALLS: dict = {}


def npm_runs(project) -> int:
    """How many ``npm ci`` ran in ``project`` since the last call (nothing else may run)."""
    calls = CALLS[project]
    n = len(calls)
    assert all(c[:2] == ["npm", "ci"] for c in calls)
    calls.clear()
    return n


def test_npm_ci_once_then_only_when_the_lock_changes_or_node_modules_is_gone(jsclient, capsys):
    install.install_jsclient()
    assert npm_runs(jsclient) == 1
    install.install_jsclient()
    assert npm_runs(jsclient) == 0
    assert "jsclient: npm dependencies up to date" in capsys.readouterr().out
    (jsclient / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    install.install_jsclient()
    assert npm_runs(jsclient) == 1
    (jsclient / "node_modules").rmdir()
    install.install_jsclient()
    assert npm_runs(jsclient) == 1


def test_a_missing_lock_file_is_an_error(jsclient):
    (jsclient / "package-lock.json").unlink()
    with pytest.raises(SystemExit, match="package-lock.json is missing"):
        install.install_jsclient()


def test_the_real_project_has_a_committed_lock_pinning_the_official_client():
    import json

    lock = json.loads((install.JSCLIENT / "package-lock.json").read_text())
    client = lock["packages"]["node_modules/socket.io-client"]
    assert client["version"] == json.loads((install.JSCLIENT / "package.json").read_text())[
        "dependencies"]["socket.io-client"]
    assert client["integrity"].startswith("sha512-")
