"""Order listings at scale: the admin list's first page, a cursor half-way down, a status and
date filter, and ``q`` searches on customer and product names, timed over HTTP one request at
a time against the production web tier, with the data loaded by the export benchmark's loader
(``COPY``, 1 to 5 lines an order). Beside the figures, the plans: the statements one request
of each query runs (the app's own code, in this process, on the same database) through
``EXPLAIN``, to say whether they read indexes or scan a table."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator

import sqlalchemy as sa

from benchmarks import stack

QUERIES = {
    "first page": {"limit": 50},
    "status + date range": {
        "limit": 50,
        "status": "shipped",
        "created_from": "2023-03-01T00:00:00Z",
        "created_to": "2023-04-01T00:00:00Z",
    },
    "q= customer name": {"limit": 50, "q": "Nordmann"},
    "q= product name": {"limit": 50, "q": "Product 1234"},
}


def load(orders: int) -> None:
    """``orders`` orders through benchmarks.export_orders' loader, and one staff login."""
    from benchmarks import export_orders

    with stack.production_app().app_context():
        export_orders.load(orders)
    with stack.engine().begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, first_name, last_name, role) "
                "VALUES (gen_random_uuid(), 'staff@bench.test', 'x', 'Bench', 'Staff', 'staff')"
            )
        )


def deep_cursor(depth: int) -> str:
    """The list's own cursor for the page after row ``depth`` (newest first)."""
    with stack.engine().connect() as conn:
        created, order_id = conn.execute(
            sa.text(
                "SELECT created_at, id FROM orders ORDER BY created_at DESC, id DESC "
                "OFFSET :d LIMIT 1"
            ),
            {"d": depth},
        ).one()
    state = {"s": "-created_at", "v": [created.isoformat(), str(order_id)]}
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def time_queries(url: str, token: str, queries: dict[str, dict], repeats: int) -> dict[str, dict]:
    """p50/p99 (ms) of each query over one keep-alive connection, after two warm-up calls."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    figures = {}
    for name, params in queries.items():
        path = "/api/v1/orders?" + urllib.parse.urlencode(params)
        times = []
        for attempt in range(repeats + 2):
            started = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise AssertionError(f"{name}: {response.status} {body[:300]!r}")
            if attempt >= 2:
                times.append((time.perf_counter() - started) * 1000)
        figures[name] = stack.percentiles(times)
    conn.close()
    return figures


# Tables a listing must never scan whole (the small catalogue may be read through).
LARGE_TABLES = {"orders", "order_items", "customers"}


def _scans(node: dict) -> Iterator[tuple[str, str]]:
    """(node type, index or table) of every scan in an EXPLAIN (FORMAT JSON) plan tree."""
    kind = node["Node Type"]
    if kind.endswith("Scan") and ("Index Name" in node or "Relation Name" in node):
        yield kind, node.get("Index Name") or node["Relation Name"]
    for child in node.get("Plans", []):
        yield from _scans(child)


def plans(token: str, queries: dict[str, dict]) -> dict[str, str]:
    """For each query, how the statements of one request of it read the orders: the
    indexes used (``index only:`` where no table row is read), or ``SEQ SCAN`` and the
    large tables scanned whole. The request runs in this process through the app's own
    code, so the statements are those the web processes run; each is then EXPLAINed."""
    from oms.extensions import db

    app = stack.production_app()
    with app.app_context():
        engine = db.engine
    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append(cursor.mogrify(statement, parameters).decode())

    sa.event.listen(engine, "before_cursor_execute", capture)
    client = app.test_client()
    summary = {}
    try:
        for name, params in queries.items():
            captured.clear()
            path = "/api/v1/orders?" + urllib.parse.urlencode(params)
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise AssertionError(f"{name}: {response.status_code} {response.data[:300]!r}")
            scans: list[tuple[str, str]] = []
            with engine.connect() as conn:
                for statement in list(captured):  # (the EXPLAINs are captured too)
                    # already bound (mogrified): no parameters, so no placeholder parsing
                    if statement.startswith("SET "):  # the request's settings (SET LOCAL)
                        conn.exec_driver_sql(statement)
                    elif "FROM orders" in statement or "FROM order_items" in statement:
                        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement)
                        scans += _scans(plan.scalar_one()[0]["Plan"])
            summary[name] = _summary(scans)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    return summary


def _summary(scans: list[tuple[str, str]]) -> str:
    whole = sorted({t for kind, t in scans if kind == "Seq Scan" and t in LARGE_TABLES})
    if whole:
        return "SEQ SCAN of " + ", ".join(whole)
    # a bitmap heap scan reads the rows its bitmap index scan (listed) found
    only = sorted({t for kind, t in scans if kind == "Index Only Scan"})
    used = {t for kind, t in scans if kind in ("Index Scan", "Bitmap Index Scan")}
    small = sorted({t for kind, t in scans if kind == "Seq Scan"})
    parts = []
    if only:
        parts.append("index only: " + ", ".join(only))
    if used - set(only):
        parts.append("index: " + ", ".join(sorted(used - set(only))))
    if small:
        parts.append("small tables read whole: " + ", ".join(small))
    return "; ".join(parts)
