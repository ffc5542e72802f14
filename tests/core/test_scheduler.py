"""The embedded default's beat thread (oms/scheduler.py): started by a process's first request
only (the Flask reloader's watching parent and CLI commands build the app and serve nothing),
once, and never where a broker has a beat of its own."""

from __future__ import annotations

import threading

import pytest

from oms import create_app, scheduler
from tests.conftest import make_test_config


def _beats() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "Beat" and t.is_alive()]


@pytest.mark.usefixtures("_database")
def test_the_first_request_starts_one_beat_thread_and_later_ones_none(app):
    assert _beats() == []
    embedded = create_app(make_test_config(OMS_EMBEDDED_SCHEDULER=True))
    assert _beats() == []  # building the app (the reloader's parent, a CLI command): none
    try:
        for _ in range(3):
            assert embedded.test_client().get("/healthz").status_code == 200
        beats = _beats()
        assert len(beats) == 1 and beats[0].daemon
    finally:
        scheduler.stop()
    assert _beats() == []


@pytest.mark.usefixtures("_database")
def test_a_deployment_with_a_broker_runs_no_beat_thread(app):
    with_broker = create_app(
        make_test_config(
            OMS_EMBEDDED_SCHEDULER=True,
            CELERY={"broker_url": "memory://", "task_always_eager": False},
        )
    )
    assert not scheduler.wanted(with_broker)
    with_broker.test_client().get("/healthz")
    assert _beats() == []
