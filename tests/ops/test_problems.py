"""The problems view (``/api/v1/ops/problems``) on the embedded default's in-process tasks:
each kind of stuck work is listed with its reason and is gone once its replay succeeded; a
replay writes an audit entry, a second replay of the same thing is a 409; admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms import tasks
from oms.audit.models import AuditEntry
from oms.auth.enums import UserRole
from oms.db import transaction, utcnow
from oms.exports import service as exports
from oms.exports.enums import ExportStatus
from oms.exports.models import ExportJob
from oms.extensions import db
from oms.notifications.models import Notification
from oms.ops.models import DeadLetter
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.outbox.models import OutboxMessage
from tests.factories import make_order, make_product, make_user
from tests.outbox import transaction_without_dispatch

BASE = "/api/v1/ops/problems"
LONG_AGO = timedelta(hours=2)


@pytest.fixture
def admin(app_ctx, tokens):
    return tokens.headers(make_user(UserRole.ADMIN))


def _problems(client, admin, kind: str) -> list[dict]:
    response = client.get(BASE, query_string={"kind": kind}, headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["counts"][kind] == len(body["items"])
    return body["items"]


def _replay(client, admin, kind: str, problem_id: str) -> dict:
    response = client.post(f"{BASE}/{kind}/{problem_id}/replay", headers=admin)
    assert response.status_code == 202, response.get_json()
    db.session.expire_all()
    return response.get_json()


def _set(model, row_id, **values) -> None:
    with transaction() as session:
        session.execute(sa.update(model).where(model.id == row_id).values(**values))
    db.session.expire_all()


def _pending_order():
    return make_order(make_user(), [(make_product(stock=5), 1)], status=OrderStatus.PENDING)


def test_an_order_pending_too_long_is_listed_and_its_reservation_replayed(client, admin):
    order = _pending_order()
    assert _problems(client, admin, "pending_order") == []  # pending, but not for long
    _set(Order, order.id, created_at=utcnow() - LONG_AGO)
    (problem,) = _problems(client, admin, "pending_order")
    assert problem["id"] == str(order.id)
    assert problem["reason"].startswith("Pending for 120 min")
    assert problem["details"] == {"number": order.number}
    replayed = _replay(client, admin, "pending_order", str(order.id))
    assert replayed == {"kind": "pending_order", "id": str(order.id), "action": replayed["action"]}
    assert db.session.get(Order, order.id).status == OrderStatus.PLACED
    assert _problems(client, admin, "pending_order") == []


def test_an_unsent_outbox_row_is_listed_and_handed_over(client, admin):
    order = make_order(make_user(), [(make_product(stock=5), 1)], status=OrderStatus.PENDING)
    with transaction_without_dispatch():
        from oms.outbox import service as outbox

        outbox.enqueue(tasks.RESERVE_ORDER, order_id=str(order.id))
    (message,) = db.session.scalars(sa.select(OutboxMessage)).all()
    _set(
        OutboxMessage,
        message.id,
        created_at=utcnow() - LONG_AGO,
        attempts=1,
        last_error="OperationalError: broker down",
    )
    (problem,) = _problems(client, admin, "outbox_message")
    assert problem["id"] == str(message.id)
    assert "inventory.reserve_order" in problem["reason"]
    assert "broker down" in problem["reason"]
    _replay(client, admin, "outbox_message", str(message.id))
    assert db.session.get(OutboxMessage, message.id).sent_at is not None
    assert db.session.get(Order, order.id).status == OrderStatus.PLACED
    assert _problems(client, admin, "outbox_message") == []


def test_a_notification_that_failed_is_listed_and_sent_once(client, admin):
    order = make_order(make_user(), [(make_product(stock=5), 1)])
    (note,) = db.session.scalars(sa.select(Notification)).all()
    assert _problems(client, admin, "notification") == []  # sent
    _set(
        Notification,
        note.id,
        sent_at=None,
        attempts=0,
        last_error="SMTPServerDisconnected: gone",
    )
    (problem,) = _problems(client, admin, "notification")
    assert problem["id"] == str(note.id)
    assert "SMTPServerDisconnected" in problem["reason"]
    _replay(client, admin, "notification", str(note.id))
    sent = db.session.get(Notification, note.id)
    assert sent.sent_at is not None
    assert sent.attempts == 1
    assert _problems(client, admin, "notification") == []
    assert order.id == sent.order_id


def test_a_failed_export_is_listed_and_run_again(client, admin, app_ctx):
    user = make_user(UserRole.ADMIN)
    job = exports.create(actor=user, filters={})
    _set(
        ExportJob,
        job.id,
        status=ExportStatus.FAILED,
        error="disk full",
        finished_at=utcnow() - LONG_AGO,
    )
    (problem,) = _problems(client, admin, "export")
    assert problem["id"] == str(job.id)
    assert problem["reason"] == "Failed: disk full"
    _replay(client, admin, "export", str(job.id))
    assert db.session.get(ExportJob, job.id).status == ExportStatus.FINISHED
    assert _problems(client, admin, "export") == []


def test_an_export_whose_run_went_silent_is_listed_and_run_again(client, admin):
    job = exports.create(actor=make_user(UserRole.ADMIN), filters={})
    _set(
        ExportJob,
        job.id,
        status=ExportStatus.RUNNING,
        attempts=1,
        heartbeat_at=utcnow() - LONG_AGO,
    )
    (problem,) = _problems(client, admin, "export")
    assert problem["reason"] == "Running, but its worker stopped reporting progress."
    assert problem["details"] == {"status": "running", "attempts": 1}
    _replay(client, admin, "export", str(job.id))
    rerun = db.session.get(ExportJob, job.id)
    assert (rerun.status, rerun.attempts) == (ExportStatus.FINISHED, 2)
    assert _problems(client, admin, "export") == []


def test_a_dead_letter_is_listed_and_its_task_sent_again(client, admin):
    order = _pending_order()
    with transaction() as session:
        letter = DeadLetter(
            task=tasks.RESERVE_ORDER,
            args=[str(order.id)],
            kwargs={},
            error="OperationalError: the database went away",
            traceback="Traceback ...",
            worker="w1@host",
            failed_at=utcnow(),
        )
        session.add(letter)
    (problem,) = _problems(client, admin, "dead_letter")
    assert problem["id"] == str(letter.id)
    assert problem["reason"] == (
        "Task inventory.reserve_order failed for good: OperationalError: the database went away"
    )
    _replay(client, admin, "dead_letter", str(letter.id))
    assert db.session.get(DeadLetter, letter.id).replayed_at is not None
    assert db.session.get(Order, order.id).status == OrderStatus.PLACED  # positional arg bound
    assert _problems(client, admin, "dead_letter") == []


def test_a_task_failing_in_process_is_a_dead_letter_too(client, admin):
    from oms.outbox import service as outbox

    with transaction():
        outbox.enqueue(tasks.RESERVE_ORDER, order_id="not-an-order-id")
    (problem,) = _problems(client, admin, "dead_letter")
    assert problem["reason"].startswith("Task inventory.reserve_order failed for good: ValueError")
    letter = db.session.get(DeadLetter, int(problem["id"]))
    assert letter.kwargs == {"order_id": "not-an-order-id"}


def test_a_replay_is_audited_and_a_second_one_refused(client, admin):
    order = _pending_order()
    _set(Order, order.id, created_at=utcnow() - LONG_AGO)
    _replay(client, admin, "pending_order", str(order.id))
    (entry,) = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "problem.replayed")
    ).all()
    assert entry.entity_type == "problem"
    assert entry.entity_id == order.id
    assert entry.before["kind"] == "pending_order"
    assert entry.actor_id is not None
    again = client.post(f"{BASE}/pending_order/{order.id}/replay", headers=admin)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "not_stuck"


def test_unknown_kinds_and_ids_are_404(client, admin):
    assert client.post(f"{BASE}/nothing/1/replay", headers=admin).status_code == 404
    assert client.post(f"{BASE}/outbox_message/abc/replay", headers=admin).status_code == 404
    assert client.post(f"{BASE}/outbox_message/99999/replay", headers=admin).status_code == 404
    missing = client.post(f"{BASE}/pending_order/{'0' * 32}/replay", headers=admin)
    assert missing.status_code == 404
    assert client.get(BASE, query_string={"kind": "nothing"}, headers=admin).status_code == 422


def test_the_list_is_bounded_and_counts_each_kind(client, admin):
    orders = [_pending_order() for _ in range(3)]
    for order in orders:
        _set(Order, order.id, created_at=utcnow() - LONG_AGO)
    body = client.get(BASE, query_string={"limit": 2}, headers=admin).get_json()
    assert len(body["items"]) == 2
    assert body["counts"]["pending_order"] == 3
    assert body["has_more"] is True


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.CUSTOMER])
def test_only_admins(client, app_ctx, tokens, role):
    headers = tokens.headers(make_user(role))
    assert client.get(BASE, headers=headers).status_code == 403
    assert client.post(f"{BASE}/dead_letter/1/replay", headers=headers).status_code == 403
    assert client.get(BASE).status_code == 401


def test_dead_letters_replayed_long_ago_are_purged(app_ctx):
    from workers.maintenance import purge_expired

    with transaction() as session:
        for replayed in (None, utcnow() - timedelta(days=31), utcnow() - timedelta(days=1)):
            session.add(
                DeadLetter(
                    task=tasks.RESERVE_ORDER, args=[], kwargs={}, error="E: x", replayed_at=replayed
                )
            )
    assert purge_expired.apply().get()["dead_letters"] == 1
    db.session.expire_all()
    assert len(db.session.scalars(sa.select(DeadLetter)).all()) == 2
