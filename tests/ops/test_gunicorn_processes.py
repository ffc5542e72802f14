"""The gunicorn processes (web, socket) as the Procfile starts them: a worker that dies of a
fatal signal (a segfault in a C extension) writes every thread's Python stack to its log before
it goes, and gunicorn starts a new one; and no process opens gunicorn's control socket, whose
one default path per user would let a command meant for one deployment reach another."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request

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


def _scrape(port: int) -> dict[str, list]:
    """The samples of one scrape of ``/metrics``, by metric family."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _healthz_count(samples: dict[str, list]) -> float:
    return sum(
        s.value
        for s in samples["oms_http_requests"]
        if s.name == "oms_http_requests_total" and s.labels["route"] == "/healthz"
    )


def test_request_counts_add_up_over_every_web_process_across_scrapes(app_ctx, tmp_path):
    """Each worker serves 4 requests and is replaced (gunicorn's max_requests), so 24 requests
    are served by at least 6 processes, most of them gone by the time of the scrapes: every
    scrape, whichever worker answers it, reads all 24 (before: the answering worker's own)."""
    port = free_port()
    env = {**_env(), "OMS_WEB_WORKERS": "2", "GUNICORN_CMD_ARGS": "--max-requests 4"}
    process = start_procfile("web", env, tmp_path / "web.log", port)
    try:
        for _ in range(24):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
                assert answer.status == 200
        scrapes = [_scrape(port) for _ in range(8)]
        assert [_healthz_count(samples) for samples in scrapes] == [24] * 8, process.log()
        # the process metrics of the master (the Procfile's command execs gunicorn) and of the
        # workers serving now, by pid
        pids = {s.labels["pid"] for s in scrapes[-1]["process_resident_memory_bytes"]}
        assert str(process.popen.pid) in pids and len(pids) >= 2, pids
    finally:
        process.stop()
