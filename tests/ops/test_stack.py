"""Operations: `make stack` end to end, Flower behind basic auth, compose validation."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
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
from tests.processes import ROOT, PrivateRedis, Process, free_port, wait_for

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
STACK_DATABASE = "oms_test_stack"


def _fresh_stack_database() -> str:
    """A plain ``postgresql://`` URL (the form libpq tools give) of a database that does not
    exist yet: ``make stack`` must create, migrate and fill it."""
    url = make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {STACK_DATABASE} WITH (FORCE)"))
    admin.dispose()
    return f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{STACK_DATABASE}"


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
    """`make stack` as a newcomer runs it: a clean PATH, nothing but the README's command."""
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
        assert wait_for(
            lambda: listener.of("order.status_changed", order_id=order["id"], new_status="placed"),
            30,
        ), listener.events

        assert wait_for(
            lambda: _get(f"http://127.0.0.1:{flower_port}/", "ops:secret-pass") == 200, 60
        ), stack.log()[-3000:]
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


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_validates():
    command = _compose_command()
    if command is None:
        message = (
            "neither `docker compose` nor `docker-compose` is installed: compose file NOT validated"
        )
        if os.environ.get("OMS_REQUIRE_COMPOSE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "OMS_SECRET_KEY": "x" * 40,
        "OMS_JWT_SECRET_KEY": "y" * 40,
        "OMS_METRICS_TOKEN": "m" * 40,
        "FLOWER_BASIC_AUTH": "a:b",
    }
    result = subprocess.run([*command, "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for service in ("postgres", "redis", "proxy", "web", "socket", "worker", "beat", "flower"):
        assert f"  {service}:" in result.stdout
    assert result.stdout.count("healthcheck:") >= 8
