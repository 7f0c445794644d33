"""PostgreSQL for the tests: a throw-away cluster (trust authentication, fsync off) and
databases in it. Test infrastructure only: the product connects to a PostgreSQL its operator
runs, and the demo uses SQLite."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bldgwatch.servers import (
    Server,
    ServerError,
    _port_open,
    _spawn,
    _wait,
    find_binary,
    free_port,
)

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def start_postgres(data_dir: Path, *, timeout: float = 60) -> Server:
    """A throw-away PostgreSQL cluster run as the `postgres` user (it refuses root)."""
    initdb = find_binary("initdb", PG_BIN_DIRS)
    pg_ctl_bin = find_binary("postgres", PG_BIN_DIRS)
    if initdb is None or pg_ctl_bin is None:
        raise ServerError("PostgreSQL server not found: apt-get install postgresql")
    run_as: list[str] = []
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "postgres.log"
    remove: Path | None = None
    if os.geteuid() == 0:
        # PostgreSQL refuses root: run it as `postgres` in a folder that user can reach
        # (the caller's folder may sit under a root-only temp dir).
        run_as = ["runuser", "-u", "postgres", "--"]
        remove = data_dir = Path(tempfile.mkdtemp(prefix="bldgwatch-pg-"))
        shutil.chown(data_dir, "postgres", "postgres")
    pgdata = data_dir / "pgdata"
    subprocess.run(
        [
            *run_as,
            str(initdb),
            "-D",
            str(pgdata),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = _spawn(
        [
            *run_as,
            str(pg_ctl_bin),
            "-D",
            str(pgdata),
            "-p",
            str(port),
            "-k",
            str(data_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ],
        log_path,
    )
    server = Server("postgres", proc, port, data_dir, log_path, remove_on_stop=remove)
    try:
        _wait(lambda: _port_open(port), "postgres", proc, timeout)
        _wait(lambda: _pg_accepts(port), "postgres", proc, timeout)
    except ServerError:
        server.kill()
        raise
    server.extra["url"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    return server


def _pg_accepts(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", connect_timeout=1
        ):
            return True
    except psycopg.OperationalError:
        return False


def create_pg_database(server: Server, name: str, *, template: str | None = None) -> str:
    """Create a database in a running test cluster (a copy of `template` if one is named: a
    file copy on the server, no connection to the template may be open); return its
    SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        # names come from the caller, not a user
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"
