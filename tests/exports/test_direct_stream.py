"""``GET /api/v1/reports/orders/export``: the CSV streamed straight into the response."""

from __future__ import annotations

from oms.exports.query import LINE_COLUMNS, ORDER_COLUMNS
from tests.exports.helpers import expected_rows, load_orders, parse_csv

URL = "/api/v1/reports/orders/export"


def test_streams_every_matching_order(client, admin):
    load_orders(2500)
    response = client.get(URL, headers=admin.headers)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="orders-')
    header, rows = parse_csv(response.data)
    assert tuple(header) == ORDER_COLUMNS
    assert rows == expected_rows()


def test_filters_and_per_line(client, admin):
    load_orders(200)
    response = client.get(
        URL,
        query_string=[("status", "shipped"), ("status", "pending"), ("per_line", "true")],
        headers=admin.headers,
    )
    assert response.status_code == 200
    header, rows = parse_csv(response.data)
    assert tuple(header) == ORDER_COLUMNS + LINE_COLUMNS
    assert rows == expected_rows(per_line=True, where=lambda o: o.status in ("shipped", "pending"))


def test_rows_leave_in_batches_as_they_are_read(client, admin):
    load_orders(5000)
    response = client.get(URL, headers=admin.headers, buffered=False)
    chunks = iter(response.response)
    first = next(chunks)
    assert first.decode("utf-8-sig") == ",".join(ORDER_COLUMNS) + "\n"  # the header, alone
    second = next(chunks)
    assert second.count(b"\n") == 2000  # one batch of rows, not the whole table
    rest = b"".join(chunks)
    response.close()
    assert (second + rest).count(b"\n") == 5000


def test_unknown_and_paging_arguments_are_refused(client, admin):
    for query in ({"limit": 10}, {"cursor": "abc"}, {"sort": "number"}, {"fields": "id"}):
        response = client.get(URL, query_string=query, headers=admin.headers)
        assert response.status_code == 422, query
    assert (
        client.get(URL, query_string={"status": "lost"}, headers=admin.headers).status_code == 422
    )
