"""A private PostgreSQL server for one test run.

Started in a temporary directory on a free loopback port and stopped at the end of the run, so
the tests use a real PostgreSQL without touching any server the machine may already have.
PostgreSQL refuses to run as root; when the tests run as root the server runs as the ``postgres``
system user (created by Debian's ``postgresql`` package, which the test command installs when it
is missing).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The machine cannot run a private PostgreSQL server (binaries or user missing)."""


def find_bindir() -> Path:
    """Directory holding initdb/pg_ctl: PG_BINDIR, Debian's versioned dirs, or PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries found (initdb, pg_ctl); install Debian's 'postgresql' "
        "package "
        "or set DIALER_TEST_POSTGRES_URL"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    """A running private server; ``url`` is a SQLAlchemy URL of its ``postgres`` database."""

    bindir: Path
    datadir: Path
    port: int
    user: str
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def _cmd(self, args: list[str]) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *args]
        return args

    def stop(self) -> None:
        subprocess.run(
            self._cmd(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start() -> PrivatePostgres:
    """Initialise and start a throw-away server; raise PostgresUnavailable saying why if not."""
    bindir = find_bindir()
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable(
                "running as root and no 'postgres' user to run the server"
            ) from exc
        run_as = "postgres"
    base = Path(tempfile.mkdtemp(prefix="dialer-pg-"))
    datadir = base / "data"
    if run_as:
        shutil.chown(base, user=run_as)
        os.chmod(base, 0o700)
    port = free_port()
    server = PrivatePostgres(bindir, datadir, port, user="dialer_test", run_as=run_as)
    init = subprocess.run(
        server._cmd(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "dialer_test",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()}")
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    st = subprocess.run(
        server._cmd(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                opts,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if st.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"pg_ctl start failed: {st.stderr.strip()} {log[-2000:]}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise PostgresUnavailable("private PostgreSQL did not accept connections within 30 s")
