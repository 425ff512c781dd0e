"""Soak: mixed browsing and checkouts against two storefront instances sharing Redis, with the
API misbehaving the whole time (prints figures; not a test).

Faults, all on at once (sandbox control endpoint): 20% of GETs answer 503, a burst of 429s
with Retry-After every 90 s, 2 s latency spikes on 3% of calls, 15% of payment submissions
applied with the reply lost (connection dropped), and the API unreachable for 10 s every
150 s (from 45 s in). The sandbox keeps the real limit: 300 calls a minute per address.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.soak [--minutes 10]
        [--browsers 6] [--buyers 4] [--instances 2] [--workers 2] [--threads 4]

Prints checkouts attempted/completed, duplicate payment submissions (counted by the sandbox),
lost orders, 5xx shown to buyers, upstream calls per minute and RSS growth per worker.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import buyer
from bench.common import WRITE_KEY, Stack, add_server, arguments, buyer_headers, stack

RATE_LIMIT = 300
FAULTS = {
    "get_error_rate": 0.2,
    "burst_429": {"every_seconds": 90, "length_seconds": 5, "retry_after": 3},
    "spike_ms": 2000,
    "spike_rate": 0.03,
    "payment_reply_lost": 0.15,
    "payment_reply_lost_as": "drop",
}
OUTAGE = {"unreachable": {"every_seconds": 150, "length_seconds": 10}}
OUTAGE_FROM = 45  # seconds into the run, so outages and 429 bursts do not coincide
CHECKOUT_EVENTS = ("Sandbox Showcase", "Quick Ticket Night")
SEARCHES = ("", "night", "concert", "gala", "community", "jazz", "tour", "class", "festival")
BROWSED_EVENTS = 40
SAMPLE_SECONDS = 5


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)  # buyers'
    browsed: Counter[int] = field(default_factory=Counter)
    outcomes: list[buyer.Outcome] = field(default_factory=list)
    unfinished: list[buyer.Buyer] = field(default_factory=list)  # paid for, not confirmed

    def pages(self, status: int) -> None:
        with self.lock:
            self.browsed[status] += 1

    def checkout(self, b: buyer.Buyer, outcome: buyer.Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)
            self.statuses.update(outcome.statuses)
            if outcome.payment_posts and not outcome.completed:
                self.unfinished.append(b)


def api_get(s: Stack, path: str, **params: str) -> dict[str, Any]:
    response = httpx.get(
        f"{s.sandbox}/sandbox/api/public/v2{path}",
        params=params,
        headers={"Authorization": f"Token {WRITE_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def prepare(s: Stack) -> tuple[list[str], list[str]]:
    """Stock for the whole run, the pages browsers visit and the events buyers buy."""
    checkout_paths = []
    for name in CHECKOUT_EVENTS:
        event = api_get(s, "/events", **{"filter[name]": name, "include": "registration_types"})
        event = event["data"][0]
        checkout_paths.append(f"/events/{event['id']}/{event['slug']}/")
        for rt in event["registration_types"]:
            s.sandbox_control("POST", f"variants/{rt['variant_id']}/stock", {"available": 100000})
    events = api_get(s, "/events", **{"filter[status]": "active", "page[size]": "100"})["data"]
    top = [e for e in events if e.get("published_at") and not e.get("parent_event_id")]
    browse = [f"/events/{e['id']}/{e['slug']}/" for e in top[:BROWSED_EVENTS]]
    browse += [f"/?q={q}" if q else "/" for q in SEARCHES]
    return browse, checkout_paths


def warm(s: Stack, paths: list[str]) -> None:
    """Load every page once before the clock starts (a live shop's cache is warm)."""
    for path in paths:
        for _ in range(20):
            if httpx.get(s.storefront + path, timeout=60).status_code == 200:
                break
            time.sleep(0.5)


def browse(s: Stack, paths: list[str], tally: Tally, stop: threading.Event, n: int) -> None:
    with httpx.Client(timeout=60, headers=buyer_headers(50_000 + n)) as web:
        while not stop.is_set():
            response = web.get(random.choice(s.storefronts) + random.choice(paths))
            tally.pages(response.status_code)
            time.sleep(random.uniform(0.05, 0.3))


def shop(
    s: Stack, paths: list[str], tally: Tally, stop: threading.Event, numbers: Iterator[int]
) -> None:
    while not stop.is_set():
        b = buyer.Buyer(s.storefronts, s.stripe, next(numbers), patience=300)
        outcome = b.checkout(random.choice(paths))
        tally.checkout(b, outcome)
        if outcome.completed or not outcome.payment_posts:
            b.close()


def worker_pids(masters: list[int]) -> list[int]:
    pids = []
    for master in masters:
        children = Path(f"/proc/{master}/task/{master}/children")
        pids += [int(p) for p in children.read_text().split()] if children.exists() else []
    return pids


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample_calls(s: Stack, stop: threading.Event, samples: list[tuple[float, int]]) -> None:
    while not stop.wait(SAMPLE_SECONDS):
        samples.append((time.monotonic(), s.sandbox_control("GET", "stats")["total"]))


def busiest_minute(samples: list[tuple[float, int]]) -> int:
    """The most API calls in any 60 s between samples."""
    best = 0
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i:]:
            if t1 - t0 <= 60:
                best = max(best, c1 - c0)
    return best


def lost_orders(s: Stack, tally: Tally) -> tuple[int, int]:
    """(paid but never confirmed to the buyer, confirmed but not paid) once faults are off."""
    paid_unseen = 0
    for b in tally.unfinished:
        state = s.sandbox_control("GET", f"orders/{b.outcome.order_id}")
        charged = any(p["state"] == "completed" for p in state["payments"])
        b.deadline = time.monotonic() + 60
        try:
            seen = buyer.DONE in b.get(f"/orders/{b.outcome.order_id}/").text
        except buyer.GaveUp:
            seen = False
        paid_unseen += charged and not seen
        b.close()
    unpaid_seen = 0
    for outcome in tally.outcomes:
        if outcome.completed:
            state = s.sandbox_control("GET", f"orders/{outcome.order_id}")
            unpaid_seen += state["state"] != "complete"
    return paid_unseen, unpaid_seen


def run(args: argparse.Namespace) -> None:
    web_env = {
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "GM_READ_TIMEOUT": "5",
    }
    with stack(
        latency_ms=50,
        rate_limit=RATE_LIMIT,
        instances=args.instances,
        workers=args.workers,
        threads=args.threads,
        server=args.server,
        web_env=web_env,
    ) as s:
        browse_paths, checkout_paths = prepare(s)
        warm(s, browse_paths + checkout_paths)
        s.sandbox_control("POST", "faults", {"reset": True, **FAULTS})
        s.sandbox_control("POST", "stats")
        workers = worker_pids(s.web_pids)
        rss_before = {pid: rss_kb(pid) for pid in workers}
        tally, stop, samples = Tally(), threading.Event(), [(time.monotonic(), 0)]
        numbers = itertools.count(1)
        started = time.monotonic()
        outage = threading.Timer(OUTAGE_FROM, lambda: s.sandbox_control("POST", "faults", OUTAGE))
        outage.start()
        sampler = threading.Thread(target=sample_calls, args=(s, stop, samples))
        sampler.start()
        with ThreadPoolExecutor(args.browsers + args.buyers) as pool:
            for n in range(args.browsers):
                pool.submit(browse, s, browse_paths, tally, stop, n)
            for _ in range(args.buyers):
                pool.submit(shop, s, checkout_paths, tally, stop, numbers)
            time.sleep(args.minutes * 60)
            stop.set()  # buyers finish the checkout they are in
        elapsed = time.monotonic() - started
        outage.cancel()
        sampler.join()
        stats = s.sandbox_control("GET", "stats")
        s.sandbox_control("POST", "faults", {"reset": True})
        rss_after = {pid: rss_kb(pid) for pid in worker_pids(s.web_pids)}
        lost = lost_orders(s, tally)
    report(args, tally, stats, samples, elapsed, lost, rss_before, rss_after)


def report(
    args: argparse.Namespace,
    tally: Tally,
    stats: dict[str, Any],
    samples: list[tuple[float, int]],
    elapsed: float,
    lost: tuple[int, int],
    rss_before: dict[int, int],
    rss_after: dict[int, int],
) -> None:
    done = sum(o.completed for o in tally.outcomes)
    refusals = sum(o.refusals for o in tally.outcomes)
    answered_429 = stats["answered_429"]
    limited = sum(v for k, v in answered_429.items() if k.startswith("limited"))
    injected = sum(v for k, v in answered_429.items() if k.startswith("injected"))
    buyers_5xx = {k: v for k, v in tally.statuses.items() if k >= 500}
    browsers_5xx = {k: v for k, v in tally.browsed.items() if k >= 500}
    print(
        f"soak: {elapsed / 60:.1f} min, {args.instances} instances x {args.workers} workers x "
        f"{args.threads} threads, {args.browsers} browsers + {args.buyers} buyers"
    )
    print(f"  faults: {FAULTS} + {OUTAGE} from {OUTAGE_FROM}s")
    print(f"  checkouts attempted {len(tally.outcomes)}, completed {done}")
    for o in tally.outcomes:
        if not o.completed:
            print(f"    not completed: order {o.order_id}: {o.error or 'unfinished'}")
    print(f"  duplicate payment submissions (sandbox): {stats['duplicate_payment_total']}")
    print(f"  lost orders: {lost[0]} paid but not confirmed, {lost[1]} confirmed but not paid")
    print(
        f"  buyers' honest refusals: {refusals} (data kept in all but "
        f"{sum(o.data_lost for o in tally.outcomes)})"
    )
    print(
        f"  5xx shown: to buyers {buyers_5xx} of {sum(tally.statuses.values())} responses, "
        f"to browsers {browsers_5xx} of {sum(tally.browsed.values())} "
        f"(503 = an honest 'not right now' page)"
    )
    per_minute = (samples[-1][1] / (samples[-1][0] - samples[0][0]) * 60) if samples else 0
    print(
        f"  upstream calls: {stats['total']} = {per_minute:.0f}/min on average, busiest 60 s "
        f"{busiest_minute(samples)} (limit {RATE_LIMIT}); 429s from the limit {limited}, "
        f"injected {injected}"
    )
    lost_replies = stats["dropped"].get("payment reply lost", 0)
    outages = sum(v for k, v in stats["dropped"].items() if k.startswith("unreachable"))
    print(f"  connections dropped: {outages} while unreachable, {lost_replies} payment replies")
    for pid, before in rss_before.items():
        after = rss_after.get(pid)
        growth = f"{(after - before) / 1024:+.1f} MiB" if after else "worker gone"
        mib = f"{before / 1024:.1f} -> {(after or 0) / 1024:.1f} MiB"
        print(f"  worker {pid}: RSS {mib} ({growth})")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--browsers", type=int, default=6)
    parser.add_argument("--buyers", type=int, default=4)
    parser.add_argument("--instances", type=int, default=2)
    add_server(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
