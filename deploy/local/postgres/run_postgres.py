"""Start the local PostgreSQL that FerretDB stores into, creating its cluster first.

    python run_postgres.py <data-dir> <port> <database>

On first start (no ``PG_VERSION`` in ``<data-dir>``) runs ``initdb`` (superuser ``ferretdb``,
trust authentication: the server listens on 127.0.0.1 only and has no Unix socket) and creates
``<database>`` in single-user mode; then replaces itself with ``postgres`` so that supervisord
supervises the postmaster directly. PostgreSQL refuses to run as root: when started as root
(the stack's supervisord often is), the data directory is given to the ``postgres`` system
user (created by Debian's ``postgresql`` package) and this process drops to it first.

On every start, also in single-user mode, installs the *GIN twins* (:data:`GIN_TWINS_SQL`):
FerretDB 1.13 pushes an equality filter down as ``(_jsonb -> 'field') @> '"value"'``, which
its own btree expression indexes cannot serve, so every pushed-down query scanned the whole
table (deploy/local/README.md, "Indexes FerretDB can use"). An event trigger gives each btree
index FerretDB creates on ``(_jsonb -> 'field')`` (the first key of a compound one) a GIN
``jsonb_path_ops`` index on the same expression, which serves ``@>``; indexes that existed
before are given theirs at start-up. FerretDB does not know about them (its metadata lists its
own), and dropping a collection drops them with the table.

Settings (passed as ``-c``): loopback only, ``synchronous_commit=off`` (a development store:
a crash may lose the last few hundred milliseconds, never corrupts), a small
``shared_buffers``, and ``default_transaction_isolation`` from ``$PARLEY_PG_ISOLATION``
(default ``repeatable read``; see deploy/local/README.md, "The store", for why), and
``pg_stat_statements`` preloaded: ``CREATE EXTENSION pg_stat_statements`` in the ``ferretdb``
database, then its view shows the SQL FerretDB runs per command (how the chat write path's
store operations were counted, bench/README.md).
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

#: Statements for single-user mode with ``-j`` (each ends with ``;`` and an empty line).
GIN_TWINS_SQL = r"""
CREATE OR REPLACE FUNCTION public.parley_gin_twin(index_oid oid) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  def text := pg_get_indexdef(index_oid);
  field text := substring(def from $r$USING btree \(+_jsonb -> '([^']+)'::text\)$r$);
  table_oid oid := (SELECT indrelid FROM pg_index WHERE indexrelid = index_oid);
  name text := left((SELECT relname FROM pg_class WHERE oid = index_oid), 55) || '_gin';
BEGIN
  IF field IS NOT NULL THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops)',
                   name, table_oid::regclass, field);
  END IF;
END $f$;

CREATE OR REPLACE FUNCTION public.parley_gin_twins_on_create() RETURNS event_trigger LANGUAGE plpgsql AS $f$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    PERFORM public.parley_gin_twin(cmd.objid);
  END LOOP;
END $f$;

DROP EVENT TRIGGER IF EXISTS parley_gin_twins;

CREATE EVENT TRIGGER parley_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION public.parley_gin_twins_on_create();

SELECT public.parley_gin_twin(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema');

"""


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
        "shared_preload_libraries": "pg_stat_statements",
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
    subprocess.run([str(bindir / "postgres"), "--single", "-j", "-D", str(data), database],
                   input=GIN_TWINS_SQL, text=True, check=True, stdout=subprocess.DEVNULL)
    postgres = str(bindir / "postgres")
    os.execv(postgres, [postgres, "-D", str(data), *settings(port)])


if __name__ == "__main__":
    main()
