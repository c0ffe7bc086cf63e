"""``install.py jsclient`` and ``install.py bench``: ``npm ci`` in tests/jsclient/, and in
bench/peers/node-relay/ and bench/loadgen/, only when a lock changed (npm is not run here:
``run`` is recorded)."""

from __future__ import annotations

import json

import pytest

import install

CALLS: dict = {}


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Fake npm folders (each with its lock file) in place of the real ones; ``npm`` calls
    recorded per folder."""
    fake = {}
    for name, (real, what) in install.NPM_FOLDERS.items():
        project = tmp_path / real.relative_to(install.REPO)
        project.mkdir(parents=True)
        (project / "package.json").write_text(json.dumps({"name": name}))
        (project / "package-lock.json").write_text('{"lockfileVersion": 3}')
        fake[name] = (project, what)
        CALLS[project] = []

    def fake_run(cmd, **kw):
        CALLS[kw["cwd"]].append(cmd)
        (kw["cwd"] / "node_modules").mkdir(exist_ok=True)

    monkeypatch.setattr(install, "NPM_FOLDERS", fake)
    monkeypatch.setattr(install, "REPO", tmp_path)
    monkeypatch.setattr(install, "run", fake_run)
    monkeypatch.setattr(install, "need", lambda *a: None)
    return {name: project for name, (project, _) in fake.items()}


def npm_runs(project) -> int:
    """How many ``npm ci`` ran in ``project`` since the last call (nothing else may run)."""
    calls = CALLS[project]
    n = len(calls)
    assert all(c[:2] == ["npm", "ci"] for c in calls)
    calls.clear()
    return n


def test_npm_ci_once_then_only_when_the_lock_changes_or_node_modules_is_gone(folders, capsys):
    jsclient = folders["jsclient"]
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


def test_bench_installs_the_peer_and_the_load_generator_each_on_its_own_lock(folders):
    peer, loadgen = folders["bench-peer"], folders["bench-loadgen"]
    install.install_bench()
    assert (npm_runs(peer), npm_runs(loadgen), npm_runs(folders["jsclient"])) == (1, 1, 0)
    install.install_bench()
    assert (npm_runs(peer), npm_runs(loadgen)) == (0, 0)
    (loadgen / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    install.install_bench()
    assert (npm_runs(peer), npm_runs(loadgen)) == (0, 1)


def test_a_missing_lock_file_is_an_error(folders):
    (folders["jsclient"] / "package-lock.json").unlink()
    with pytest.raises(SystemExit, match="package-lock.json is missing"):
        install.install_jsclient()


@pytest.mark.parametrize(
    ("name", "package"),
    [("jsclient", "socket.io-client"), ("bench-loadgen", "socket.io-client"), ("bench-peer", "socket.io")],
)
def test_the_real_folders_have_committed_locks_pinning_the_official_packages(name, package):
    folder, _ = install.NPM_FOLDERS[name]
    lock = json.loads((folder / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{package}"]
    assert pinned["version"] == json.loads((folder / "package.json").read_text())["dependencies"][package]
    assert pinned["integrity"].startswith("sha512-")
