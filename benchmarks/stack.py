"""The system as production runs it, for the benchmarks: a database of the benchmark's own,
the Procfile's web, socket and worker commands (gunicorn, celery) as child processes, a Redis
db of its own, and figures about the machine they ran on.

The benchmarks start the Procfile's own command lines (not a copy of them), so a change to
how production runs the web tier is what the next ``make bench`` measures.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "OMS_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_bench"
)
# db 13: the test suite takes 15 and 14 (and counts down from 13 only under xdist, which a
# benchmark run does not share the machine with).
REDIS_URL = os.environ.get("OMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
LIMIT = "100000000 per minute"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    server = ""
    with contextlib.suppress(Exception), sa.create_engine(DATABASE_URL).connect() as conn:
        server = ", PostgreSQL " + conn.execute(sa.text("SHOW server_version")).scalar()
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}{server}"


def env(**extra: str) -> dict:
    """The environment of the stack's processes: production settings, limits out of the way
    (a benchmark of one address and a few hundred users is not what the limits are for)."""
    from oms.limits import SETTINGS as RATELIMIT_SETTINGS

    values = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "OMS_ENV": "production",
        "OMS_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "OMS_JWT_SECRET_KEY": "bench-jwt-secret-0123456789abcdef0123456789",
        "OMS_METRICS_TOKEN": "bench-metrics-token",
        # production requires both; no email or webhook of the benchmarks is read
        "OMS_WEBHOOKS_ENCRYPTION_KEYS": "YmVuY2gtd2ViaG9vay1rZXktMDEyMzQ1Njc4OWFiY2Q=",
        "OMS_PUBLIC_URL": "http://127.0.0.1",
        "OMS_DATABASE_URL": DATABASE_URL,
        "OMS_REDIS_URL": REDIS_URL,
        "OMS_LOG_LEVEL": "WARNING",
        "OMS_MAIL_DIR": os.path.join(tempfile.gettempdir(), "oms-bench-mail"),
        "OMS_EXPORT_DIR": os.path.join(tempfile.gettempdir(), "oms-bench-exports"),
        "OMS_INSTANCE_DIR": os.path.join(tempfile.gettempdir(), "oms-bench-instance"),
        "PYTHONUNBUFFERED": "1",
        **{name: LIMIT for name in RATELIMIT_SETTINGS},
    }
    values.update(extra)
    return values


def procfile_commands() -> dict[str, str]:
    """The Procfile's command lines by process name."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if command:
            commands[key.strip()] = command.strip()
    return commands


def procfile_command(name: str) -> str:
    """The Procfile's command line for process ``name`` (``web``, ``socket``, ``worker``)."""
    try:
        return procfile_commands()[name]
    except KeyError:
        raise KeyError(f"no {name!r} process in the Procfile") from None


class Process:
    """A Procfile process in its own process group, its output in a log file."""

    def __init__(self, name: str, environ: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            ["bash", "-c", f"exec {procfile_command(name)}"],
            env=environ,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen.poll() is None

    def stop(self) -> None:
        """SIGTERM the group, SIGKILL after 30 s."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not within {timeout:.0f} s")


class Stack:
    """Web (gunicorn), socket (gunicorn, gevent; when the Procfile has one) and worker (celery)
    processes as the Procfile starts them."""

    def __init__(self, log_dir: Path, *, worker: bool = True, **extra_env: str):
        self.port, self.socket_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket_url = f"http://127.0.0.1:{self.socket_port}"
        self.environ = env(
            PORT=str(self.port),
            HOST="127.0.0.1",
            OMS_PUBLIC_URL=self.url,
            OMS_SOCKET_PORT=str(self.socket_port),
            OMS_SOCKET_URL=self.socket_url,
            OMS_SOCKET_ALLOWED_ORIGINS=self.url,
            **extra_env,
        )
        self.log_dir = log_dir
        self.with_worker = worker
        self.processes: list[Process] = []

    def __enter__(self) -> Stack:
        redis.Redis.from_url(REDIS_URL).flushdb()
        web = Process("web", self.environ, self.log_dir)
        self.processes.append(web)
        wait_for(lambda: self._answers(self.url) or not web.alive(), 60, "the web process")
        if not web.alive():
            raise RuntimeError(web.log())
        if "socket" in procfile_commands():
            sockets = Process("socket", self.environ, self.log_dir)
            self.processes.append(sockets)
            wait_for(
                lambda: self._answers(self.socket_url) or not sockets.alive(),
                60,
                "the socket process",
            )
            if not sockets.alive():
                raise RuntimeError(sockets.log())
        if self.with_worker:
            worker = Process("worker", self.environ, self.log_dir)
            self.processes.append(worker)
            wait_for(lambda: "ready." in worker.log() or not worker.alive(), 60, "the worker")
            if not worker.alive():
                raise RuntimeError(worker.log())
        return self

    @staticmethod
    def _answers(url: str) -> bool:
        """``/readyz`` answers 200: the app is loaded (gunicorn binds before it loads the
        app, so an open port is not enough) and its database and Redis answer."""
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:  # noqa: S310 (http on loopback)
                return response.status == 200
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.stop()


def production_app(overrides: dict | None = None, **extra_env: str):
    """The app in this process, configured as the stack's processes are (same secrets, same
    database), for issuing tokens and loading data with the app's own code."""
    from oms import create_app

    saved = dict(os.environ)
    os.environ.update(env(**extra_env))
    try:
        return create_app(overrides)
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ---- the database ----


@functools.cache
def engine() -> sa.Engine:
    """The harness's own engine on the benchmark's database (one pool for the whole run)."""
    return sa.create_engine(DATABASE_URL, pool_size=4)


def fresh_database() -> None:
    """Drop and create the benchmark's database and migrate it with ``flask db upgrade``."""
    url = sa.make_url(DATABASE_URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        env=env(OMS_ENV="development"),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def psql_dsn() -> str:
    """The database URL as libpq (psql, pgbench) takes it."""
    return sa.make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(False)


# ---- pgbench, the raw baseline ----

PGBENCH_TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")


def pgbench(script: str, *, clients: int, seconds: int, variables: dict[str, int]) -> dict:
    """Run one of ``benchmarks/pgbench/*.sql``; its TPS and latency percentiles (ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "pgbench",
            "--no-vacuum",
            f"--client={clients}",
            f"--jobs={min(clients, os.cpu_count() or 1)}",
            f"--time={seconds}",
            "--protocol=prepared",
            "--log",
            f"--log-prefix={tmp}/tx",
            f"--file={ROOT / 'benchmarks' / 'pgbench' / script}",
            *(f"--define={name}={value}" for name, value in variables.items()),
            psql_dsn(),
        ]
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pgbench {script} failed:\n{result.stdout}\n{result.stderr}")
        match = PGBENCH_TPS.search(result.stdout)
        if not match:
            raise RuntimeError(f"no tps in pgbench's output:\n{result.stdout}")
        # per transaction: client, count, latency in us (or "failed"/"skipped"), ...
        fields = [
            line.split()[2]
            for path in Path(tmp).glob("tx*")
            for line in path.read_text().splitlines()
            if line.strip()
        ]
    latencies = [int(f) / 1000 for f in fields if f.isdigit()]
    return {
        "rate": float(match.group(1)),
        "failed": len(fields) - len(latencies),
        **percentiles(latencies),
    }


def percentiles(values: list[float]) -> dict:
    """p50 and p99 of sorted latencies in ms (nan without any)."""
    if not values:
        return {"p50": float("nan"), "p99": float("nan")}
    values = sorted(values)
    return {
        "p50": statistics.median(values),
        "p99": values[min(len(values) - 1, int(len(values) * 0.99))],
    }
