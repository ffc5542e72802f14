"""Socket.IO fan-out: dashboards connected over WebSocket to the socket process, orders moved
one at a time over HTTP, every dashboard must hear every move.

The dashboards are a process of their own (``python -m benchmarks.fanout listen ...``): one
python-socketio ``AsyncClient`` per dashboard on one asyncio loop. A dashboard's latency is
from the event's own ``at`` (stamped inside the order's transaction, just before its commit,
so an upper bound of commit to receipt) to the moment its handler runs. The listener shares
the machine's cores with the stack, and its handlers run one after another: with hundreds of
dashboards on one loop, part of the last one's latency is the listener's own queue.

The baseline is Redis pub/sub one way, publisher to one subscriber, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import redis

from benchmarks import stack

EVENT = "order.status_changed"
COUNTS = ("connected", "still_connected", "received", "expected")


# ---- the listener process ----


async def _listen(url: str, tokens: list[str], clients: int, expect: int, timeout: float) -> dict:
    import socketio

    received: list[list[float]] = [[] for _ in range(clients)]
    by_event: dict[str, list[float]] = {}
    done = asyncio.Event()
    complete = 0

    def handler(n: int):
        def on_event(data):
            nonlocal complete
            arrived = time.time()
            at = datetime.fromisoformat(data["at"]).timestamp()
            received[n].append((arrived - at) * 1000)
            by_event.setdefault(data["id"], []).append((arrived - at) * 1000)
            if len(received[n]) == expect:
                complete += 1
                if complete == clients:
                    done.set()

        return on_event

    dashboards = []
    for n in range(clients):
        client = socketio.AsyncClient(reconnection=False)
        client.on(EVENT, handler(n))
        dashboards.append(client)

    async def connect(n: int) -> None:
        await dashboards[n].connect(
            url, auth={"token": tokens[n % len(tokens)]}, transports=["websocket"], wait_timeout=30
        )

    # in batches, as dashboards open over a few seconds rather than all in one instant
    for start in range(0, clients, 50):
        await asyncio.gather(*(connect(n) for n in range(start, min(start + 50, clients))))
    connected = sum(client.connected for client in dashboards)
    print(f"READY {connected}", flush=True)
    # the harness moves the orders now, then the listener waits for every event or the timeout
    if expect:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
    still = sum(client.connected for client in dashboards)
    await asyncio.gather(*(client.disconnect() for client in dashboards))
    return {
        "connected": connected,
        "still_connected": still,
        "received": sum(len(r) for r in received),
        "expected": clients * expect,
        "latencies": [value for r in received for value in r],
        "spread": {event: [min(v), max(v)] for event, v in by_event.items()},
    }


def listen_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout listen")
    parser.add_argument("url")
    parser.add_argument("tokens", type=Path, help="a file of access tokens, one a line")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--expect", type=int, required=True, help="events each client waits for")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    tokens = args.tokens.read_text().split()
    result = asyncio.run(_listen(args.url, tokens, args.clients, args.expect, args.timeout))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# ---- the harness's side ----


class Listener:
    """A listener process: started, then waited for READY, then for its RESULT."""

    def __init__(self, url: str, tokens: Path, *, clients: int, expect: int, log: Path):
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 (closed in result)
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.fanout",
                "listen",
                url,
                str(tokens),
                f"--clients={clients}",
                f"--expect={expect}",
            ],
            cwd=stack.ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def ready(self, timeout: float = 300) -> int:
        """How many of its dashboards connected, once all tried."""
        deadline = time.monotonic() + timeout
        assert self.popen.stdout is not None
        while time.monotonic() < deadline:
            line = self.popen.stdout.readline()
            if line.startswith("READY "):
                return int(line.split()[1])
            if not line and self.popen.poll() is not None:
                break
        raise RuntimeError(f"a listener did not connect:\n{self.log_path.read_text()[-3000:]}")

    def result(self, timeout: float = 300) -> dict:
        """What its dashboards received, after they stopped waiting."""
        out, _ = self.popen.communicate(timeout=timeout)
        self._log.close()
        for line in out.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line.removeprefix("RESULT "))
        raise RuntimeError(f"a listener gave no result:\n{self.log_path.read_text()[-3000:]}")


class Dashboards:
    """``clients`` dashboards spread over ``processes`` listener processes, so that one
    loop's queue of handlers is not most of what is measured."""

    def __init__(
        self, url: str, tokens: Path, *, clients: int, expect: int, processes: int, logs: Path
    ):
        shares = [clients // processes + (n < clients % processes) for n in range(processes)]
        self.listeners = [
            Listener(url, tokens, clients=share, expect=expect, log=logs / f"listener{n}.log")
            for n, share in enumerate(shares)
            if share
        ]

    def ready(self) -> int:
        """How many dashboards connected in all."""
        return sum(listener.ready() for listener in self.listeners)

    def result(self) -> dict:
        """The listeners' results added up."""
        results = [listener.result() for listener in self.listeners]
        spread: dict[str, list[float]] = {}
        for r in results:
            for event, (first, last) in r["spread"].items():
                known = spread.setdefault(event, [first, last])
                known[:] = [min(known[0], first), max(known[1], last)]
        return {
            **{key: sum(r[key] for r in results) for key in COUNTS},
            "latencies": [v for r in results for v in r["latencies"]],
            # per change: its first and its last dashboard's latency
            "first": [first for first, _ in spread.values()],
            "last": [last for _, last in spread.values()],
        }


def redis_one_way(messages: int, gap: float = 0.005) -> dict:
    """Redis pub/sub publisher to one subscriber on the benchmark's Redis: p50/p99 in ms."""
    client = redis.Redis.from_url(stack.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    channel = "bench:fanout:baseline"
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    latencies: list[float] = []

    def receive() -> None:
        while len(latencies) < messages:
            message = pubsub.get_message(timeout=5)
            if message is None:
                continue
            latencies.append((time.time() - float(message["data"])) * 1000)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    for _ in range(messages):
        client.publish(channel, repr(time.time()))
        time.sleep(gap)
    thread.join(30)
    pubsub.close()
    return stack.percentiles(latencies)


if __name__ == "__main__":
    if sys.argv[1:2] != ["listen"]:
        sys.exit("usage: python -m benchmarks.fanout listen URL TOKENS --clients N --expect M")
    sys.exit(listen_main(sys.argv[2:]))
