"""Fixtures of the journal tests: a real PostgreSQL server for the session, and a journal URL
parametrised over both backends.

The server comes from the ``pgserver`` wheel (PostgreSQL binaries in a pip package): ``initdb``
into a fresh temporary directory, then ``postgres`` listening on 127.0.0.1 on a free port, no
Unix socket. PostgreSQL refuses to run as root, so when the tests run as root the server runs as
``nobody`` (the data directory is handed to that user). It is started once per session, waited
for (bounded), and stopped at the end. If it cannot be started, the PostgreSQL tests fail.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PgServer:
    """A running server: ``url(dbname)`` gives a connection URL."""

    host: str
    port: int
    startup_s: float

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"


def _pg_bin() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        pytest.fail(
            "PostgreSQL tests need the `pgserver` wheel (PostgreSQL binaries): "
            "pip install 'pgserver>=0.1.4' 'psycopg[binary]>=3.2'"
        )
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        pytest.fail(f"the pgserver wheel has no postgres binary in {bindir}")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _reachable_bindir(bindir: Path, root: Path, run_as: dict[str, Any]) -> Path:
    """``bindir``, or a copy of the installation in ``root`` when the server's user cannot run
    it where it is (a virtual environment under a private home directory)."""
    try:
        ok = (
            subprocess.run(
                [str(bindir / "postgres"), "--version"],
                capture_output=True,
                timeout=30,
                check=False,
                **run_as,
            ).returncode
            == 0
        )
    except OSError:
        ok = False
    if ok and not os.environ.get("HEDGEKIT_TEST_PG_COPY"):
        return bindir
    # keep the wheel's layout: the binaries find their libraries at $ORIGIN/../../../pgserver.libs
    install = bindir.parent
    site = install.parent.parent
    top = root / "pg"
    dest = top / install.relative_to(site)
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, dest / part, symlinks=True)
    for libs in site.glob("pgserver.libs"):
        shutil.copytree(libs, top / libs.name, symlinks=True)
    if run_as:
        for path in [top, *top.rglob("*")]:
            os.chown(path, run_as["user"], run_as["group"], follow_symlinks=False)
    return dest / "bin"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session."""
    import psycopg

    t0 = time.monotonic()
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="hedgekit-pg-"))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = pwd.getpwnam("nobody")
        os.chown(root, user.pw_uid, user.pw_gid)
        root.chmod(0o700)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    bindir = _reachable_bindir(bindir, root, run_as)
    data = root / "data"
    init = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=root,
        **run_as,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
    port = _free_port()
    log_path = root / "postgres.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,
            **run_as,
        )
    server = PgServer("127.0.0.1", port, 0.0)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"postgres exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                psycopg.connect(server.url(), connect_timeout=2).close()
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"postgres did not accept connections within {START_TIMEOUT_S} s: {exc}"
                        f"\n{log_path.read_text()}"
                    )
                time.sleep(0.05)
        server = PgServer("127.0.0.1", port, time.monotonic() - t0)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A URL of a fresh, empty database on the session server (dropped afterwards)."""
    import psycopg

    name = f"j_{uuid.uuid4().hex}"
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
def journal_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A journal URL for ``backend``: a SQLite file in ``tmp_path`` or a fresh PostgreSQL
    database."""
    if backend == "sqlite":
        return str(tmp_path / "journal.db")
    return str(request.getfixturevalue("pg_url"))
