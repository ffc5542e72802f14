"""The gunicorn processes (web, socket) as the Procfile starts them: a worker that dies of a
fatal signal (a segfault in a C extension) writes every thread's Python stack to its log before
it goes, and gunicorn starts a new one; and no process opens gunicorn's control socket, whose
one default path per user would let a command meant for one deployment reach another."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.processes import free_port, ready, stack_env, start_procfile, wait_for

pytestmark = pytest.mark.slow  # web and socket processes


def _workers(master_pid: int) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True
    )
    return [int(pid) for pid in out.stdout.split()]


def _env() -> dict:
    return stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
    )


@pytest.mark.parametrize("kind", ["web", "socket"])
def test_a_worker_killed_by_sigsegv_leaves_its_python_stacks_in_the_log(app_ctx, tmp_path, kind):
    port = free_port()
    process = start_procfile(kind, _env(), tmp_path / f"{kind}.log", port)
    try:
        (worker,) = _workers(process.popen.pid)
        os.kill(worker, signal.SIGSEGV)
        assert wait_for(lambda: "Segmentation fault" in process.log(), 30), process.log()
        log = process.log()
        assert "Fatal Python error: Segmentation fault" in log
        assert "most recent call first" in log  # a Python stack, not only the signal's name
        # gunicorn replaces the worker: the process answers again
        assert wait_for(lambda: _workers(process.popen.pid) not in ([], [worker]), 30)
        assert wait_for(lambda: ready(port), 60), process.log()
    finally:
        process.stop()


def test_no_process_opens_the_per_user_control_socket(app_ctx, tmp_path):
    processes = [
        start_procfile(kind, _env(), tmp_path / f"{kind}{n}.log", free_port())
        for kind in ("web", "socket")
        for n in range(2)
    ]
    try:
        for process in processes:
            assert "Booting worker" in process.log()
            assert "Control socket" not in process.log(), process.log()
    finally:
        for process in processes:
            process.stop()
