"""Start the local PostgreSQL that FerretDB stores into, creating its cluster first.

    python run_postgres.py <data-dir> <port> <database>

On first start (no ``PG_VERSION`` in ``<data-dir>``) runs ``initdb`` (superuser ``ferretdb``,
trust authentication: the server listens on 127.0.0.1 only and has no Unix socket) and creates
``<database>`` in single-user mode; then replaces itself with ``postgres`` so that supervisord
supervises the postmaster directly. PostgreSQL refuses to run as root: when started as root
(the stack's supervisord often is), the data directory is given to the ``postgres`` system
user (created by Debian's ``postgresql`` package) and this process drops to it first.

Settings (passed as ``-c``): loopback only, ``synchronous_commit=off`` (a development store:
a crash may lose the last few hundred milliseconds, never corrupts), a small
``shared_buffers``, and ``default_transaction_isolation`` from ``$PARLEY_PG_ISOLATION``
(default ``repeatable read``; see deploy/local/README.md, "The store", for why).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layout import HOST, postgres_bindir  # noqa: E402

SUPERUSER = "ferretdb"


def drop_privileges(data: Path) -> None:
    """As root: hand ``data`` to the ``postgres`` user and become that user."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise SystemExit("run_postgres: running as root and no `postgres` user exists "
                         "(install Debian's postgresql: ./taskw install)") from None
    for path in [data, *data.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    os.environ.update(HOME=user.pw_dir, USER="postgres", LOGNAME="postgres")


def settings(port: int) -> list[str]:
    isolation = os.environ.get("PARLEY_PG_ISOLATION", "repeatable read")
    values = {
        "listen_addresses": HOST,
        "port": str(port),
        "unix_socket_directories": "",
        "synchronous_commit": "off",
        "shared_buffers": "64MB",
        "max_connections": "200",
        "default_transaction_isolation": isolation,
        "log_min_messages": "warning",
        "log_min_error_statement": "panic",  # a refused write is FerretDB's answer, not a log line
    }
    return [arg for key, value in values.items() for arg in ("-c", f"{key}={value}")]


def main() -> None:
    data, port, database = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    drop_privileges(data)
    bindir = postgres_bindir()
    if not (data / "PG_VERSION").exists():
        print(f"run_postgres: initdb {data}", flush=True)
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(bindir / "postgres"), "--single", "-D", str(data), "postgres"],
                       input=f'CREATE DATABASE "{database}";\n', text=True, check=True,
                       stdout=subprocess.DEVNULL)
    postgres = str(bindir / "postgres")
    os.execv(postgres, [postgres, "-D", str(data), *settings(port)])


if __name__ == "__main__":
    main()
