"""Operations: `make stack` end to end, Flower behind basic auth (compose: test_packaging.py)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL
from tests.factories import ADDRESS
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener
from tests.processes import PrivateRedis, Process, free_port, wait_for

pytestmark = pytest.mark.slow


def _get(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _flower_tasks(port: int, auth: str) -> list[dict]:
    """The tasks Flower has seen (from the workers' task events)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/tasks?limit=100")
    request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.load(response).values())
    except OSError:
        return []


# What a newcomer's shell has: no venv on PATH (the Makefile must find its own executables).
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"
# one per test database, so two checkouts' runs on one PostgreSQL never drop each other's
STACK_DATABASE = f"{make_url(TEST_DATABASE_URL).database}_stack"


def _mailed(mail_dir, text: str) -> bool:
    """Whether an .eml file in ``mail_dir`` holds ``text``."""
    return any(text in path.read_text(errors="replace") for path in mail_dir.glob("*.eml"))


def _fresh_stack_database() -> str:
    """A plain ``postgresql://`` URL (the form libpq tools give) of a database that does not
    exist yet: ``make stack`` must create, migrate and fill it."""
    url = make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {STACK_DATABASE} WITH (FORCE)"))
    admin.dispose()
    return f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{STACK_DATABASE}"


# honcho prefixes each line a process writes with the time and the process's name
_HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<process>\S+?)\.\d+\s+\| (?P<line>.*)$")
STACK_PROCESSES = {"web", "socket", "worker", "beat", "flower"}


def _process_lines(log: str) -> list[tuple[str, str]]:
    """(process, line) of every line the stack's processes wrote (honcho's own are left out)."""
    found = (_HONCHO_LINE.match(line) for line in log.splitlines())
    return [(m["process"], m["line"]) for m in found if m and m["process"] != "system"]


def _not_json(line: str) -> bool:
    try:
        return not isinstance(json.loads(line), dict)
    except ValueError:
        return True


def _make_stack(tmp_path, redis_server: PrivateRedis) -> tuple[Process, int, int, int]:
    """`make stack` as a newcomer runs it (a clean PATH, nothing but the README's command) on
    ``redis_server``, once web answers: the process and its web, socket and Flower ports."""
    web_port, socket_port, flower_port = free_port(), free_port(), free_port()
    env = {
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "PATH": CLEAN_PATH,
        "STACK_DATABASE_URL": _fresh_stack_database(),
        "STACK_REDIS_URL": redis_server.url,
        "STACK_FLOWER_AUTH": "ops:secret-pass",
        "FLOWER_PORT": str(flower_port),
        "OMS_INSTANCE_DIR": str(tmp_path),
        "OMS_BCRYPT_ROUNDS": "4",
        "OMS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    stack = Process(
        ["make", "--no-print-directory", "stack", f"PORT={web_port}", f"SOCKET_PORT={socket_port}"],
        env,
        tmp_path / "stack.log",
    )
    base = f"http://127.0.0.1:{web_port}"
    assert wait_for(lambda: _get(f"{base}/readyz") == 200, 120), stack.log()[-3000:]
    assert wait_for(lambda: "ready." in stack.log() and "beat: Starting" in stack.log(), 60), (
        stack.log()[-3000:]
    )
    return stack, web_port, socket_port, flower_port


def _post_order(base: str, token: str) -> dict:
    """An order of one unit of the product with the most units, accepted (202). Just after
    Redis came back a request may still meet a dead connection of the pool: 503, then 202."""
    products = http("GET", f"{base}/api/v1/products?limit=200", token=token)[1]["items"]
    product = max(products, key=lambda p: p["available"])
    body = {"items": [{"product_id": product["id"], "quantity": 1}], "shipping_address": ADDRESS}
    answers = []

    def accepted() -> bool:
        answers.append(http("POST", f"{base}/api/v1/orders", body, token))
        assert answers[-1][0] in (202, 503), answers[-1]
        return answers[-1][0] == 202

    assert wait_for(accepted, 30, interval=0.5), answers[-1]
    return answers[-1][1]


def _place_order(base: str, token: str) -> dict:
    """An order, once the worker has placed it."""
    order = _post_order(base, token)
    assert wait_for(
        lambda: (
            http("GET", f"{base}/api/v1/orders/{order['id']}", token=token)[1]["status"] == "placed"
        ),
        60,
    ), order
    return order


def _customer_token(base: str) -> str:
    status, body = http(
        "POST",
        f"{base}/api/v1/auth/login",
        {"email": "customer@example.com", "password": "customer-pass-123"},
    )
    assert status == 200, body
    return body["access_token"]


def test_make_stack_runs_an_order_through_web_worker_beat_and_flower(tmp_path):
    """`make stack` as a newcomer runs it: a clean PATH, nothing but the README's command.

    Every line every process writes is one JSON object, and the request id of the request
    that placed an order is on the lines of the task the worker ran for it."""
    redis_server = PrivateRedis()
    redis_server.start()
    stack, web_port, socket_port, flower_port = _make_stack(tmp_path, redis_server)
    listener = None
    try:
        base = f"http://127.0.0.1:{web_port}"
        status, body = http(
            "POST",
            f"{base}/api/v1/auth/login",
            {"email": "customer@example.com", "password": "customer-pass-123"},
        )
        assert status == 200, body
        token = body["access_token"]
        # the pages' live connection goes to the socket process on its own port
        page = urllib.request.urlopen(f"{base}/login", timeout=10).read().decode()
        assert f'data-socket-url="http://127.0.0.1:{socket_port}"' in page
        assert wait_for(lambda: _get(f"http://127.0.0.1:{socket_port}/readyz") == 200, 60)
        listener = Listener(f"http://127.0.0.1:{socket_port}", token, transports=["websocket"])
        products = http("GET", f"{base}/api/v1/products?limit=200", token=token)[1]["items"]
        product = max(products, key=lambda p: p["available"])
        status, order = http(
            "POST",
            f"{base}/api/v1/orders",
            {
                "items": [{"product_id": product["id"], "quantity": 1}],
                "shipping_address": ADDRESS,
            },
            token,
            headers={"X-Request-ID": "stack-order-1"},
        )
        assert status == 202, order
        assert order["status"] == "pending"  # the web process only accepts it
        assert wait_for(
            lambda: (
                http("GET", f"{base}/api/v1/orders/{order['id']}", token=token)[1]["status"]
                == "placed"
            ),
            30,
        ), stack.log()[-3000:]
        assert "inventory.reserve_order" in stack.log()  # the worker process did it
        # the worker's email links to the order at the port `make stack` serves on
        order_link = f"{base}/customer/orders/{order['id']}"
        assert wait_for(lambda: _mailed(tmp_path / "mail", order_link), 30), stack.log()[-3000:]

        def reservation_lines() -> list[dict]:
            return [
                json.loads(line)
                for process, line in _process_lines(stack.log())
                if process == "worker" and "stack-order-1" in line
            ]

        # the request id rode in the task's headers to the worker and is on its lines
        assert wait_for(
            lambda: any(
                line.get("request_id") == "stack-order-1"
                and line.get("task") == "inventory.reserve_order"
                for line in reservation_lines()
            ),
            30,
        ), stack.log()[-3000:]
        assert wait_for(
            lambda: listener.of("order.status_changed", order_id=order["id"], new_status="placed"),
            30,
        ), listener.events

        assert wait_for(
            lambda: _get(f"http://127.0.0.1:{flower_port}/", "ops:secret-pass") == 200, 60
        ), stack.log()[-3000:]
        # the banner names the Flower that runs, on FLOWER_PORT
        assert f"flower http://127.0.0.1:{flower_port} (ops:secret-pass)" in stack.log()
        assert _get(f"http://127.0.0.1:{flower_port}/") == 401
        assert _get(f"http://127.0.0.1:{flower_port}/", "ops:wrong") == 401

        # workers send no task events until Flower turns them on: it does, and sees the tasks
        def flower_saw_a_reservation() -> bool:
            status, _ = http("POST", f"{base}/api/v1/orders", order_body, token)
            assert status == 202
            names = {t.get("name") for t in _flower_tasks(flower_port, "ops:secret-pass")}
            return "inventory.reserve_order" in names

        order_body = {
            "items": [{"product_id": product["id"], "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        assert wait_for(flower_saw_a_reservation, 60, interval=2), stack.log()[-3000:]
    finally:
        if listener is not None:
            listener.close()
        stack.stop(timeout=40)
        redis_server.stop()
    lines = _process_lines(stack.log())
    assert {process for process, _ in lines} == STACK_PROCESSES
    not_json = [f"{process}: {line}" for process, line in lines if _not_json(line)]
    assert not not_json, "\n".join(not_json[:40])


def _kill_redis(redis_server: PrivateRedis) -> None:
    """SIGKILL the server, as a crash does (no goodbye to its clients)."""
    pid = redis.Redis(port=redis_server.port).info("server")["process_id"]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not redis_server.alive(), 10)


def test_a_redis_crash_leaves_every_make_stack_process_running_or_restarted(tmp_path):
    """Redis killed four times under `make stack` while it works: the stack keeps running (no
    process stopped for good, so honcho stops nothing) and places orders afterwards."""
    redis_server = PrivateRedis()
    redis_server.start()
    stack, web_port, socket_port, flower_port = _make_stack(tmp_path, redis_server)
    try:
        base = f"http://127.0.0.1:{web_port}"
        token = _customer_token(base)
        assert wait_for(
            lambda: _get(f"http://127.0.0.1:{flower_port}/", "ops:secret-pass") == 200, 60
        ), stack.log()[-3000:]
        for _ in range(4):  # the worker exited on one kill of two before restart-on-exit
            _place_order(base, token)
            # the worker holds unacknowledged reservations when Redis dies
            for _ in range(10):
                _post_order(base, token)
            _kill_redis(redis_server)
            time.sleep(2)  # the processes notice Redis gone and retry meanwhile
            redis_server.start()
            assert wait_for(lambda: _get(f"{base}/readyz") == 200, 60), stack.log()[-3000:]
        _place_order(base, token)
        assert _get(f"http://127.0.0.1:{socket_port}/readyz") == 200
        assert _get(f"http://127.0.0.1:{flower_port}/", "ops:secret-pass") == 200
        assert stack.popen.poll() is None, stack.log()[-5000:]
        # honcho says "<name> stopped" when a process of the Procfile ends: the stack would stop
        assert " stopped (rc=" not in stack.log(), stack.log()[-5000:]
    finally:
        stack.stop(timeout=40)
        redis_server.stop()
