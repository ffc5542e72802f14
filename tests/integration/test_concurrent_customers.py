"""Fifty customers submit at the same moment against the server ``make run`` starts: on the
embedded default (a SQLite file, tasks run in the web process) and on PostgreSQL (tasks in the
web process too). Every answer is 202 or 409, order numbers never collide, and the stock
invariant holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.conftest import STOCK_INVARIANT_SQL, TEST_DATABASE_URL
from tests.factories import ADDRESS
from tests.integration.conftest import http
from tests.processes import ROOT, Process, free_port, wait_for

pytestmark = pytest.mark.slow

CUSTOMERS = 50
STOCK = 20  # fewer units than customers: some are refused (409) or rejected
PRODUCT = "Rush-hour kettle"

# Run in the server's own environment (same instance dir, so the same JWT key): customers
# straight through the service the ``users create`` CLI calls, and a token for each, so the
# login rate limit does not decide the test.
SEED = """
import json, sys
from wsgi import app
from oms.auth import service
from oms.auth.enums import UserRole
from oms.auth.tokens import issue_tokens
from tests.factories import make_product

out, customers, stock, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with app.app_context():
    product = make_product(name=name, stock=stock)
    users = [
        service.create_user(
            email=f"rush{i}@example.test", password="rush-pass-123", role=UserRole.CUSTOMER,
            first_name="Rush", last_name=f"Customer {i}",
        )
        for i in range(customers)
    ]
    tokens = [issue_tokens(user)["access_token"] for user in users]
    with open(out, "w") as f:
        json.dump({"product_id": str(product.id), "tokens": tokens}, f)
"""


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    """``make run PORT=<free port>`` in a clean environment with an instance dir of its own:
    the embedded default, or the test PostgreSQL database (no Redis: tasks run eagerly)."""
    instance = tmp_path / "instance"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "OMS_INSTANCE_DIR": str(instance),
        "PYTHONUNBUFFERED": "1",
    }
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'oms.sqlite3'}"
    else:
        request.getfixturevalue("app")  # migrated; emptied and checked after the test
        url = env["OMS_DATABASE_URL"] = TEST_DATABASE_URL
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = Process(["make", "run", f"PORT={port}"], env, tmp_path / "run.log")
    try:
        wait_for(lambda: _healthy(base) or process.popen.poll() is not None, 300)
        assert _healthy(base), process.log()[-3000:]
        seed_file = tmp_path / "seed.json"
        subprocess.run(
            [sys.executable, "-c", SEED, str(seed_file), str(CUSTOMERS), str(STOCK), PRODUCT],
            env={**env, "OMS_BCRYPT_ROUNDS": "4", "OMS_LOG_LEVEL": "WARNING"},
            cwd=ROOT,
            check=True,
            timeout=300,
        )
        seed = json.loads(seed_file.read_text())
        yield SimpleNamespace(base=base, url=url, process=process, **seed)
    finally:
        process.stop()


def _submit_at_once(server) -> list[tuple[int, dict]]:
    """One order of one unit per customer, all released by a barrier at the same moment."""
    line = {"product_id": server.product_id, "quantity": 1}
    body = {"items": [line], "shipping_address": ADDRESS}
    barrier = threading.Barrier(len(server.tokens))

    def submit(token: str) -> tuple[int, dict]:
        barrier.wait()
        try:
            return http("POST", f"{server.base}/api/v1/orders", body, token)
        except (OSError, ValueError) as exc:  # no answer, or not JSON: shown in the failure
            return 0, {"error": repr(exc)}

    with ThreadPoolExecutor(max_workers=len(server.tokens)) as pool:
        return list(pool.map(submit, server.tokens))


def _database_state(url: str) -> SimpleNamespace:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(
                sa.text(
                    "SELECT o.number, o.status FROM orders o"
                    " JOIN order_items i ON i.order_id = o.id"
                    " JOIN products p ON p.id = i.product_id WHERE p.name = :name"
                ),
                {"name": PRODUCT},
            ).all()
            product = conn.execute(
                sa.text("SELECT inventory_count, reserved_count FROM products WHERE name = :name"),
                {"name": PRODUCT},
            ).one()
            violations = conn.execute(sa.text(STOCK_INVARIANT_SQL)).all()
    finally:
        engine.dispose()
    return SimpleNamespace(orders=orders, product=product, violations=violations)


def test_fifty_customers_submit_at_the_same_moment(server):
    results = _submit_at_once(server)

    statuses = Counter(status for status, _ in results)
    unexpected = [(status, body) for status, body in results if status not in (202, 409)]
    assert not unexpected, (statuses, unexpected[:3], server.process.log()[-3000:])
    refusals = [body["error"]["code"] for status, body in results if status == 409]
    assert set(refusals) <= {"insufficient_stock"}, Counter(refusals)
    numbers = [body["number"] for status, body in results if status == 202]
    assert len(set(numbers)) == len(numbers), Counter(numbers).most_common(3)

    state = _database_state(server.url)
    assert sorted(number for number, _ in state.orders) == sorted(numbers)
    decided = Counter(status for _, status in state.orders)
    # the reservation ran in each request, after its commit: none is left pending, and the
    # units went to exactly as many orders as there were units
    assert decided["pending"] == 0, decided
    assert decided["placed"] == STOCK, decided
    assert decided["placed"] + decided["rejected"] == len(numbers), decided
    assert (state.product.inventory_count, state.product.reserved_count) == (STOCK, STOCK)
    assert not state.violations, state.violations
