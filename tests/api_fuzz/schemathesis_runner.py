"""Schemathesis over every service's OpenAPI document, against a running stack.

``./taskw test:api-fuzz`` runs :func:`main` on a fresh test stack (schemathesis' own defaults:
100 examples per operation, every phase); ``tests/api_fuzz/test_openapi_fuzz.py`` runs a short,
bounded pass in ``./taskw test``. Options that :func:`main` does not know are passed to every
``schemathesis run`` (``./taskw test:api-fuzz -- --max-examples 500``).

For each service the document is read from the service's own port (``/openapi.json``; it is not
routed publicly) and every check schemathesis has is applied (``--checks all``), in two parts:

- its ``/api/...`` operations are sent through Traefik (the stack's base URL), as a client would
  reach them, with ``Authorization: Bearer <token>`` of a user registered for the run, so the
  authenticated routes are exercised past the token check;
- its other operations (``/healthz``, ``/readyz``, ``/asyncapi…``: on the service's port only,
  never routed by Traefik) are sent to the service's port.

Path parameters named ``meeting_id`` are drawn half of the time from meetings made for the run
(one the user hosts, one that ended, one of another user the fuzz user has not joined), so the
operations behind the membership checks are reached, not only their 404s. The configuration
shared by both runs is ``tests/api_fuzz/schemathesis.toml``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from parley_testing import Stack

HERE = Path(__file__).resolve().parent
BASE_CONFIG = HERE / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
PASSWORD = "api fuzz password 1"

#: services with an OpenAPI document (web serves none: it answers files, see services/web)
SERVICES = ("auth", "meetings", "chat", "turn-config", "signaling-1")


@dataclass(frozen=True)
class Fixture:
    """What the run made: the fuzz user's token and meeting ids worth fuzzing with."""

    token: str
    meeting_ids: tuple[str, ...]


def _user(http: httpx.Client, name: str) -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    registered = http.post("/api/auth/register", json={"email": email, "display_name": name, "password": PASSWORD})
    registered.raise_for_status()
    login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return login.json()["access_token"]


def prepare(base_url: str) -> Fixture:
    """Register the fuzz user and another, and make three meetings (see the module docstring)."""
    with httpx.Client(base_url=base_url, timeout=15) as http:
        token, other = _user(http, "Fuzz"), _user(http, "Other")

        def meeting(as_token: str, title: str) -> str:
            made = http.post("/api/meetings", json={"title": title}, headers={"Authorization": f"Bearer {as_token}"})
            made.raise_for_status()
            return made.json()["meeting_id"]

        hosted = meeting(token, "fuzz: hosted")
        ended = meeting(token, "fuzz: ended")
        http.post(f"/api/meetings/{ended}/end", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
        foreign = meeting(other, "fuzz: someone else's")
    return Fixture(token=token, meeting_ids=(hosted, ended, foreign))


def write_config(fixture: Fixture, directory: Path) -> Path:
    """The base configuration plus the run's meeting ids as a dictionary for ``meeting_id``."""
    ids = ", ".join(json.dumps(i) for i in fixture.meeting_ids)
    extra = (
        f"\n[dictionaries.meetings]\nvalues = [{ids}]\n"
        '\n[parameters]\n"path.meeting_id" = { dictionary = "meetings", probability = 0.5 }\n'
    )
    path = directory / "schemathesis.toml"
    path.write_text(BASE_CONFIG.read_text() + extra)
    return path


def run_one(config: Path, schema_url: str, target: str, *, api: bool, token: str, extra: list[str],
            only_api_or_none: bool = False) -> int:
    """One schemathesis run (its report on this process' stdout); returns its exit code (0: no
    failure, no error). ``only_api_or_none``: every operation is on one side of ``/api/``, so
    no path filter is needed (schemathesis warns about a filter that matches nothing)."""
    path_filter = [] if only_api_or_none else [
        "--include-path-regex" if api else "--exclude-path-regex", "^/api/"]
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run", schema_url,
        "--url", target,
        "--checks", "all",
        "--header", f"Authorization: Bearer {token}",
        *path_filter,
        *extra,
    ]
    print(f"\n### schemathesis {schema_url} -> {target} ({'API through Traefik' if api else 'service port'})",
          flush=True)
    # cwd: the run's temporary directory, so schemathesis' crash cache (.schemathesis/) neither
    # lands in the repository nor replays an earlier run's failures
    return subprocess.run(command, check=False, cwd=config.parent).returncode


def fuzz(stack: dict, extra: list[str]) -> dict[str, int]:
    """Run schemathesis over every service; returns the exit code of each run by name."""
    fixture = prepare(stack["base_url"])
    results: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(fixture, Path(tmp))
        for name in SERVICES:
            service_url = Stack(stack).service_url(name)
            schema_url = f"{service_url}/openapi.json"
            paths = httpx.get(schema_url, timeout=10).json()["paths"]
            api = [p.startswith("/api/") for p in paths]
            one_side = all(api) or not any(api)
            if any(api):
                results[f"{name} /api (Traefik)"] = run_one(
                    config, schema_url, stack["base_url"], api=True, token=fixture.token, extra=extra,
                    only_api_or_none=one_side)
            if not all(api):
                results[f"{name} (own port)"] = run_one(
                    config, schema_url, service_url, api=False, token=fixture.token, extra=extra,
                    only_api_or_none=one_side)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", required=True, help="stack.json of a running stack")
    args, passthrough = parser.parse_known_args(argv)  # the rest goes to schemathesis
    stack = json.loads(Path(args.stack_file).read_text())
    results = fuzz(stack, passthrough)
    print("\n### api-fuzz summary")
    for name, code in results.items():
        print(f"{'ok    ' if code == 0 else 'FAILED'}  {name}  (exit {code})")
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
