"""The task registry (oms.tasks) is the one list of task names: every task a worker knows is
in it, routed to its queue, and named ``<domain>.<verb>_<noun>``."""

from __future__ import annotations

import re

from oms import tasks


def test_every_task_is_registered_and_routed(app):
    celery = app.extensions["celery"]
    known = {name for name in celery.tasks if not name.startswith("celery.")}
    assert known == set(tasks.QUEUE_OF)
    for name, queue in tasks.QUEUE_OF.items():
        assert celery.amqp.router.route({}, name)["queue"].name == queue
        assert queue in tasks.QUEUES


def test_task_names_follow_domain_verb_noun():
    for name in tasks.QUEUE_OF:
        assert re.fullmatch(r"[a-z]+\.[a-z]+_[a-z_]+", name), name


def test_beat_runs_only_registered_tasks_at_the_configured_intervals(monkeypatch):
    from oms.config import load_config

    monkeypatch.setenv("OMS_OUTBOX_RELAY_SECONDS", "2.5")
    schedule = load_config()["CELERY"]["beat_schedule"]
    assert {entry["task"] for entry in schedule.values()} <= set(tasks.QUEUE_OF)
    assert schedule["relay-outbox"]["schedule"] == 2.5
