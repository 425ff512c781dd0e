"""Catalog pages under an attack on the shared API budget (prints figures; not a test).

The sandbox runs at its real limit (300 calls a minute per address) with 50 ms latency; the
storefront under gunicorn (production settings) with its catalog sync worker. For
``--seconds``, ``--attackers`` clients loop over requests built to miss every cache (random
searches, category/date combinations, cursors and event ids that do not exist) while
``--visitors`` clients browse as buyers do (the list, then random event pages). Printed: what
the visitors got (503s above all), what the attackers got, and how many calls reached the API
against what the sync spends on its own (``--quiet-seconds`` of no traffic first).

    .venv/bin/python -m bench.catalog_attack [--seconds 30] [--attackers 8] [--visitors 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import string
import time
from collections import Counter
from typing import Any

import httpx

from bench.common import WRITE_KEY, buyer_headers, percentile, stack


def attack_paths(rng: random.Random) -> str:
    word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
    choice = rng.randrange(5)
    if choice == 0:
        return f"/?q={word}"
    if choice == 1:
        return f"/?q={word}&category={rng.randint(1, 50)}&date_from=2027-0{rng.randint(1, 9)}-01"
    if choice == 2:
        return f"/?cursor={word}{rng.randint(0, 10**9)}"
    if choice == 3:
        return f"/events/{rng.randint(10**6, 10**9)}/"
    return f"/?date_from=2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


async def attacker(
    base: str, number: int, deadline: float, statuses: Counter[int], seed: int
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=buyer_headers(number)) as c:
        while time.monotonic() < deadline:
            response = await c.get(attack_paths(rng))
            statuses[response.status_code] += 1


async def visitor(
    base: str,
    number: int,
    deadline: float,
    event_paths: list[str],
    statuses: Counter[int],
    latencies: list[float],
    seed: int,
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=buyer_headers(number)) as c:
        while time.monotonic() < deadline:
            path = "/" if rng.random() < 0.2 else rng.choice(event_paths)
            started = time.perf_counter()
            response = await c.get(path, follow_redirects=True)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1


def event_paths(sandbox: str) -> list[str]:
    """Every active event's storefront path, read from the sandbox directly."""
    from guestmanager import GuestManagerClient

    with GuestManagerClient(f"{sandbox}/sandbox/api/public/v2", WRITE_KEY) as client:
        params = {**client.event_query(filters={"status": "active"}), "page": {"size": 200}}
        return [
            f"/events/{e['id']}/{e.get('slug') or 'event'}/"
            for page in client.iter_pages("/events", params)
            for e in page.data
        ]


def wait_until_listed(base: str, timeout: float = 120) -> None:
    """The first sync pass has completed when the list answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{base}/", timeout=30).status_code == 200:
            return
        time.sleep(0.5)
    raise SystemExit("the events list never answered 200: did the catalog sync start?")


async def run(args: argparse.Namespace, s: Any) -> dict[str, Any]:
    paths = event_paths(s.sandbox)
    deadline = time.monotonic() + args.seconds
    attacked: Counter[int] = Counter()
    visited: Counter[int] = Counter()
    latencies: list[float] = []
    await asyncio.gather(
        *(attacker(s.storefront, n, deadline, attacked, n) for n in range(args.attackers)),
        *(
            visitor(s.storefront, 1000 + n, deadline, paths, visited, latencies, 1000 + n)
            for n in range(args.visitors)
        ),
    )
    return {"attacked": attacked, "visited": visited, "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--quiet-seconds", type=int, default=30)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--visitors", type=int, default=2)
    args = parser.parse_args()
    with stack(rate_limit=300) as s:
        wait_until_listed(s.storefront)
        s.sandbox_control("POST", "stats")
        time.sleep(args.quiet_seconds)
        quiet = s.sandbox_control("GET", "stats")["total"]
        s.sandbox_control("POST", "stats")
        started = time.monotonic()
        result = asyncio.run(run(args, s))
        elapsed = time.monotonic() - started
        upstream = s.sandbox_control("GET", "stats")
    visited, attacked, latencies = result["visited"], result["attacked"], result["latencies"]
    served = sum(visited.values())
    print(
        f"catalog under attack: {args.attackers} attackers, {args.visitors} visitors, "
        f"{args.seconds} s; sandbox at 300 calls/min, +50 ms"
    )
    print(
        f"  visitors:  {served} pages, {visited[503]} × 503, statuses {dict(visited)}, "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms"
    )
    print(f"  attackers: {sum(attacked.values())} requests, statuses {dict(attacked)}")
    quiet_rate = quiet / (args.quiet_seconds / 60)
    rate = upstream["total"] / (elapsed / 60)
    print(
        f"  upstream calls: at rest {quiet} in {args.quiet_seconds} s ({quiet_rate:.1f}/min); "
        f"under attack {upstream['total']} in {elapsed:.1f} s ({rate:.1f}/min) "
        f"{upstream['by_route']}"
    )


if __name__ == "__main__":
    main()
