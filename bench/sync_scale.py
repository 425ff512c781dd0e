"""Many merchants on one deployment: does the sync keep every catalog fresh within the API's
limit while checkouts run? (Prints figures; not a test.)

Starts the usual stack (``bench.common``: the sandbox at its real limit of 300 calls a minute
with 50 ms latency, granian, the sync worker with its default settings), adds ``--merchants``
companies of ``--events`` events each to the sandbox and a merchant for each to the
storefront, then for ``--seconds``:

- ``--buyers`` buyers check out one ticket after another (plain HTTP, ``bench.buyer``) at each
  of the first ``--selling`` merchants in turn (so each of them is selling);
- every ``--every`` seconds one change is made through the API and timed until a buyer's page
  shows it: a type sold out at a selling merchant, a type sold out at a quiet one (never
  changed before), a price changed on an event a month ahead, a new event. Changes come from
  an address of their own (127.0.0.2: the merchant's office, not the storefront's budget).

Printed: each change's median, 95th percentile and worst, and how many met the goal
(sold out ≤ 15 s where the merchant is selling, any change ≤ 60 s); the API calls a minute,
the sync's share of them, 429s, checkouts a minute and 5xx answered to buyers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.sync_scale --merchants 50 --events 200 --seconds 240
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from guestmanager import GuestManagerClient
from guestmanager.stats import UpstreamStats
from sandbox.launch import control

from .buyer import Buyer
from .common import WRITE_KEY, Stack, arguments, percentile, stack

OFFICE = "127.0.0.2"  # where merchants' own changes come from
POLL_SECONDS = 0.5
GIVE_UP_SECONDS = 180.0
GOALS = {"sold out, selling": 15.0, "sold out, quiet": 60.0, "price": 60.0, "new event": 60.0}
SYNC_ROUTES = ("GET sandbox/api/public/v2/events", "GET sandbox/api/public/v2/categories")


@dataclass
class Merchant:
    slug: str
    key: str
    on_sale: list[tuple[dict[str, Any], dict[str, Any]]]  # (event, type) selling this week
    later: list[dict[str, Any]]  # events a month or more ahead
    venue_id: int
    ticket_type_id: int


@dataclass
class Figures:
    took: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    missed: Counter[str] = field(default_factory=Counter)
    checkouts: int = 0
    buyer_statuses: Counter[int] = field(default_factory=Counter)
    office_calls: UpstreamStats = field(default_factory=UpstreamStats)
    lock: threading.Lock = field(default_factory=threading.Lock)


def office(s: Stack, key: str, figures: Figures) -> GuestManagerClient:
    return GuestManagerClient(
        f"{s.sandbox}/sandbox/api/public/v2",
        key,
        transport=httpx.HTTPTransport(local_address=OFFICE, retries=2),
        stats=figures.office_calls,
        read_timeout=60,
    )


def add_merchants(count: int, events: int) -> Callable[[str, Callable[..., None]], None]:
    def setup(sandbox: str, manage: Callable[..., None]) -> None:
        made = httpx.post(
            f"{sandbox}/sandbox/control/companies",
            json={"companies": count, "events": events},
            headers={"Authorization": f"Token {WRITE_KEY}"},
            timeout=600,
        )
        made.raise_for_status()
        keys = made.json()["write_keys"]
        api = f"{sandbox}/sandbox/api/public/v2"
        manage(
            "shell",
            "-c",
            "from tenancy.models import Merchant\n"
            f"for n, key in enumerate({keys!r}):\n"
            "    m, _ = Merchant.objects.get_or_create(slug=f'scale-{n}', defaults={"
            f"'name': f'Scale Merchant {{n}}', 'api_url': {api!r}}})\n"
            f"    m.api_url = {api!r}\n"
            "    m.set_api_key(key)\n"
            "    m.save()\n",
        )

    return setup


def survey(s: Stack, slug: str, key: str, figures: Figures) -> Merchant:
    """What a merchant sells, read from the API as its office would."""
    now = datetime.now(UTC)
    with office(s, key, figures) as client:
        pages = client.iter_events(
            filters={"status": "active"},
            include="registration_types.stock_item,registration_types.ticket_type",
            page_size=200,
        )
        events = [e for page in pages for e in page]
    on_sale, later = [], []
    for event in events:
        start = datetime.fromisoformat(event["start"]["utc"].replace("Z", "+00:00"))
        types = event.get("registration_types") or []
        if not event.get("published_at") or not types:
            continue
        if start > now + timedelta(days=30):
            later.append(event)
        elif start < now + timedelta(days=7):
            for rt in types:
                stock = rt.get("stock_item") or {}
                if stock.get("status") == "selling" and (stock.get("available") or 0) >= 40:
                    on_sale.append((event, rt))
                    break
    first = events[0]
    return Merchant(
        slug,
        key,
        on_sale,
        later,
        first["venue"]["id"] if isinstance(first.get("venue"), dict) else first["venue_id"],
        first["registration_types"][0]["ticket_type"]["id"],
    )


def shown(s: Stack, path: str, text: str, params: dict[str, str] | None = None) -> float:
    """Seconds until ``text`` is on the page at ``path``."""
    started = time.monotonic()
    with httpx.Client(base_url=s.storefront, timeout=30) as web:
        while text not in web.get(path, params=params).text:
            if time.monotonic() - started > GIVE_UP_SECONDS:
                return float("inf")
            time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def page_of(m: Merchant, event: dict[str, Any]) -> str:
    return f"/m/{m.slug}/events/{event['id']}/{event['slug']}/"


def sold_out(s: Stack, m: Merchant, figures: Figures) -> float:
    event, rt = m.on_sale.pop()
    variant = rt["variant_id"]
    stock = {"available": 0, "status": "sold_out"}
    control(s.sandbox, m.key, "POST", f"variants/{variant}/stock", stock)
    return shown(s, page_of(m, event), f'id="reason-{variant}">Sold out<')


def price_change(s: Stack, m: Merchant, figures: Figures, price: int) -> float:
    event = m.later.pop()
    rt = event["registration_types"][0]
    change = {"id": rt["id"], "price": price, "ticket_type_id": rt["ticket_type"]["id"]}
    with office(s, m.key, figures) as client:
        client.update_event(event["id"], {"registration_types": [change]})
    return shown(s, page_of(m, event), f"${price}.00")


def new_event(s: Stack, m: Merchant, figures: Figures) -> float:
    name = f"Fresh {uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    with office(s, m.key, figures) as client:
        event, _operation = client.create_event(
            {
                "name": name,
                "venue_id": m.venue_id,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "registration_types": [
                    {
                        "name": "Entry",
                        "price": 20,
                        "inventory": 50,
                        "ticket_type_id": m.ticket_type_id,
                    }
                ],
            }
        )
    return shown(s, f"/m/{m.slug}/", f"/events/{event['id']}/", {"q": name})


def buyer_loop(
    s: Stack, shops: list[Merchant], number: itertools.count, deadline: float, figures: Figures
) -> None:
    """Check out one ticket after another, at each of ``shops`` in turn (so that each of them
    is selling)."""
    for m in itertools.cycle(shops):
        if time.monotonic() >= deadline:
            break
        event, _rt = m.on_sale[0]  # kept out of the changes: sold_out takes from the end
        buyer = Buyer(s.storefronts, s.stripe, next(number), merchant=m.slug, patience=120)
        try:
            outcome = buyer.checkout(page_of(m, event))
        finally:
            buyer.close()
        with figures.lock:
            figures.checkouts += outcome.completed
            figures.buyer_statuses.update(outcome.statuses)


def timed(kind: str, figures: Figures, change: Callable[[], float]) -> None:
    took = change()
    with figures.lock:
        if took == float("inf"):
            figures.missed[kind] += 1
        else:
            figures.took[kind].append(took)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--merchants", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--every", type=float, default=6.0, help="seconds between changes")
    parser.add_argument("--buyers", type=int, default=2)
    parser.add_argument("--selling", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument(
        "--reserve", default="100", help="UPSTREAM_SYNC_RESERVE: the sync's calls a minute"
    )
    args = parser.parse_args()
    figures = Figures()
    rng = random.Random(7)
    setup = add_merchants(args.merchants, args.events)
    web_env = {"UPSTREAM_SYNC_RESERVE": args.reserve}
    with stack(rate_limit=300, setup=setup, web_env=web_env) as s:
        keys = [f"scale-{n}-write" for n in range(args.merchants)]
        merchants = [survey(s, f"scale-{n}", k, figures) for n, k in enumerate(keys)]
        selling, quiet = merchants[: args.selling], merchants[args.selling :]
        rng.shuffle(quiet)
        print(
            f"{len(merchants)} merchants × {args.events} events; "
            f"{sum(len(m.on_sale) for m in merchants)} types on sale this week",
            flush=True,
        )
        number = itertools.count(1)
        deadline = time.monotonic() + args.warmup + args.seconds
        threads = [
            threading.Thread(
                target=buyer_loop,
                args=(s, selling[i :: args.buyers] or selling, number, deadline, figures),
            )
            for i in range(args.buyers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.warmup)  # the buyers' merchants become selling; passes settle
        s.sandbox_control("POST", "stats")
        office_before = _total(figures.office_calls)
        started = time.monotonic()
        kinds = itertools.cycle(GOALS)
        untouched = iter(quiet)
        probes: list[threading.Thread] = []
        for n in itertools.count():
            if time.monotonic() - started > args.seconds:
                break
            kind = next(kinds)
            if kind == "sold out, selling":
                # One with a type left to sell out besides the one its buyers buy.
                m = rng.choice([m for m in selling if len(m.on_sale) > 1] or selling)
                change: Callable[[], float] = lambda m=m: sold_out(s, m, figures)  # noqa: E731
            elif kind == "sold out, quiet":
                m = next(untouched)
                change = lambda m=m: sold_out(s, m, figures)  # noqa: E731
            elif kind == "price":
                m = rng.choice(merchants)
                change = lambda m=m, n=n: price_change(s, m, figures, 70 + n)  # noqa: E731
            else:
                m = rng.choice(merchants)
                change = lambda m=m: new_event(s, m, figures)  # noqa: E731
            probe = threading.Thread(target=timed, args=(kind, figures, change))
            probe.start()
            probes.append(probe)
            time.sleep(args.every)
        elapsed = time.monotonic() - started
        stats = s.sandbox_control("GET", "stats")
        office_calls = _total(figures.office_calls) - office_before
        for thread in (*probes, *threads):
            thread.join()
    report(args, figures, stats, elapsed, office_calls)


def _total(stats: UpstreamStats) -> int:
    return int(str(stats.snapshot()["total"]))


def report(
    args: argparse.Namespace,
    figures: Figures,
    stats: dict[str, Any],
    elapsed: float,
    office_calls: int,
) -> None:
    minutes = elapsed / 60
    routes: dict[str, int] = stats["by_route"]
    sync = sum(n for route, n in routes.items() if route in SYNC_ROUTES)
    print(
        f"\nover {elapsed:.0f} s after a {args.warmup:.0f} s warm-up "
        f"(UPSTREAM_SYNC_RESERVE={args.reserve}):"
    )
    for kind, goal in GOALS.items():
        took = figures.took[kind]
        missed = figures.missed[kind]
        if not took:
            print(f"  {kind}: no sample")
            continue
        within = sum(t <= goal for t in took)
        print(
            f"  {kind:18} n={len(took) + missed:3} median {statistics.median(took):5.1f} s, "
            f"p95 {percentile(took, 95):5.1f} s, worst {max(took):5.1f} s; "
            f"{within}/{len(took) + missed} within {goal:.0f} s"
        )
    storefront = stats["total"] - office_calls
    print(f"  API calls a minute from the storefront: {storefront / minutes:.0f} (limit 300)")
    print(f"    of which the sync's reads: {sync / minutes:.0f}")
    print(f"  429s answered: {sum(stats['answered_429'].values())}")
    per_minute = figures.checkouts / ((elapsed + args.warmup) / 60)
    print(f"  checkouts completed: {figures.checkouts} ({per_minute:.1f} a minute)")
    errors = sum(n for status, n in figures.buyer_statuses.items() if status >= 500)
    print(f"  5xx to buyers: {errors} of {sum(figures.buyer_statuses.values())} answers")


if __name__ == "__main__":
    main()
