"""Order listings at scale: the admin list's first page, a cursor half-way down, a status and
date filter, and ``q`` searches on customer and product names, timed over HTTP one request at
a time against the production web tier, with the data loaded by the export benchmark's loader
(``COPY``, 1 to 5 lines an order)."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse

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
