"""Catalog throughput under load (prints figures; not a test).

The storefront runs under granian as ``make serve`` runs it (2 workers, production settings;
``--servers granian,gunicorn`` also under gunicorn, one after the other in the same run)
against the sandbox as a separate process with 50 ms added latency. For 20 s, 50 concurrent
clients (25 on the events list, 25 on an event page) load pages from a second process; we
print requests/s, latency percentiles and how many calls reached the API.

    .venv/bin/python -m bench.catalog [--seconds 20] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx

from bench.common import (
    SERVERS,
    add_load,
    add_sandbox_latency,
    add_server,
    arguments,
    percentile,
    stack,
)


def wrk(
    url: str,
    clients: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> dict[str, float]:
    header_args = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency", *header_args, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


async def python_load(url: str, clients: int, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 400

    await asyncio.gather(*(worker() for _ in range(clients)))
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "errors": float(errors),
    }


def cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) the web server's workers have used so far: per request,
    a figure that other work on a shared machine moves far less than requests per second."""
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    total = 0.0
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def load(
    url: str, clients: int, seconds: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(url, clients, seconds, headers, threads=2 if headers else 1)
    return asyncio.run(python_load(url, clients, seconds))


def main() -> None:
    parser = arguments(__doc__)
    add_load(parser, seconds=20, clients=True)
    add_sandbox_latency(parser)
    add_server(parser, workers=False)  # two, as its figures say
    parser.add_argument(
        "--servers",
        help="comma-separated servers to measure one after the other (e.g. granian,gunicorn)",
    )
    parser.add_argument("--list-only", action="store_true", help="all clients on the list")
    parser.add_argument(
        "--each",
        action="store_true",
        help="all clients on one page, then on the other, with Accept-Encoding: gzip "
        "(wrk, 2 threads), as issue 18's figures through the app server alone",
    )
    args = parser.parse_args()
    servers = args.servers.split(",") if args.servers else [args.server]
    for server in servers:
        if server not in SERVERS:
            parser.error(f"--servers: {server!r} is not one of {', '.join(SERVERS)}")
    for server in servers:
        measure(args, server)


def measure(args: argparse.Namespace, server: str) -> None:
    with stack(latency_ms=args.latency_ms, threads=args.threads, server=server) as s:
        event_url = s.storefront + s.event_path("Sandbox Showcase")
        list_url = f"{s.storefront}/"
        for url in (list_url, event_url):  # warm the cache
            for _ in range(3):
                assert httpx.get(url, timeout=30).status_code == 200
        s.sandbox_control("POST", "stats")
        started = time.monotonic()
        pages = [("events list", list_url), ("event page", event_url)]
        if args.list_only:
            pages = pages[:1]
        results: dict[str, dict[str, float]] = {}
        if args.each:
            for name, url in pages:
                used = sum(cpu_seconds(pid) for pid in s.web_pids)
                results[name] = load(url, args.clients, args.seconds, {"Accept-Encoding": "gzip"})
                used = sum(cpu_seconds(pid) for pid in s.web_pids) - used
                results[name]["cpu_ms"] = used * 1000 / max(results[name]["requests"], 1)
                time.sleep(2)
        else:
            per_page = args.clients // len(pages)

            def run(name: str, url: str) -> None:
                results[name] = load(url, per_page, args.seconds)

            threads = [threading.Thread(target=run, args=page) for page in pages]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        elapsed = time.monotonic() - started
        upstream = s.sandbox_control("GET", "stats")
    tool = "wrk" if shutil.which("wrk") else "python asyncio"
    how = "each page alone, gzip" if args.each else "split between the pages"
    print(
        f"catalog benchmark: {args.clients} clients ({how}) for {args.seconds}s ({tool}), "
        f"API latency +{args.latency_ms:.0f} ms, {server} 2 workers x {args.threads} threads"
    )
    for name, r in results.items():
        print(
            f"  {name:12s} {r['rps']:8.1f} req/s   p50 {r['p50']:6.1f} ms   "
            f"p99 {r['p99']:6.1f} ms   errors {int(r['errors'])}"
            + (f"   storefront CPU {r['cpu_ms']:.2f} ms/request" if "cpu_ms" in r else "")
        )
    if not args.each:
        total = sum(r["rps"] for r in results.values())
        print(f"  combined     {total:8.1f} req/s")
    per_minute = upstream["total"] / (elapsed / 60)
    print(
        f"  upstream API calls: {upstream['total']} in {elapsed:.1f}s = {per_minute:.1f}/min "
        f"{upstream['by_route']}"
    )


if __name__ == "__main__":
    main()
