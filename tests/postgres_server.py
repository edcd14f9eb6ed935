"""A throwaway PostgreSQL cluster for the tests that need a real database server.

One cluster per test session, in a temporary folder, on a free local port, started with initdb
and pg_ctl (no system service). PostgreSQL refuses to run as root, so under root the cluster
belongs to the `postgres` user (Debian's package makes it) and is driven through `runuser`.
Where PostgreSQL or the `postgres` extra's driver is absent, the tests that ask for it skip and
say why. Each test gets its own database, so tests never see each other's studies.

Authentication (pg_hba.conf): `trust` for every role but `PASSWORD_ROLE`, which must give
`PASSWORD` (scram-sha-256): what the wrong-password tests need.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD_ROLE = "hw3tui_pw"
PASSWORD = "s3cret-Pw-42"  # the tests look for it in every output and file: it must never appear


def _initdb() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found)
    # Debian's postgresql package keeps its server programs off PATH
    found_all = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    versions = sorted(found_all, key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster: its URLs, its databases, and stop/start for outage tests."""

    folder: Path
    port: int
    bin_dir: Path
    as_user: list[str]

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "pg.log")
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres", *, user: str = "postgres") -> str:
        """A bare `postgresql://` URL (SQLAlchemy 2.1 reads it as psycopg 3)."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute(f'CREATE DATABASE "{name}"')
        self.execute(f'GRANT ALL ON DATABASE "{name}" TO {PASSWORD_ROLE}')
        self.execute(f'ALTER DATABASE "{name}" OWNER TO {PASSWORD_ROLE}')
        return name


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("no PostgreSQL driver: pip install -e '.[postgres]'")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="hw3tui-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("PostgreSQL refuses root and there is no `postgres` user to run it")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    folder.chmod(0o755)
    server = PostgresServer(folder, _free_port(), initdb.parent, as_user)
    try:
        server._pg("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres")
        hba = folder / "data" / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        server.start()
        server.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            server._pg("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's cluster (skips, saying why, where PostgreSQL or its driver is absent)."""
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of the session's cluster, as a `postgresql://` URL (trust)."""
    server = postgres_server
    with contextlib.suppress(subprocess.SubprocessError):
        server.start()  # a test that stopped the server and failed before starting it again
    yield server.url(server.new_database())
