"""A real PostgreSQL server for the tests, from Debian's package (`.ci/run` installs it):
a fresh cluster in a temporary folder, listening on 127.0.0.1 at a free port, trust
authentication, stopped at the end. As root (CI), the server runs as the `postgres` user
the package creates: PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

USER = DATABASE = "dagster"


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int

    def environment(self) -> dict[str, str]:
        """deploy/dagster.yaml's connection variables for this server."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_USER": USER,
            "DAGSTER_PG_PASSWORD": "unused-with-trust-authentication",
            "DAGSTER_PG_DB": DATABASE,
        }


def binaries() -> str | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None
    )
    return os.path.dirname(os.path.realpath(found)) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    bin_dir = binaries()
    assert bin_dir, "PostgreSQL is not installed (.ci/run installs Debian's postgresql)"
    as_root = os.geteuid() == 0
    folder = tempfile.mkdtemp(prefix="reelcat-pg-")
    data, port = os.path.join(folder, "data"), _free_port()
    if as_root:
        shutil.chown(folder, "postgres")

    def run(*args: str) -> None:
        command = (["runuser", "-u", "postgres", "--"] if as_root else []) + list(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}"

    run(f"{bin_dir}/initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {folder} -h 127.0.0.1 -c fsync=off"
    run(f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l", f"{folder}/log", "-w", "start")
    try:
        run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
        yield Postgres("127.0.0.1", port)
    finally:
        run(f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
