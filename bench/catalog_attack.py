"""Catalog pages under an attack on the shared API budget (prints figures; not a test).

The sandbox runs at its real limit (300 calls a minute per address) with 50 ms latency; the
storefront under granian (production settings) with its catalog sync worker. For
``--seconds``, ``--attackers`` clients loop over requests built to miss every cache (random
searches, category/date combinations, cursors and event ids that do not exist) while
``--visitors`` clients browse as buyers do (the list, then random event pages). Printed: what
the visitors got (503s above all), what the attackers got, and for ``--quiet-seconds`` of no
traffic first, then the attack: the calls that reached the API, of which the sync's own (its
count on /healthz), /healthz's probes (this script reads it) and the rest, the calls visitors
and attackers caused, which should be none.

    .venv/bin/python -m bench.catalog_attack [--seconds 30] [--attackers 8] [--visitors 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import string
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import WRITE_KEY, add_load, arguments, buyer_headers, percentile, stack


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


async def run(args: argparse.Namespace, s: Any, paths: list[str]) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Reading:
    """The calls the sandbox has answered, and those the sync has recorded, at one moment."""

    at: float  # time.monotonic()
    upstream: int
    by_route: dict[str, int]
    sync: int

    @property
    def counts(self) -> tuple[int, int]:
        return self.upstream, self.sync


def reading(s: Any) -> Reading:
    # /healthz first: a probe it makes is in the sandbox's count read just after.
    health = httpx.get(f"{s.storefront}/healthz", timeout=30).json()
    stats = s.sandbox_control("GET", "stats")
    return Reading(
        time.monotonic(), stats["total"], stats["by_route"], health["replica"]["sync_calls"]
    )


def settled_reading(s: Any, gap: float = 1.0, attempts: int = 60) -> Reading:
    """A reading no sync pass straddles: a pass's calls reach the sandbox before the sync
    records them, so read until two readings ``gap`` seconds apart agree."""
    last = reading(s)
    for _ in range(attempts):
        time.sleep(gap)
        now = reading(s)
        if now.counts == last.counts:
            return now
        last = now
    raise SystemExit("the sync never paused long enough to read its count of calls")


def is_health_probe(route: str) -> bool:
    """/healthz probes the API's root (the company)."""
    method, _, path = route.partition(" ")
    return method == "GET" and path.rstrip("/").endswith("api/public/v2")


@dataclass(frozen=True)
class Phase:
    seconds: float
    upstream: int
    sync: int
    probes: int
    by_route: dict[str, int]

    @property
    def rest(self) -> int:
        """Calls neither the sync nor /healthz made: caused by visitors or attackers."""
        return self.upstream - self.sync - self.probes


def phase(start: Reading, end: Reading) -> Phase:
    routes = {r: n - start.by_route.get(r, 0) for r, n in end.by_route.items()}
    routes = {r: n for r, n in routes.items() if n}
    return Phase(
        seconds=end.at - start.at,
        upstream=end.upstream - start.upstream,
        sync=end.sync - start.sync,
        probes=sum(n for r, n in routes.items() if is_health_probe(r)),
        by_route=routes,
    )


def describe(name: str, calls: Phase) -> str:
    rate = calls.upstream / (calls.seconds / 60)
    return (
        f"  upstream calls, {name} {calls.seconds:.1f} s: {calls.upstream} ({rate:.1f}/min), "
        f"of which the sync's {calls.sync}, /healthz probes {calls.probes}, "
        f"the rest (visitors', attackers') {calls.rest}; {calls.by_route}"
    )


def main() -> None:
    parser = arguments(__doc__)
    add_load(parser, seconds=30)
    parser.add_argument("--quiet-seconds", type=int, default=30)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--visitors", type=int, default=2)
    args = parser.parse_args()
    with stack(rate_limit=300) as s:
        wait_until_listed(s.storefront)
        paths = event_paths(s.sandbox)  # calls of this script's own, before the count starts
        before = settled_reading(s)
        time.sleep(args.quiet_seconds)
        quiet_end = settled_reading(s)
        result = asyncio.run(run(args, s, paths))
        attack_end = settled_reading(s)
    quiet, attacked_calls = phase(before, quiet_end), phase(quiet_end, attack_end)
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
    print(describe("at rest", quiet))
    print(describe("attacked", attacked_calls))


if __name__ == "__main__":
    main()
