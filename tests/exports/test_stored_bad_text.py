"""An order row already holding text that is not valid Unicode (written before the API refused
it) does not break an export: its bad characters come out as U+FFFD (issue 10, finding 1)."""

from __future__ import annotations

import sqlalchemy as sa

from oms.extensions import db
from tests.exports.helpers import load_orders, parse_csv

DIRECT = "/api/v1/reports/orders/export"
QUEUED = "/api/v1/reports/exports"

# The json column's text, as PostgreSQL keeps it: escapes of a lone high and low surrogate and
# of NUL (PostgreSQL's JSON functions refuse all three), beside escapes that are fine: a
# surrogate pair (one emoji), a non-ASCII letter, and an escaped backslash before "ud800"
# (plain text, not an escape).
STORED = (
    '{"line1": "Bad \\ud800 high", "line2": "bad \\udc00 low \\u0000 nul",'
    ' "city": "B\\u00f8 \\ud83d\\ude00", "postal_code": "\\\\ud800", "country": "NO"}'
)
EXPECTED = "Bad \ufffd high, bad \ufffd low \ufffd nul, \\ud800 B\u00f8 \U0001f600, NO"


def _store_bad_address() -> str:
    load_orders(3)
    with db.engine.begin() as conn:
        return conn.execute(
            sa.text(
                "UPDATE orders SET shipping_address = CAST(:address AS json)"
                " WHERE number = 'ORD-0000002' RETURNING number"
            ),
            {"address": STORED},
        ).scalar_one()


def _address_of(data: bytes, number: str) -> str:
    header, rows = parse_csv(data)
    assert len(rows) == 3
    (row,) = [r for r in rows if r[0] == number]
    return row[header.index("shipping_address")]


def test_the_direct_export_survives_a_stored_lone_surrogate(client, admin):
    number = _store_bad_address()
    for per_line in ("false", "true"):
        response = client.get(DIRECT, query_string={"per_line": per_line}, headers=admin.headers)
        assert response.status_code == 200
        data = response.data  # raises if the stream broke off
        if per_line == "false":
            assert _address_of(data, number) == EXPECTED


def test_a_queued_export_survives_a_stored_lone_surrogate(client, admin):
    number = _store_bad_address()
    response = client.post(QUEUED, json={}, headers=admin.headers)
    assert response.status_code == 202
    job = client.get(f"{QUEUED}/{response.get_json()['id']}", headers=admin.headers).get_json()
    assert job["status"] == "finished", job
    assert job["rows_written"] == 3
    download = client.get(job["download_url"], headers=admin.headers)
    assert _address_of(download.data, number) == EXPECTED
