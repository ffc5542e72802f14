"""What both gunicorn configurations (``deploy/gunicorn_api.py``, ``deploy/gunicorn_socket.py``)
share: their log lines in the app's format, and Prometheus's multiprocess mode.

Each gunicorn worker is a process of its own; without multiprocess mode each kept its own
counters and a scrape read whichever worker answered it. In multiprocess mode every worker
writes its metrics to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds them up
(``oms.metrics``), dead workers' counts included. The variable must be set before
prometheus_client is imported: the configuration module calls :func:`metrics_dir` first
thing, in the master, before any worker is forked and imports the app.

Only the standard library is imported here (and oms.logging, which keeps to it too).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from oms.logging import gunicorn_logconfig

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_made: list[str] = []  # the temporary folder this master made, if it made one


def metrics_dir(kind: str) -> str:
    """The folder this gunicorn's workers write their metrics to: ``PROMETHEUS_MULTIPROC_DIR``
    when set (one per gunicorn: two would add up each other's requests), else a new temporary
    one, removed when gunicorn exits. Set in the environment the workers inherit."""
    given = os.environ.get(MULTIPROC_DIR)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return given
    made = tempfile.mkdtemp(prefix=f"oms-metrics-{kind}-")
    os.environ[MULTIPROC_DIR] = made
    _made.append(made)
    return made


def logconfig_dict() -> dict:
    """gunicorn's own lines (master and workers) in ``OMS_LOG_FORMAT``."""
    return gunicorn_logconfig(os.environ.get("OMS_LOG_FORMAT"))


def on_starting(server) -> None:
    """The master, before the first fork: counts of an earlier run are not this run's."""
    for stale in Path(os.environ[MULTIPROC_DIR]).glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker is gone: its live gauges go (its counters stay, they were counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the temporary metrics folder this gunicorn made (never one it was given)."""
    for made in _made:
        shutil.rmtree(made, ignore_errors=True)
