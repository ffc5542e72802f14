"""Queued exports through the API, run in-process (the eager app): the file matches the
database row for row, filters apply, only admins export, the job's lifecycle and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from oms import create_app, events
from oms.auth.enums import UserRole
from oms.exports import service as exports
from oms.exports.models import ExportJob
from oms.exports.query import LINE_COLUMNS, ORDER_COLUMNS
from oms.extensions import db, socketio
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.outbox import service as outbox
from oms.outbox.models import OutboxMessage
from tests.conftest import make_test_config
from tests.exports.helpers import expected_rows, load_orders, parse_csv, run_task
from tests.factories import PASSWORD, insert_order, make_customer, make_product, make_user
from tests.outbox import transaction_without_dispatch

URL = "/api/v1/reports/exports"


def _export(client, admin, body: dict | None = None) -> dict:
    response = client.post(URL, json=body or {}, headers=admin.headers)
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"].endswith(response.get_json()["id"])
    job = client.get(f"{URL}/{response.get_json()['id']}", headers=admin.headers).get_json()
    assert job["status"] == "finished", job
    return job


def _download(client, admin, job: dict) -> bytes:
    response = client.get(job["download_url"], headers=admin.headers)
    assert response.status_code == 200
    return response.data


def test_export_matches_the_database_row_for_row(client, admin, export_dir):
    load_orders(2500)
    job = _export(client, admin)
    assert job["rows_written"] == job["total_rows"] == 2500
    assert job["percent"] == 100 and job["attempts"] == 1 and job["error"] is None
    assert job["file_name"].startswith("orders-") and job["file_name"].endswith(".csv")

    response = client.get(job["download_url"], headers=admin.headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert job["file_name"] in response.headers["Content-Disposition"]
    assert int(response.headers["Content-Length"]) == job["file_size"]
    header, rows = parse_csv(response.data)
    assert tuple(header) == ORDER_COLUMNS
    assert rows == expected_rows()
    # only the finished file is left: no partial file
    assert [p.name for p in export_dir.iterdir()] == [f"{job['id']}.csv"]


def test_per_line_export_has_a_row_per_order_line(client, admin):
    load_orders(1500)
    job = _export(client, admin, {"per_line": True})
    lines = db.session.scalar(sa.text("SELECT count(*) FROM order_items"))
    assert job["rows_written"] == job["total_rows"] == lines == 3000
    header, rows = parse_csv(_download(client, admin, job))
    assert tuple(header) == ORDER_COLUMNS + LINE_COLUMNS
    assert rows == expected_rows(per_line=True)


def test_filters_are_those_of_the_order_listing(client, admin):
    load_orders(300)
    product_id = db.session.scalar(sa.text("SELECT md5('p3')::uuid"))
    customer_id = db.session.scalar(sa.text("SELECT md5('c7')::uuid"))
    cases = [
        ({"status": ["shipped", "pending"]}, lambda o: o.status in ("shipped", "pending")),
        ({"customer_id": str(customer_id)}, lambda o: o.customer_id == customer_id),
        (
            {"product_id": str(product_id)},
            lambda o: any(i.product_id == product_id for i in o.items),
        ),
        (
            {"created_from": "2024-01-01T01:00:00Z", "created_to": "2024-01-01T02:00:00Z"},
            lambda o: (
                datetime(2024, 1, 1, 1, tzinfo=UTC)
                <= o.created_at
                < datetime(2024, 1, 1, 2, tzinfo=UTC)
            ),
        ),
        ({"total_min": "10", "total_max": "20.5"}, lambda o: 10 <= o.total_amount <= 20.5),
        (
            {"payment_collected": True, "status": ["delivered"]},
            lambda o: o.payment_collected and o.status == OrderStatus.DELIVERED,
        ),
        ({"q": "ORD-0000042"}, lambda o: o.number == "ORD-0000042"),
        ({"q": "bulk7"}, lambda o: o.customer.first_name == "Bulk7"),
    ]
    for filters, where in cases:
        job = _export(client, admin, filters)
        _, rows = parse_csv(_download(client, admin, job))
        expected = expected_rows(where=where)
        assert expected, filters  # each case selects something
        assert rows == expected, filters
        if len(expected) <= 200:  # the listing agrees on the same filters
            listed = client.get(
                "/api/v1/orders", query_string={**filters, "limit": 200}, headers=admin.headers
            ).get_json()["items"]
            assert sorted(o["number"] for o in listed) == sorted(r[0] for r in expected), filters


def test_per_line_with_a_product_filter_keeps_every_line_of_matching_orders(client, admin):
    load_orders(60)
    product_id = db.session.scalar(sa.text("SELECT md5('p3')::uuid"))
    job = _export(client, admin, {"product_id": str(product_id), "per_line": True})
    _, rows = parse_csv(_download(client, admin, job))
    expected = expected_rows(
        per_line=True, where=lambda o: any(i.product_id == product_id for i in o.items)
    )
    assert rows == expected
    assert {r[11] for r in rows} != {"Bulk product 3"}  # other products' lines are there too


def test_formula_injection_is_neutralised_and_quoting_survives(client, admin):
    customer = make_customer(
        first_name='=HYPERLINK("http://evil.example")',
        last_name="Smith",
        email="+evil@example.test",
    )
    product = make_product(name='@SUM(A1:A9), "big"\nmug', price="3.00", stock=10)
    order = insert_order(customer, status=OrderStatus.DELIVERED, lines=[(product, 2)])
    db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id)
        .values(
            shipping_address={
                "name": "-2+3",
                "line1": "1 Main St",
                "city": "Oslo",
                "postal_code": "0150",
                "country": "NO",
            }
        )
    )
    tabbed = make_customer(first_name="Tabby", last_name="Cat", email="tab@example.test")
    insert_order(tabbed, status=OrderStatus.SHIPPED, lines=[(product, 1)])
    # the customer service trims names; data from elsewhere (imports, SQL) may not be
    db.session.execute(
        sa.text("UPDATE customers SET first_name = :name WHERE id = :id"),
        {"name": "\tTabby", "id": tabbed.id},
    )
    db.session.commit()

    job = _export(client, admin, {"per_line": True})
    assert job["rows_written"] == 2
    _, rows = parse_csv(_download(client, admin, job))
    first, second = rows
    assert first[4] == '\'=HYPERLINK("http://evil.example") Smith'
    assert first[5] == "'+evil@example.test"
    assert first[9] == "'-2+3, 1 Main St, 0150 Oslo, NO"
    assert first[11] == '\'@SUM(A1:A9), "big"\nmug'  # the newline stays inside its quoted cell
    assert second[4] == "'\tTabby Cat"
    assert rows == expected_rows(per_line=True)
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell


def test_gzip_export_is_readable(client, admin, export_dir):
    load_orders(400)
    job = _export(client, admin, {"gzip": True})
    assert job["file_name"].endswith(".csv.gz")
    response = client.get(job["download_url"], headers=admin.headers)
    assert response.mimetype == "application/gzip"
    header, rows = parse_csv(response.data, gzipped=True)
    assert tuple(header) == ORDER_COLUMNS
    assert rows == expected_rows()
    assert (
        job["file_size"]
        == len(response.data)
        == (export_dir / f"{job['id']}.csv.gz").stat().st_size
    )


def test_empty_export_has_the_header_only(client, admin):
    job = _export(client, admin, {"status": ["rejected"]})
    assert job["rows_written"] == job["total_rows"] == 0 and job["percent"] == 100
    header, rows = parse_csv(_download(client, admin, job))
    assert tuple(header) == ORDER_COLUMNS and rows == []


def test_only_admins_export(client, auth, app_ctx, export_dir):
    job_id = uuid.uuid4()
    for role in (UserRole.STAFF, UserRole.CUSTOMER):
        user = make_user(role)
        headers = auth.headers(user.email, PASSWORD)
        for method, url in (
            ("post", URL),
            ("get", URL),
            ("get", f"{URL}/{job_id}"),
            ("get", f"{URL}/{job_id}/download"),
            ("delete", f"{URL}/{job_id}"),
            ("get", "/api/v1/reports/orders/export"),
        ):
            body = {} if method == "post" else None
            response = getattr(client, method)(url, headers=headers, json=body)
            assert response.status_code == 403, (role, method, url)
            assert response.get_json()["error"]["code"] == "authorization_error"
    assert client.post(URL, json={}).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 0


def test_unknown_and_paging_fields_are_refused(client, admin):
    for body in ({"limit": 10}, {"sort": "-created_at"}, {"cursor": "x"}, {"format": "xlsx"}):
        response = client.post(URL, json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert list(response.get_json()["error"]["details"]) == list(body)
    response = client.post(URL, json={"status": ["lost"]}, headers=admin.headers)
    assert response.status_code == 422


def test_download_of_an_unfinished_export_is_a_conflict(client, admin):
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(ExportJob).values(
                id=uuid.uuid4(), user_id=admin.user.id, status="running", filters={}
            )
        )
    job_id = db.session.scalar(sa.select(ExportJob.id))
    for status in ("queued", "running", "failed", "cancelled"):
        db.session.execute(sa.update(ExportJob).values(status=status))
        db.session.commit()
        response = client.get(f"{URL}/{job_id}/download", headers=admin.headers)
        assert response.status_code == 409, status
        assert response.get_json()["error"]["details"] == {"status": status}
    assert client.get(f"{URL}/{uuid.uuid4()}/download", headers=admin.headers).status_code == 404


def test_an_admin_sees_only_their_own_exports(client, admin, auth):
    mine = [_export(client, admin)["id"] for _ in range(3)]
    other = make_user(UserRole.ADMIN)
    other_headers = auth.headers(other.email, PASSWORD)
    theirs = client.post(URL, json={}, headers=other_headers).get_json()["id"]

    page = client.get(URL, query_string={"limit": 2}, headers=admin.headers).get_json()
    assert [j["id"] for j in page["items"]] == mine[::-1][:2] and page["has_more"]
    rest = client.get(
        URL, query_string={"limit": 2, "cursor": page["next_cursor"]}, headers=admin.headers
    ).get_json()
    assert [j["id"] for j in rest["items"]] == mine[:1] and not rest["has_more"]
    assert client.get(f"{URL}/{theirs}", headers=admin.headers).status_code == 404
    assert client.get(f"{URL}/{theirs}/download", headers=admin.headers).status_code == 404
    assert client.delete(f"{URL}/{theirs}", headers=admin.headers).status_code == 404


def test_delete_removes_a_finished_export_and_its_file(client, admin, export_dir):
    load_orders(50)
    job = _export(client, admin)
    assert (export_dir / f"{job['id']}.csv").exists()
    assert client.delete(f"{URL}/{job['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{URL}/{job['id']}", headers=admin.headers).status_code == 404
    assert list(export_dir.iterdir()) == []


def _queued_without_dispatch(admin, **fields) -> uuid.UUID:
    """An export queued as the API does, whose process "dies" before handing the task over."""
    with transaction_without_dispatch():
        job = exports.create(actor=admin.user, **fields)
    return job.id


def test_a_queued_export_is_written_with_its_task_in_one_transaction(admin):
    # the outbox row is committed with the job, so a crash before dispatch loses nothing
    job_id = _queued_without_dispatch(admin, filters={"status": [OrderStatus.SHIPPED]})
    db.session.remove()
    stored = db.session.get(ExportJob, job_id)
    assert stored.status.value == "queued" and stored.filters == {"status": ["shipped"]}
    message = db.session.scalars(sa.select(OutboxMessage)).one()
    assert message.task == "reports.export_orders" and message.kwargs == {"job_id": str(job_id)}


def test_a_queued_export_can_be_cancelled_and_never_runs(client, admin, export_dir):
    job_id = _queued_without_dispatch(admin, filters={})
    url = f"{URL}/{job_id}"
    assert client.delete(url, headers=admin.headers).status_code == 204
    assert client.get(url, headers=admin.headers).get_json()["status"] == "cancelled"

    task = sa.select(OutboxMessage.id).where(OutboxMessage.task == "reports.export_orders")
    late = list(db.session.scalars(task))
    assert outbox.relay(min_age_seconds=0, message_ids=late) == 1  # it arrives late: no effect
    body = client.get(url, headers=admin.headers).get_json()
    assert body["status"] == "cancelled" and body["attempts"] == 0
    assert list(export_dir.iterdir()) == []
    # a cancelled export is removed by a second DELETE
    assert client.delete(url, headers=admin.headers).status_code == 204
    assert client.get(url, headers=admin.headers).status_code == 404


def test_a_running_export_that_is_cancelled_stops_and_leaves_no_file(
    client, admin, export_dir, app, monkeypatch
):
    load_orders(3000)
    monkeypatch.setitem(app.config, "OMS_EXPORT_PROGRESS_SECONDS", 0)
    seen: list[dict] = []

    def cancel_on_first_rows(event: dict) -> None:
        # the admin presses "cancel" as soon as the first rows are reported
        seen.append(event)
        started = event["type"] == "export.progress" and event["rows_written"] > 0
        if started and not any(e["type"] == "export.finished" for e in seen):
            exports.delete(job_id=uuid.UUID(event["job_id"]), actor=admin.user)

    unsubscribe = events.subscribe(cancel_on_first_rows)
    try:
        response = client.post(URL, json={"per_line": True}, headers=admin.headers)
    finally:
        unsubscribe()
    job = client.get(f"{URL}/{response.get_json()['id']}", headers=admin.headers).get_json()
    assert job["status"] == "cancelled"
    assert 0 < job["rows_written"] < job["total_rows"] == 6000
    assert job["file_name"] is None and job["download_url"] is None
    assert list(export_dir.iterdir()) == []
    finished = [e for e in seen if e["type"] == "export.finished"]
    assert [e["status"] for e in finished] == ["cancelled"]


def test_progress_and_finished_events_are_published(client, admin, app, monkeypatch):
    load_orders(120)
    monkeypatch.setitem(app.config, "OMS_EXPORT_PROGRESS_SECONDS", 0)
    seen: list[dict] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        job = _export(client, admin)
    finally:
        unsubscribe()
    mine = [e for e in seen if e["type"].startswith("export.")]
    progress = [e for e in mine if e["type"] == "export.progress"]
    assert progress and all(
        e["job_id"] == job["id"] and e["user_id"] == str(admin.user.id) and e["total_rows"] == 120
        for e in progress
    )
    assert progress[0]["rows_written"] == 0 and progress[0]["percent"] == 0
    assert [e["rows_written"] for e in progress] == sorted(e["rows_written"] for e in progress)
    assert progress[-1]["percent"] == progress[-1]["rows_written"] * 100 // 120
    assert mine[-1] == {
        **mine[-1],
        "type": "export.finished",
        "job_id": job["id"],
        "user_id": str(admin.user.id),
        "status": "finished",
        "rows_written": 120,
        "file_size": job["file_size"],
    }
    # they went through the Redis stream too, for clients that catch up
    stored = [e["type"] for e in events.read_since(None) if e["type"].startswith("export.")]
    assert stored[-1] == "export.finished" and "export.progress" in stored


def test_an_export_by_a_demoted_admin_fails(app, admin, export_dir):
    job_id = _queued_without_dispatch(admin, filters={})
    db.session.execute(
        sa.text("UPDATE users SET role = 'staff' WHERE id = :id"), {"id": admin.user.id}
    )
    db.session.commit()
    assert run_task(app, "reports.export_orders", job_id=str(job_id)) == "failed"
    db.session.remove()
    stored = db.session.get(ExportJob, job_id)
    assert stored.status.value == "failed" and "may no longer export" in stored.error
    assert list(export_dir.iterdir()) == []


def test_export_events_reach_only_the_admin_who_asked(app, tmp_path):
    # Socket.IO's test client needs the in-process relay (no Redis message queue)
    embedded = create_app(
        make_test_config(
            OMS_REDIS_URL=None,
            RATELIMIT_STORAGE_URI="memory://",
            OMS_EXPORT_DIR=str(tmp_path / "exports"),
        )
    )
    with embedded.app_context():
        load_orders(20)
        asker, other = make_user(UserRole.ADMIN), make_user(UserRole.ADMIN)
        http = embedded.test_client()

        def token(user):
            body = {"email": user.email, "password": PASSWORD}
            return http.post("/api/v1/auth/login", json=body).get_json()["access_token"]

        sockets = {
            user: socketio.test_client(embedded, auth={"token": token(user)})
            for user in (asker, other)
        }
        for sock in sockets.values():
            assert sock.is_connected()
            sock.get_received()
        response = http.post(
            URL, json={}, headers={"Authorization": f"Bearer {token(asker)}"}
        ).get_json()
        got = {
            user: [(m["name"], m["args"][0]) for m in sock.get_received()]
            for user, sock in sockets.items()
        }
        kinds = [kind for kind, _ in got[asker] if kind.startswith("export.")]
        assert kinds[0] == "export.progress" and kinds[-1] == "export.finished"
        finished = got[asker][-1][1]
        assert finished["job_id"] == response["id"] and finished["rows_written"] == 20
        assert [kind for kind, _ in got[other] if kind.startswith("export.")] == []
        for sock in sockets.values():
            sock.disconnect()
        db.session.remove()
