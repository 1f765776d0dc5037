"""A throw-away PostgreSQL server on loopback for the shared-backend tier: Debian's postgresql-15 binaries, a data
directory in a fresh temp dir, started and stopped by PID, the roles and database of scripts/state-db/create.sql.

PostgreSQL refuses to run as root, so under root the server runs as Debian's `postgres` user (the package creates
it) and its temp dir is handed to that user. Passwords are random per run and never printed.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra.paths import PROJECT_DIR

CREATE_SQL = PROJECT_DIR / "scripts" / "state-db" / "create.sql"
INSTALL_HINT = "install Debian's postgresql-15 (scripts/install-system-packages.sh does)"
READY_TIMEOUT_S = 60


def find_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def missing_postgres() -> str | None:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return f"no PostgreSQL server in /usr/lib/postgresql/*/bin: {INSTALL_HINT}"
    if shutil.which("psql") is None:
        return f"psql is missing: {INSTALL_HINT}"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    superuser_password: str = field(repr=False)
    state_password: str = field(repr=False)
    preview_password: str = field(repr=False)
    process: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def run_as(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def backend_url(self, role: str) -> str:
        """The URL as a team sets it: no password inside (that goes in PGPASSWORD)."""
        return f"postgres://{role}@127.0.0.1:{self.port}/eaf_state?sslmode=disable"

    def password(self, role: str) -> str:
        return {"eaf_state": self.state_password, "eaf_preview": self.preview_password}[role]

    def init(self) -> None:
        pwfile = self.root / "superuser-password"
        pwfile.write_text(self.superuser_password + "\n", encoding="utf-8")
        if self.run_as:
            shutil.chown(pwfile, self.run_as)
        subprocess.run([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "-E", "UTF8",
                        "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-instructions"],
                       user=self.run_as, cwd=self.root, check=True, capture_output=True, text=True)
        pwfile.unlink()

    def start(self) -> None:
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - the server writes to it until stopped
        self.process = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root)], user=self.run_as, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited {self.process.returncode}: {self.log_tail()}")
            ready = subprocess.run([str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                                   check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"postgres not ready after {READY_TIMEOUT_S} s: {self.log_tail()}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): transactions end, the server checkpoints and exits, as a service restart does."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def psql(self, *args: str, database: str = "postgres", env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "PGPASSWORD": self.superuser_password, **(env or {})}
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "postgres", "-d", database, *args], env=full_env, capture_output=True, text=True,
                              check=False)

    def query(self, sql: str, database: str = "eaf_state") -> list[str]:
        done = self.psql("-A", "-t", "-c", sql, database=database)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr}")
        return [line for line in done.stdout.splitlines() if line]

    def create_state_database(self) -> subprocess.CompletedProcess[str]:
        """scripts/state-db/create.sql, as the README tells a team to run it."""
        return self.psql("-f", str(CREATE_SQL), env={"EAF_STATE_PASSWORD": self.state_password,
                                                      "EAF_PREVIEW_PASSWORD": self.preview_password})


def start_server() -> PostgresServer:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(missing_postgres())
    root = Path(tempfile.mkdtemp(prefix="eaf-bk-pg-"))  # not under pytest's 0700 tmp: the postgres user enters it
    server = PostgresServer(bin_dir, root, _free_port(), secrets.token_urlsafe(18), secrets.token_urlsafe(18),
                            secrets.token_urlsafe(18))
    if server.run_as:
        shutil.chown(root, server.run_as)
    server.init()
    server.start()
    return server


def remove_server(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
