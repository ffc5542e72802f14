"""Order export: the export job's code path against a plain ``psql \\copy`` of the same query.

Loads ``--orders`` orders (default one million) with 1 to 5 lines each (three on average) into
a PostgreSQL database of its own with ``COPY ... FROM STDIN``, then for each shape (one row per
order, one row per order line) runs the export job in a child process (``flows.run_export``:
claim, count, ``COPY ... TO STDOUT`` through the row-counting writer into a temporary file,
progress, rename) and times ``psql \\copy`` of the very same SELECT, in the same run. It prints
the times, the ratio, the rows per second and the export process's peak memory (its maximum
resident set size, from ``getrusage``, next to what the process held before the export
started), and checks that both files hold the same bytes.

    .venv/bin/python -m benchmarks.export_orders                  # 1,000,000 orders
    .venv/bin/python -m benchmarks.export_orders --orders 200000  # a quicker run
    .venv/bin/python -m benchmarks.export_orders --reload         # load the data again

It creates (and keeps, so a second run skips the load) the database ``oms_bench_export`` on
127.0.0.1 (``OMS_BENCH_DATABASE_URL`` overrides), migrated with ``flask db upgrade``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import queue
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "OMS_BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/oms_bench_export"
)
CUSTOMERS = 50_000
PRODUCTS = 2_000
STATUSES = ("delivered", "shipped", "pending", "cancelled", "rejected")


def make_app(export_dir: str, database_url: str = DATABASE_URL):
    from oms import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "OMS_REDIS_URL": None,
            "OMS_LOG_LEVEL": "ERROR",
            "OMS_EXPORT_DIR": export_dir,
            # the job's task goes to an in-memory broker: the export runs right here, timed
            "CELERY": {
                "broker_url": "memory://",
                "result_backend": None,
                "task_always_eager": False,
            },
        }
    )


def migrate() -> None:
    """Create the database if needed and migrate it with ``flask db upgrade``."""
    from oms.db import create_database_if_missing

    create_database_if_missing(sa.make_url(DATABASE_URL))
    env = {**os.environ, "OMS_DATABASE_URL": DATABASE_URL, "OMS_LOG_LEVEL": "ERROR"}
    subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


class GeneratedFile:
    """A read-only file over a generator of text lines, for ``COPY ... FROM STDIN`` (the
    data never sits in memory whole)."""

    def __init__(self, lines):
        self._lines = lines
        self._buffer = b""

    def read(self, size: int = 65536) -> bytes:
        """Up to ``size`` bytes of CSV, as a file's ``read`` gives them."""
        while len(self._buffer) < size:
            chunk = "".join(line for _, line in zip(range(2000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk.encode()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _rows(orders: int):
    """(customers, products, orders, order_items) as CSV line generators."""
    rng = random.Random(42)
    customer_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(CUSTOMERS)]
    product_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(PRODUCTS)]
    prices = [round(rng.uniform(1, 500), 2) for _ in range(PRODUCTS)]
    first = ["Ann", "Bjørn", "Chloé", "Dmitri", "Eve", "=Formula", "Gül", "Hiro", "Ines", "Jo"]
    last = ["Smith", "Nordmann", "Dupont", "Ivanov", "O'Brien", "Müller", "Tanaka", "Silva"]

    def customers():
        for n, cid in enumerate(customer_ids):
            name = f"{first[n % len(first)]},{last[n % len(last)]},customer{n}@example.com"
            yield f"{cid},{name}\n"

    def products():
        for n, pid in enumerate(product_ids):
            name = f'"Product {n}, ""deluxe"""' if n % 50 == 0 else f"Product {n}"
            yield f"{pid},{name},{prices[n]:.2f},1000000,0,t\n"

    start = datetime(2023, 1, 1, tzinfo=UTC)
    plan = []  # (order id, [(product index, quantity)]) to keep the lines with their totals

    def orders_rows():
        for n in range(orders):
            oid = uuid.UUID(int=rng.getrandbits(128), version=4)
            lines = [(rng.randrange(PRODUCTS), rng.randint(1, 4)) for _ in range(rng.randint(1, 5))]
            plan.append((oid, lines))
            total = sum(round(prices[p] * q, 2) for p, q in lines)
            created = start + timedelta(seconds=n * 30)
            address = json.dumps(
                {
                    "name": f"Recipient {n}",
                    "line1": f"{n % 999 + 1} Storgata",
                    "city": "Oslo",
                    "postal_code": f"0{n % 1000:03d}",
                    "country": "NO",
                }
            )
            address = '"' + address.replace('"', '""') + '"'
            yield (
                f"{oid},ORD-{n + 1:07d},{customer_ids[n % CUSTOMERS]},{STATUSES[n % 5]},"
                f"{'t' if n % 2 else 'f'},{total:.2f},{address},{created.isoformat()},"
                f"{created.isoformat()},{(created + timedelta(days=1)).isoformat()}\n"
            )

    def items_rows():
        for oid, lines in plan:
            for p, q in lines:
                iid = uuid.UUID(int=rng.getrandbits(128), version=4)
                yield f"{iid},{oid},{product_ids[p]},{q},{prices[p]:.2f},{prices[p] * q:.2f}\n"
        plan.clear()

    return customers(), products(), orders_rows(), items_rows


def load(orders: int) -> float:
    """Empty the tables and COPY the data in; returns the seconds it took."""
    from oms.extensions import db

    started = time.perf_counter()
    customers, products, orders_rows, items_rows = _rows(orders)
    tables = ", ".join(t.name for t in reversed(db.metadata.sorted_tables))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        for table, columns, rows in (
            ("customers", "id, first_name, last_name, email", customers),
            ("products", "id, name, price, inventory_count, reserved_count, active", products),
            (
                "orders",
                "id, number, customer_id, status, payment_collected, total_amount, "
                "shipping_address, created_at, updated_at, status_updated_at",
                orders_rows,
            ),
        ):
            cur.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", GeneratedFile(rows)
            )
            print(f"  loaded {table}: {cur.rowcount:,} rows", flush=True)
        cur.copy_expert(
            "COPY order_items (id, order_id, product_id, quantity, unit_price, total_price) "
            "FROM STDIN WITH (FORMAT csv)",
            GeneratedFile(items_rows()),
        )
        print(f"  loaded order_items: {cur.rowcount:,} rows", flush=True)
        raw.commit()
    finally:
        raw.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _peak_rss_kib() -> int:
    """This process's peak resident set size so far. ``VmHWM`` belongs to the process's own
    memory map; ``ru_maxrss`` of a child started by fork + exec also counts the parent's size
    at the fork, so it is only the fallback."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _load_child(orders: int, reload: bool, results) -> None:
    """Child process: load the data unless it is there already."""
    from oms.extensions import db

    app = make_app(tempfile.gettempdir())
    with app.app_context():
        present = db.session.scalar(sa.text("SELECT count(*) FROM orders"))
        db.session.remove()
        seconds = load(orders) if reload or present != orders else None
        lines = db.session.scalar(sa.text("SELECT count(*) FROM order_items"))
    results.put({"seconds": seconds, "lines": lines})


def _export_child(per_line: bool, export_dir: str, database_url: str, results) -> None:
    """Child process: queue a job and run the export job's code path, timed; also hand back
    the job's SELECT with its parameters in place, on one line (for psql)."""
    from oms.auth import service as auth_service
    from oms.auth.enums import UserRole
    from oms.db import transaction
    from oms.exports import files, flows, query
    from oms.exports import service as exports
    from oms.exports.models import ExportJob
    from oms.extensions import db

    app = make_app(export_dir, database_url)
    with app.app_context():
        admin = auth_service.get_by_email(email="bench-admin@example.com")
        if admin is None:
            admin = auth_service.create_user(
                email="bench-admin@example.com",
                password="bench-pass-123",  # noqa: S106 (the benchmark's throwaway admin)
                role=UserRole.ADMIN,
                first_name="Bench",
                last_name="Admin",
            )
        with transaction():
            job = exports.create(actor=admin, filters={}, per_line=per_line)
            db.session.info.pop("oms_after_commit", None)  # run it here, not on a worker
        job_id = job.id
        select = query.build(actor=admin, filters={}, per_line=per_line).rows
        compiled = select.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        raw = db.engine.raw_connection()
        try:
            sql = raw.cursor().mogrify(compiled.string, compiled.params).decode()
        finally:
            raw.close()
        db.session.remove()
        rss_before = _peak_rss_kib()
        started = time.perf_counter()
        outcome = flows.run_export(job_id=job_id)
        elapsed = time.perf_counter() - started
        rss_peak = _peak_rss_kib()
        finished = db.session.get(ExportJob, job_id)
        results.put(
            {
                "outcome": outcome,
                "seconds": elapsed,
                "rows": finished.rows_written,
                "bytes": finished.file_size,
                "path": str(files.final_path(job_id, gzip=False)),
                "rss_before_kib": rss_before,
                "rss_peak_kib": rss_peak,
                "sql": " ".join(sql.split("\n")),
            }
        )


def in_child(target, *args) -> dict:
    """Run ``target(*args, results)`` in a fresh interpreter, so its memory is its own."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=target, args=(*args, results))
    child.start()
    while True:
        try:
            result = results.get(timeout=1)
            break
        except queue.Empty:
            if not child.is_alive():
                raise SystemExit(f"{target.__name__} failed (exit code {child.exitcode})") from None
    child.join()
    return result


def psql_copy(sql: str, target: Path, database_url: str = DATABASE_URL) -> float:
    url = sa.make_url(database_url)
    command = f"\\copy ({sql}) TO '{target}' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    args = ["psql", "-X", "-q", "-h", url.host, "-p", str(url.port or 5432), "-U", url.username]
    started = time.perf_counter()
    subprocess.run([*args, "-d", url.database, "-c", command], env=env, check=True)
    return time.perf_counter() - started


def sha256(path: Path, skip: int = 0) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(skip)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    server = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB RAM, Python "
        f"{platform.python_version()}, {server}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to load")
    parser.add_argument("--reload", action="store_true", help="load the data even if present")
    parser.add_argument(
        "--shape", choices=("order", "line", "both"), default="both", help="rows per order/line"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)

    migrate()
    print(f"loading {args.orders:,} orders with COPY ... FROM STDIN, unless already there")
    loaded = in_child(_load_child, args.orders, args.reload)
    if loaded["seconds"] is None:
        print("  already loaded (--reload to load again)")
    else:
        print(f"  load took {loaded['seconds']:.1f} s")
    lines = loaded["lines"]
    print(f"{args.orders:,} orders, {lines:,} order lines ({lines / args.orders:.2f} per order)")

    shapes = {"order": [False], "line": [True], "both": [False, True]}[args.shape]
    for per_line in shapes:
        export = measure(per_line)
        shape = "one row per order line" if per_line else "one row per order"
        rate = export["rows"] / export["seconds"]
        print(f"\n{shape}: {export['rows']:,} rows, {export['bytes'] / 2**20:.0f} MiB")
        print(f"  export job   {export['seconds']:7.2f} s  ({rate:,.0f} rows/s)")
        print(f"  psql \\copy   {export['psql_seconds']:7.2f} s")
        print(f"  ratio        {export['seconds'] / export['psql_seconds']:7.2f}x  (export / psql)")
        print(
            f"  peak memory  {export['rss_peak_kib'] / 1024:7.1f} MiB resident "
            f"({export['rss_before_kib'] / 1024:.1f} MiB before the export started)"
        )
        print(f"  same bytes as psql (after the BOM): {'yes' if export['same'] else 'NO'}")


def measure(per_line: bool, database_url: str = DATABASE_URL) -> dict:
    """One shape of the export on the orders in ``database_url``: the export job in a fresh
    process, then ``psql \\copy`` of its very SELECT; their times, the job's memory and whether
    both files hold the same bytes (the files are removed)."""
    export_dir = tempfile.mkdtemp(prefix="oms-bench-export-")
    try:
        export = in_child(_export_child, per_line, export_dir, database_url)
        assert export["outcome"] == "finished", export
        target = Path(export_dir) / "psql.csv"
        export["psql_seconds"] = psql_copy(export["sql"], target, database_url)
        export["same"] = sha256(Path(export["path"]), skip=3) == sha256(target)  # 3: the BOM
        return export
    finally:
        shutil.rmtree(export_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
