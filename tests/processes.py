"""Real processes for integration tests: Celery workers, beat, a web server, a private Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import redis

from oms.limits import SETTINGS as RATELIMIT_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(*, database_url: str, redis_url: str, broker_url: str, **extra: str) -> dict:
    """Environment for a worker or web process of the test stack."""
    env = {
        **os.environ,
        "OMS_ENV": "testing",
        "OMS_DATABASE_URL": database_url,
        "OMS_REDIS_URL": redis_url,
        "OMS_BROKER_URL": broker_url,
        "OMS_BCRYPT_ROUNDS": "4",
        **{name: "1000000 per minute" for name in RATELIMIT_SETTINGS},
        "OMS_LOG_LEVEL": "WARNING",
        "OMS_SOCKET_RECHECK_SECONDS": "1",
        "OMS_MAIL_DIR": os.path.join(tempfile.gettempdir(), f"oms-test-mail-{os.getpid()}"),
        "OMS_EXPORT_DIR": os.path.join(tempfile.gettempdir(), f"oms-test-exports-{os.getpid()}"),
        "PYTHONUNBUFFERED": "1",
        # test receivers listen on 127.0.0.1
        "OMS_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    env.update(extra)
    return env


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, args: list, env: dict, log_path: Path, *, cwd: Path = ROOT):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            [str(arg) for arg in args],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole group: the worker dies mid-task, as in a crash."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def start_worker(env: dict, log_path: Path, *, concurrency: int = 2, name: str = "w1") -> Process:
    process = Process(
        [
            str(BIN / "celery"),
            "-A",
            "wsgi:celery",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        log_path,
    )
    wait_for(lambda: "ready." in process.log() or process.popen.poll() is not None, 60)
    assert process.popen.poll() is None, process.log()
    return process


def start_web(env: dict, log_path: Path, port: int) -> Process:
    process = Process(
        [str(BIN / "flask"), "--app", "wsgi", "run", "--port", str(port), "--with-threads"],
        env,
        log_path,
    )

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return process.popen.poll() is not None

    wait_for(up, 30)
    assert process.popen.poll() is None, process.log()
    return process


def ready(port: int) -> bool:
    """Whether the process on ``port`` answers ``/readyz`` with 200 (its app is loaded, its
    database and Redis answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_procfile(name: str, env: dict, log_path: Path, port: int) -> Process:
    """The Procfile's own command line for ``name`` (``web``, ``socket``) on ``port``, as
    ``make stack`` runs it; returns once its ``/readyz`` answers."""
    from benchmarks.stack import procfile_command

    port_variable = "OMS_SOCKET_PORT" if name == "socket" else "PORT"
    env = {**env, "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", "HOST": "127.0.0.1"}
    process = Process(
        ["bash", "-c", f"exec {procfile_command(name)}"],
        {**env, port_variable: str(port)},
        log_path,
    )

    wait_for(lambda: ready(port) or process.popen.poll() is not None, 60)
    assert process.popen.poll() is None, process.log()
    return process


class PrivateRedis:
    """A redis-server of the test's own, which the test may stop and start (a broker outage)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.alive, 10)

    def alive(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        with contextlib.suppress(redis.RedisError):
            redis.Redis(port=self.port).shutdown(nosave=True)
        wait_for(lambda: not self.alive(), 10)


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def start_beat(env: dict, log_path: Path) -> Process:
    process = Process(
        [
            str(BIN / "celery"),
            "-A",
            "wsgi:celery",
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(log_path.with_suffix(".schedule")),
        ],
        env,
        log_path,
    )
    wait_for(lambda: "beat: Starting" in process.log() or process.popen.poll() is not None, 30)
    assert process.popen.poll() is None, process.log()
    return process


class TcpRelay:
    """Forwards a local port to ``upstream``; ``cut()`` drops every connection and refuses new
    ones until ``restore()``."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
            listener, self._listener = self._listener, None
        for sock in [s for s in (listener, *sockets) if s is not None]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Supervised:
    """A worker process restarted whenever it exits, as compose's ``restart: unless-stopped``
    does: a Celery worker exits ("Unrecoverable error", a kombu bug) when Redis restarts
    while it holds unacknowledged messages."""

    def __init__(self, env: dict, folder: Path, **options):
        self.env, self.folder, self.options, self.restarts = env, folder, options, 0
        self.process = start_worker(env, folder / "worker-0.log", **options)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if self.process.popen.poll() is not None:
                self.restarts += 1
                log = self.folder / f"worker-{self.restarts}.log"
                self.process = start_worker(self.env, log, **self.options)

    def log(self) -> str:
        """The log of the worker running now."""
        return self.process.log()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)
        self.process.stop()
