"""Load generators, each its own process on loopback: wrk for a timed run of one request
shape, and a burst client (``python -m benchmarks.load burst ...``) that sends a fixed number
of orders over keep-alive connections and records when each was sent.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"
ADDRESS = {"line1": "1 Bench Street", "city": "Oslo", "postal_code": "0150", "country": "NO"}


def wrk(script: str, url: str, *, connections: int, seconds: int, args: list[str]) -> dict:
    """Run ``benchmarks/wrk/<script>`` against ``url``; answers per status, rate of 2xx
    answers per second, latency p50/p99 in ms."""
    threads = 2
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={WRK_DIR / script}",
        url,
        "--",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or "STATUSES" not in result.stdout:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    statuses = {
        int(code): int(count)
        for code, count in re.findall(r"(\d+)=(\d+)", result.stdout.split("STATUSES", 1)[1])
        if len(code) == 3
    }
    latency = re.search(r"LATENCY_MS p50=([\d.]+) p99=([\d.]+)", result.stdout)
    run = re.search(r"RUN requests=(\d+) seconds=([\d.]+) errors=(\d+)", result.stdout)
    assert latency and run, result.stdout
    ok = sum(count for code, count in statuses.items() if 200 <= code < 300)
    return {
        "statuses": statuses,
        "ok": ok,
        "rate": ok / float(run.group(2)),
        "p50": float(latency.group(1)),
        "p99": float(latency.group(2)),
        "socket_errors": int(run.group(3)),
    }


def burst(
    url: str, *, tokens: list[str], products: list[str], orders: int, lines: int, connections: int
) -> list[dict]:
    """POST ``orders`` orders of ``lines`` distinct products over ``connections`` keep-alive
    connections as fast as they are answered; per order its id (when accepted), the status
    code and the wall-clock time it was sent."""
    host, port = url.removeprefix("http://").split(":")
    results: list[dict] = []
    lock = threading.Lock()
    counter = iter(range(orders))

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        rng = random.Random()
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            chosen = rng.sample(products, lines)
            body = json.dumps(
                {
                    "items": [{"product_id": p, "quantity": 1} for p in chosen],
                    "shipping_address": ADDRESS,
                }
            )
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {rng.choice(tokens)}",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            sent = time.time()
            conn.request("POST", "/api/v1/orders", body, headers)
            response = conn.getresponse()
            payload = response.read()
            answered = time.time()
            order_id = json.loads(payload).get("id") if response.status == 202 else None
            with lock:
                results.append(
                    {"id": order_id, "status": response.status, "sent": sent, "answered": answered}
                )
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def run_burst(url: str, tokens: Path, products: Path, **options) -> list[dict]:
    """``burst`` in a process of its own (its threads must not share the harness's GIL)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.load",
        "burst",
        url,
        str(tokens),
        str(products),
        *(f"--{name}={value}" for name, value in options.items()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["burst"])
    parser.add_argument("url")
    parser.add_argument("tokens", type=Path)
    parser.add_argument("products", type=Path)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    results = burst(
        options.url,
        tokens=options.tokens.read_text().split(),
        products=options.products.read_text().split(),
        orders=options.orders,
        lines=options.lines,
        connections=options.connections,
    )
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
