"""``make bench``: the project against the raw speed of its database, in one run, as ratios.

Every figure is measured beside its baseline in the same run on the same machine (these
machines are noisy), and every run checks correctness at the end (no unit oversold, every
accepted order decided). The web tier and the worker are the Procfile's own commands
(gunicorn, celery) against a PostgreSQL database and a Redis db of the benchmark's own; the
load generators (wrk, a burst client) are processes of their own on loopback.

    .venv/bin/python -m benchmarks.bench            # the full run
    .venv/bin/python -m benchmarks.bench --quick    # a smoke run: small, short; asserts no speed

The export of a million orders against ``psql \\copy`` has its own script
(``benchmarks/export_orders.py``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from benchmarks import data, load, stack

CONNECTIONS = 32
WARMUP = 2  # seconds of load before a timed wrk run, figures dropped


@dataclass
class Row:
    """One line of the printed table."""

    measure: str
    project: str
    baseline: str
    ratio: float | None
    target: str

    def ratio_text(self) -> str:
        """The ratio to two places, or a dash where a measure has no baseline."""
        if self.ratio is None or math.isnan(self.ratio):
            return "-"
        return f"{self.ratio:.2f}"


@dataclass
class Settings:
    """The sizes of one run (full or quick)."""

    seconds: int
    products: int
    customers: int
    burst: int
    flash_orders: int
    flash_units: int
    transitions: int
    statement_orders: int
    listing_orders: int
    listing_repeats: int
    fanout_clients: int
    fanout_changes: int


FULL = Settings(
    seconds=20,
    products=1000,
    customers=500,
    burst=2000,
    flash_orders=3000,
    flash_units=1000,
    transitions=120_000,
    statement_orders=50,
    listing_orders=1_000_000,
    listing_repeats=100,
    fanout_clients=500,
    fanout_changes=50,
)
QUICK = Settings(
    seconds=3,
    products=100,
    customers=50,
    burst=200,
    flash_orders=300,
    flash_units=100,
    transitions=20_000,
    statement_orders=10,
    listing_orders=20_000,
    listing_repeats=10,
    fanout_clients=50,
    fanout_changes=10,
)


class CorrectnessError(AssertionError):
    """A benchmark run broke an invariant: its figures do not count."""


# ---- correctness ----


def wait_decided(timeout: float) -> int:
    """Wait until no order is pending; the number still pending (0 when all are decided)."""
    deadline = time.monotonic() + timeout
    with stack.engine().connect() as conn:
        while True:
            pending = conn.execute(
                sa.text("SELECT count(*) FROM orders WHERE status = 'pending'")
            ).scalar_one()
            conn.commit()
            if not pending or time.monotonic() > deadline:
                return pending
            time.sleep(0.2)


def settle(timeout: float, what: str) -> None:
    """After a scenario's load: every accepted order decided within ``timeout`` and the stock
    counters true, or the run fails."""
    undecided = wait_decided(timeout)
    if undecided:
        raise CorrectnessError(f"{undecided} {what} still pending after {timeout:.0f} s")
    check_stock()


def check_stock() -> None:
    """No unit oversold: every product's reserved count is the units of its placed and picked
    orders, and within its stock (the schema's checks hold it too)."""
    with stack.engine().connect() as conn:
        drift = conn.execute(
            sa.text(
                "SELECT p.id, p.reserved_count, p.inventory_count, COALESCE(held.units, 0) "
                "FROM products p LEFT JOIN (SELECT i.product_id, SUM(i.quantity) AS units "
                "FROM order_items i JOIN orders o ON o.id = i.order_id "
                "WHERE o.status IN ('placed', 'picked') GROUP BY i.product_id) held "
                "ON held.product_id = p.id WHERE p.reserved_count <> COALESCE(held.units, 0) "
                "OR p.reserved_count > p.inventory_count"
            )
        ).all()
    if drift:
        raise CorrectnessError(f"stock counters drifted on {len(drift)} products: {drift[:3]}")


# ---- the scenarios ----


def intake(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """Orders over HTTP (3 lines, uniform catalogue, 32 connections) against the raw order
    transaction; the web tier's floor (an authenticated GET of one query) to show how much of
    the gap is the framework's; then a burst of orders from POST to decided."""
    data.seed(products=settings.products, stock=10**7, customers=settings.customers)
    raw = stack.pgbench(
        "order.sql",
        clients=CONNECTIONS,
        seconds=settings.seconds,
        variables={"nproducts": settings.products, "ncustomers": settings.customers},
    )
    tokens = data.write_lines(tmp / "customers.txt", data.tokens("customer"))
    products = data.write_lines(tmp / "products.txt", data.product_ids())
    with stack.Stack(logs) as running:
        # a warm-up (figures dropped) opens the server's threads and database connections
        load.wrk(
            "orders.lua",
            running.url,
            connections=CONNECTIONS,
            seconds=WARMUP,
            args=[str(tokens), str(products)],
        )
        http = load.wrk(
            "orders.lua",
            running.url,
            connections=CONNECTIONS,
            seconds=settings.seconds,
            args=[str(tokens), str(products)],
        )
        settle(120, "accepted orders")
        # the floor: the same tier answering an authenticated GET with one query behind it
        floor = load.wrk(
            "get.lua",
            running.url,
            connections=CONNECTIONS,
            seconds=settings.seconds,
            args=[str(tokens), "/api/v1/auth/me"],
        )
        burst = load.run_burst(
            running.url,
            tokens,
            products,
            orders=settings.burst,
            lines=3,
            connections=CONNECTIONS,
        )
        settle(300, "burst orders")
    refused = {s: n for s, n in http["statuses"].items() if s != 202}
    rows = [
        Row(
            "intake over HTTP, 3 lines, 32 connections",
            f"{http['rate']:.0f} orders/s, p99 {http['p99']:.0f} ms"
            + (f" (non-202: {refused})" if refused else ""),
            f"raw order transaction {raw['rate']:.0f} TPS, p99 {raw['p99']:.0f} ms",
            http["rate"] / raw["rate"],
            ">= 0.5, p99 < 50 ms",
        )
    ]
    rows.append(
        Row(
            "the web tier's floor: GET /api/v1/auth/me, 32 connections",
            f"{floor['rate']:.0f}/s, p99 {floor['p99']:.0f} ms",
            f"intake {http['rate']:.0f} orders/s: the ratio is intake to floor",
            http["rate"] / floor["rate"],
            "-",
        )
    )
    rows.append(_burst_row(burst, raw, f"burst of {settings.burst}, POST to placed"))
    return rows


def _decisions(ids: list[str]) -> dict[str, float]:
    """Epoch seconds at which each order left pending (its second history row)."""
    with stack.engine().connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT order_id, extract(epoch FROM min(created_at)) FROM order_status_history "
                "WHERE old_status = 'pending' AND order_id = ANY(CAST(:ids AS uuid[])) "
                "GROUP BY order_id"
            ),
            {"ids": ids},
        ).all()
    return {str(order_id): float(at) for order_id, at in rows}


def _burst_row(burst: list[dict], raw: dict, measure: str) -> Row:
    accepted = [r for r in burst if r["id"]]
    decided = _decisions([r["id"] for r in accepted])
    if len(decided) != len(accepted):
        raise CorrectnessError(f"{len(accepted) - len(decided)} accepted orders never decided")
    latencies = [(decided[r["id"]] - r["sent"]) * 1000 for r in accepted]
    started = min(r["sent"] for r in burst)
    rate = len(accepted) / (max(decided.values()) - started) if accepted else 0.0
    spread = stack.percentiles(latencies)
    refused: dict[int, int] = {}
    for r in burst:
        if not r["id"]:
            refused[r["status"]] = refused.get(r["status"], 0) + 1
    return Row(
        measure,
        f"{rate:.0f} orders/s decided; POST to decision p50 {spread['p50']:.0f} ms, "
        f"p99 {spread['p99']:.0f} ms"
        + (f" (refused at intake, by status: {refused})" if refused else ""),
        f"raw {raw['rate']:.0f} TPS",
        rate / raw["rate"],
        ">= 0.5, p99 < 1 s",
    )


def flash_sale(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """Five hot products, fewer units than orders: end to end over HTTP against the raw
    hot-row transaction; nothing oversold."""
    hot = 5
    data.seed(products=hot, stock=10**7, customers=settings.customers)
    raw = stack.pgbench(
        "hot_row.sql",
        clients=CONNECTIONS,
        seconds=settings.seconds,
        variables={"nhot": hot, "ncustomers": settings.customers},
    )
    data.seed(products=hot, stock=settings.flash_units // hot, customers=settings.customers)
    tokens = data.write_lines(tmp / "customers.txt", data.tokens("customer"))
    products = data.write_lines(tmp / "hot.txt", data.product_ids())
    with stack.Stack(logs) as running:
        burst = load.run_burst(
            running.url,
            tokens,
            products,
            orders=settings.flash_orders,
            lines=1,
            connections=CONNECTIONS,
        )
        settle(300, "flash-sale orders")
    with stack.engine().connect() as conn:
        sold = conn.execute(
            sa.text(
                "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o "
                "ON o.id = i.order_id WHERE o.status = 'placed'"
            )
        ).scalar_one()
    if sold > settings.flash_units:
        raise CorrectnessError(f"oversold: {sold} units placed of {settings.flash_units}")
    row = _burst_row(burst, raw, f"flash sale over HTTP, {hot} hot products")
    row.baseline = f"raw hot-row transaction {raw['rate']:.0f} TPS"
    row.project += f"; {sold} of {settings.flash_units} units sold, 0 oversold"
    row.target = ">= 1.0, 0 oversold"
    return [row]


def transitions(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """placed -> picked over HTTP as staff against the raw SQL transition."""
    data.seed(products=10, stock=10, customers=settings.customers)
    raw_ids = data.placed_orders(settings.transitions)
    with stack.engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_orders"))
        conn.execute(sa.text("DROP SEQUENCE IF EXISTS bench_order_seq"))
        conn.execute(
            sa.text(
                "CREATE TABLE bench_orders AS SELECT row_number() OVER () AS n, id "
                "FROM unnest(CAST(:ids AS uuid[])) AS id"
            ),
            {"ids": raw_ids},
        )
        conn.execute(sa.text("CREATE UNIQUE INDEX ON bench_orders (n)"))
        conn.execute(sa.text("CREATE SEQUENCE bench_order_seq"))
    raw = stack.pgbench(
        "transition.sql", clients=CONNECTIONS, seconds=settings.seconds, variables={}
    )
    http_ids = data.placed_orders(settings.transitions)
    orders = data.write_lines(tmp / "orders.txt", http_ids)
    warmup = data.write_lines(tmp / "warmup.txt", data.placed_orders(settings.transitions // 4))
    staff = data.write_lines(tmp / "staff.txt", data.tokens("staff"))
    with stack.Stack(logs) as running:
        load.wrk(
            "transitions.lua",
            running.url,
            connections=CONNECTIONS,
            seconds=WARMUP,
            args=[str(staff), str(warmup), "2"],
        )
        http = load.wrk(
            "transitions.lua",
            running.url,
            connections=CONNECTIONS,
            seconds=settings.seconds,
            args=[str(staff), str(orders), "2"],
        )
    check_stock()
    refused = {s: n for s, n in http["statuses"].items() if s != 200}
    return [
        Row(
            "status transitions over HTTP (placed -> picked), 32 connections",
            f"{http['rate']:.0f}/s, p99 {http['p99']:.0f} ms"
            + (f" (non-200: {refused})" if refused else ""),
            f"raw SQL transition {raw['rate']:.0f} TPS, p99 {raw['p99']:.0f} ms",
            http["rate"] / raw["rate"],
            ">= 0.4",
        )
    ]


def statements(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """SQL statements per accepted order, request and reservation together, and per status
    transition, counted at the driver (every cursor execute; BEGIN and COMMIT are not
    statements the app sends)."""
    from benchmarks.statements import count_per_order, count_per_transition

    data.seed(products=settings.products, stock=10**6, customers=settings.customers)
    figures = count_per_order(settings.statement_orders)
    moves = count_per_transition(settings.statement_orders)
    return [
        Row(
            "SQL statements per accepted order (request + reservation)",
            f"{figures['total']:.1f} (request {figures['request']:.1f}, "
            f"relay and reservation {figures['worker']:.1f})",
            "-",
            None,
            "<= 10",
        ),
        Row(
            "SQL statements per transition (PATCH placed -> picked)",
            f"{moves['total']:.1f} (request {moves['request']:.1f}, of them "
            f"{moves['transaction']:.1f} up to its commit; the email task "
            f"{moves['worker']:.1f}; {moves['checkouts']:.1f} pool checkouts)",
            "raw SQL transition: 1",
            None,
            "-",
        ),
    ]


def listings(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """The order list and its searches at ``settings.listing_orders`` orders."""
    from benchmarks import listings as listing

    listing.load(settings.listing_orders)
    queries = dict(listing.QUERIES)
    half = settings.listing_orders // 2
    queries[f"cursor {half:,} deep"] = {"limit": 50, "cursor": listing.deep_cursor(half)}
    token = data.tokens("staff")[0]
    with stack.Stack(logs, worker=False) as running:
        figures = listing.time_queries(running.url, token, queries, settings.listing_repeats)
    return [
        Row(
            f"listing at {settings.listing_orders:,} orders: {name}",
            f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms",
            "-",
            None,
            "p99 < 20 ms",
        )
        for name, f in figures.items()
    ]


def export(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """The export job on ``settings.listing_orders`` orders (the listings' data, loaded again
    only when it is not there) against ``psql \\copy`` of the same SELECT, both shapes; the
    files must hold the same bytes."""
    from benchmarks import export_orders
    from benchmarks import listings as listing

    with stack.engine().connect() as conn:
        present = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
    if present != settings.listing_orders:
        listing.load(settings.listing_orders)
    rows = []
    for per_line in (False, True):
        run = export_orders.measure(per_line, stack.DATABASE_URL)
        if not run["same"]:
            raise CorrectnessError("the export's file differs from psql's")
        growth = (run["rss_peak_kib"] - run["rss_before_kib"]) / 1024
        shape = "one row per order line" if per_line else "one row per order"
        rows.append(
            Row(
                f"export of {settings.listing_orders:,} orders, {shape}",
                f"{run['seconds']:.2f} s ({run['rows'] / run['seconds']:,.0f} rows/s, "
                f"{run['bytes'] / 2**20:.0f} MiB); the job's memory grew {growth:.1f} MiB "
                f"(peak {run['rss_peak_kib'] / 1024:.0f} MiB); same bytes as psql",
                f"psql \\copy {run['psql_seconds']:.2f} s",
                run["psql_seconds"] / run["seconds"],
                ">= 0.91 (time <= 1.1 x psql), memory growth <= 30 MB",
            )
        )
    return rows


def fanout(settings: Settings, logs: Path, tmp: Path) -> list[Row]:
    """Status changes to ``settings.fanout_clients`` staff dashboards connected over WebSocket:
    each change moved over HTTP one at a time, every dashboard must hear every one."""
    from benchmarks import fanout as fan

    data.seed(products=10, stock=10, customers=settings.customers)
    ids = data.placed_orders(settings.fanout_changes)
    tokens = data.tokens("staff")
    raw = fan.redis_one_way(200)
    with stack.Stack(logs) as running:
        listener = fan.Dashboards(
            running.socket_url,
            data.write_lines(tmp / "dashboards.txt", tokens),
            clients=settings.fanout_clients,
            expect=len(ids),
            processes=int(os.environ.get("OMS_BENCH_LISTENERS", "4")),
            logs=logs,
        )
        connected = listener.ready()
        host, port = running.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for order_id in ids:
            conn.request(
                "PATCH",
                f"/api/v1/orders/{order_id}/status",
                body=json.dumps({"status": "picked"}),
                headers={
                    "Authorization": f"Bearer {tokens[0]}",
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise CorrectnessError(f"PATCH answered {response.status}: {body[:300]!r}")
            time.sleep(0.1)  # one change at a time: the latency of a change, not a backlog
        conn.close()
        heard = listener.result()
    check_stock()
    if connected != settings.fanout_clients or heard["still_connected"] != connected:
        raise CorrectnessError(
            f"{connected} of {settings.fanout_clients} dashboards connected, "
            f"{heard['still_connected']} still connected at the end"
        )
    if heard["received"] != heard["expected"]:
        raise CorrectnessError(f"{heard['expected'] - heard['received']} deliveries lost")
    spread = stack.percentiles(heard["latencies"])
    first, last = stack.percentiles(heard["first"]), stack.percentiles(heard["last"])
    return [
        Row(
            f"status change to {connected} connected Socket.IO clients",
            f"p50 {spread['p50']:.1f} ms, p99 {spread['p99']:.1f} ms from the event's time to "
            f"receipt (per change, the first dashboard p50 {first['p50']:.1f} ms, the last "
            f"p50 {last['p50']:.1f} ms); {heard['received']:,} of {heard['expected']:,} "
            "deliveries, 0 lost",
            f"Redis pub/sub one way p50 {raw['p50']:.2f} ms, p99 {raw['p99']:.2f} ms",
            None,
            "p99 < 25 ms, 0 lost",
        )
    ]


SCENARIOS = [intake, flash_sale, transitions, statements, listings, export, fanout]


def print_table(rows: list[Row], elapsed: float) -> None:
    print()
    print(f"Machine: {stack.machine()}")
    print(f"Run: {elapsed:.0f} s\n")
    print("| measure | project | raw limit, same run | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        cells = (row.measure, row.project, row.baseline, row.ratio_text(), row.target)
        print("| " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, short smoke run")
    parser.add_argument(
        "--only", action="append", choices=[s.__name__ for s in SCENARIOS], help="one scenario"
    )
    options = parser.parse_args()
    settings = QUICK if options.quick else FULL
    started = time.monotonic()
    rows: list[Row] = []
    stack.fresh_database()
    with tempfile.TemporaryDirectory(prefix="oms-bench-") as directory:
        tmp = Path(directory)
        for scenario in SCENARIOS:
            if options.only and scenario.__name__ not in options.only:
                continue
            print(f"== {scenario.__name__}", flush=True)
            logs = tmp / scenario.__name__
            logs.mkdir()
            try:
                rows.extend(scenario(settings, logs, tmp))
            except Exception:
                for log in sorted(logs.glob("*.log")):
                    print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
                raise
    print_table(rows, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
