"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temporary cluster.

``postgres_server`` starts one cluster for the session (about 2 s), listening on a unix socket
only, with fsync off; ``postgres_url`` gives each test a fresh, empty database on it, and ``url``
runs a test once on a new SQLite gradebook and once on such a database. Where no PostgreSQL is
installed the tests that use them are skipped, naming the package to install.
PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL = "apt-get install postgresql (Debian's server: initdb and pg_ctl)"
PORT = 5432  # names the socket file only: the server listens on no TCP port
SUPERUSER = "grader"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PostgresServer:
    socket_dir: Path

    def url(self, database: str) -> str:
        """A URL as a user would type it (no driver: the gradebook picks psycopg)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={PORT}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"test_{secrets.token_hex(6)}"
        with psycopg.connect(host=str(self.socket_dir), port=PORT, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest version."""
    initdb = shutil.which("initdb")
    if initdb is not None and (Path(os.path.realpath(initdb)).parent / "pg_ctl").exists():
        return Path(os.path.realpath(initdb)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
    return Path(versions[-1]).parent if versions else None


def _as_owner(user: pwd.struct_passwd | None) -> list[str]:
    """The prefix that runs a command as the cluster's owner (nothing if that is us)."""
    return [] if user is None else ["runuser", "-u", user.pw_name, "--"]


def _owner() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and there is no postgres user to run it "
                    f"as: {INSTALL}")


def _run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}{tail}",
                    pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for this test session, stopped and deleted at its end."""
    pytest.importorskip("psycopg", reason="no psycopg: pip install 'psycopg[binary]'")
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip(f"no PostgreSQL server binaries: {INSTALL}")
    owner = _owner()
    # Not under pytest's tmp_path: its folders are 0700 root's, closed to the postgres user.
    base = Path(tempfile.mkdtemp(prefix="grader-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, log = base / "data", base / "server.log"
    sudo = _as_owner(owner)
    _run([*sudo, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
          "--encoding=UTF8", "--no-sync"])
    options = (f"-k {base} -p {PORT} -c listen_addresses='' -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off")
    _run([*sudo, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
          "-w", "-t", str(START_TIMEOUT_S), "start"], log)
    try:
        yield PostgresServer(base)
    finally:
        subprocess.run([*sudo, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=START_TIMEOUT_S)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A new, empty gradebook on each database the grader supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grades.db'}"
    return request.getfixturevalue("postgres_url")
