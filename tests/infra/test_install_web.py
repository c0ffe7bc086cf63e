"""``install.py web``: what it runs in web/, and when (no npm is run here: ``run`` is recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

import install


@pytest.fixture
def client_dir(tmp_path, monkeypatch):
    """A fake web/ with its lock file; ``npm`` calls recorded, ``npm run build`` writes dist."""
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "package.json").write_text('{"name": "parley-web"}')
    (web / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (web / "src" / "main.ts").write_text("export {}")
    calls: list[list[str]] = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        if cmd[:2] == ["npm", "ci"]:
            (web / "node_modules").mkdir(exist_ok=True)
        if cmd[:3] == ["npm", "run", "build"]:
            (web / "dist").mkdir(exist_ok=True)
            (web / "dist" / "index.html").write_text("<!doctype html>")

    monkeypatch.setattr(install, "WEB_CLIENT", web)
    monkeypatch.setattr(install, "WEB_DIST", web / "dist")
    monkeypatch.setattr(install, "WEB_STAMPS", tmp_path / ".tools" / "web")
    monkeypatch.setattr(install, "REPO", tmp_path)
    monkeypatch.setattr(install, "run", fake_run)
    monkeypatch.setattr(install, "need", lambda *a: None)
    CALLS[web] = calls
    return web


CALLS: dict[Path, list[list[str]]] = {}


def npm_steps(web: Path) -> list[str]:
    """The npm commands run since the last call, e.g. ``["npm ci", "npm run build"]``."""
    calls = CALLS[web]
    steps = [" ".join(c[:3]) if c[1] == "run" else " ".join(c[:2]) for c in calls]
    calls.clear()
    return steps


def test_first_install_runs_npm_ci_then_build_and_then_nothing(client_dir, capsys):
    install.install_web()
    assert npm_steps(client_dir) == ["npm ci", "npm run build"]
    install.install_web()
    assert npm_steps(client_dir) == []
    out = capsys.readouterr().out
    assert "npm dependencies up to date" in out and "client build up to date" in out


def test_a_source_change_rebuilds_without_npm_ci(client_dir):
    install.install_web()
    npm_steps(client_dir)
    (client_dir / "src" / "main.ts").write_text("export const x = 1")
    install.install_web()
    assert npm_steps(client_dir) == ["npm run build"]
    (client_dir / "dist" / "index.html").unlink()  # a deleted build is rebuilt too
    install.install_web()
    assert npm_steps(client_dir) == ["npm run build"]


def test_a_lock_change_or_missing_node_modules_reinstalls_and_rebuilds(client_dir):
    install.install_web()
    npm_steps(client_dir)
    (client_dir / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}')
    install.install_web()
    assert npm_steps(client_dir) == ["npm ci", "npm run build"]
    (client_dir / "node_modules").rmdir()
    install.install_web()
    assert npm_steps(client_dir) == ["npm ci", "npm run build"]


def test_build_outputs_and_caches_are_not_sources(client_dir):
    install.install_web()
    npm_steps(client_dir)
    (client_dir / "node_modules" / "x.js").write_text("x")
    (client_dir / "dist" / "extra.js").write_text("x")
    (client_dir / ".vite").mkdir()
    (client_dir / ".vite" / "cache").write_text("x")
    install.install_web()
    assert npm_steps(client_dir) == []
    (client_dir / ".env.production").write_text("VITE_X=1")  # hidden files do count
    install.install_web()
    assert npm_steps(client_dir) == ["npm run build"]


def test_no_client_yet_is_skipped_with_a_message(client_dir, capsys):
    (client_dir / "package.json").unlink()
    install.install_web()
    assert npm_steps(client_dir) == []
    assert "does not exist yet" in capsys.readouterr().out


def test_chromium_comes_from_debian():
    assert install.APT_PACKAGES["chromium"] == "/usr/bin/chromium"
