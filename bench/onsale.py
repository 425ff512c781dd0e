"""On-sale day: thousands of buyers in the first minute for one event of 300 seats, with the
API at its real limit. Does the waiting room sell every seat, to buyers in order, without
errors, while another merchant keeps selling? (Prints figures; not a test.)

Starts the usual stack (``bench.common``: the sandbox at 300 calls a minute with 50 ms
latency, gunicorn, the sync worker) with a second merchant, sets one registration type of an
event of the default merchant to exactly ``--seats`` seats and marks the event for an
on-sale (``manage.py waitingroom onsale``) opening ``--prequeue`` seconds after the buyers
start arriving. Merchant B's ``--steady`` buyers check out one ticket after another from
``--warmup`` seconds before the on-sale to its end (``bench.buyer``). Then ``--buyers``
buyers arrive over ``--seconds`` (plain HTTP, asyncio, each from its own address), each
asking for 1–4 tickets: they add them, wait in line as the waiting page says (its JSON
answer, looked at every ``poll_seconds``), and check out when admitted (``bench.buyer``).

Printed: seats sold and left; 5xx, "try again" answers and 429s; admitted buyers and how
many completed; checkouts a minute against what the budget carries; how soon waiting
buyers heard "sold out" after the last seat went; the expected wait shown against the wait
seen; admissions out of arrival order; merchant B's checkouts a minute before and during.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.onsale
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from guestmanager import GuestManagerClient

from .buyer import Buyer
from .common import WRITE_KEY, Stack, arguments, buyer_headers, percentile, stack

OFFICE = "127.0.0.2"  # reads of the stock for the figures: not the storefront's budget
B_KEY = "scale-0-write"
B_SLUG = "scale-0"
TRY_AGAIN = re.compile(r"try again|very busy", re.I)


@dataclass
class Record:
    """One on-sale buyer, as seen from their side."""

    number: int
    tickets: int
    arrived: float = 0.0  # when their add was answered
    queued: bool = False
    first_wait: float | None = None  # the wait the page showed first
    admitted_at: float | None = None
    turn: int = 0
    added_at: float | None = None  # their order holds the tickets
    completed: bool = False
    told_sold_out_at: float | None = None
    statuses: Counter[int] = field(default_factory=Counter)
    try_again: int = 0
    calls: int = 0
    error: str = ""


@dataclass
class Steady:
    completed: list[float] = field(default_factory=list)  # when each checkout finished
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def add_merchant_b(sandbox: str, manage: Callable[..., str]) -> None:
    made = httpx.post(
        f"{sandbox}/sandbox/control/companies",
        json={"companies": 1, "events": 20},
        headers={"Authorization": f"Token {WRITE_KEY}"},
        timeout=120,
    )
    made.raise_for_status()
    api = f"{sandbox}/sandbox/api/public/v2"
    manage(
        "shell",
        "-c",
        "from tenancy.models import Merchant\n"
        f"m, _ = Merchant.objects.get_or_create(slug={B_SLUG!r}, defaults="
        f"{{'name': 'Merchant B', 'api_url': {api!r}}})\n"
        f"m.set_api_key({B_KEY!r})\n"
        "m.save()\n",
    )


def office(s: Stack, key: str = WRITE_KEY) -> GuestManagerClient:
    return GuestManagerClient(
        f"{s.sandbox}/sandbox/api/public/v2",
        key,
        transport=httpx.HTTPTransport(local_address=OFFICE, retries=2),
        read_timeout=60,
    )


def on_sale_type(s: Stack, key: str = WRITE_KEY) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event on sale now and its first type that sells up to 4 at once."""
    with office(s, key) as client:
        for page in client.iter_events(
            filters={"status": "active"}, include="registration_types.stock_item", page_size=200
        ):
            for event in page:
                for rt in event.get("registration_types") or []:
                    stock = rt.get("stock_item") or {}
                    if (
                        stock.get("status") == "selling"
                        and (stock.get("available") or 0) > 20
                        and int(rt.get("order_max") or 10) >= 4
                        and int(rt.get("quantity") or 1) == 1
                        and float(rt.get("price") or 0) > 0
                    ):
                        return event, rt
    raise SystemExit("no event on sale with a type selling 4 at once")


def seats_left(s: Stack, event_id: int, type_id: int) -> int:
    with office(s) as client:
        event = client.get_event(event_id, include="registration_types.stock_item")
    rt = next(rt for rt in event["registration_types"] if rt["id"] == type_id)
    return int((rt.get("stock_item") or {}).get("available") or 0)


# -- the on-sale buyers ------------------------------------------------------------------


async def one_buyer(s: Stack, run: Run, rec: Record) -> None:
    # A client of the buyer's own (cookies, address) on the shared connections; not closed,
    # which would close those.
    web = httpx.AsyncClient(
        base_url=s.storefront,
        headers=buyer_headers(rec.number),
        timeout=120,
        transport=run.transport,
    )
    await web.get("/csrf")
    token = web.cookies.get("csrftoken") or ""
    answer = await web.post("/order/add", data=run.fields(token, rec.tickets))
    _note(rec, answer)
    rec.arrived = time.monotonic()
    if _to(answer, "/waiting/"):
        rec.queued = True
        if not await wait_in_line(web, rec):
            return
        answer = await web.post("/order/add", data=run.fields(token, rec.tickets))
        _note(rec, answer)
    while not _to(answer, "/cart/") and rec.tickets > 1 and answer.status_code in (409, 422):
        rec.tickets -= 1  # fewer left than wanted: as a person would, ask for fewer
        answer = await web.post("/order/add", data=run.fields(token, rec.tickets))
        _note(rec, answer)
    if not _to(answer, "/cart/"):
        rec.error = f"add answered {answer.status_code} {answer.headers.get('location', '')}"
        return
    rec.added_at = time.monotonic()
    if rec.admitted_at is None:
        rec.admitted_at = rec.added_at
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(run.checkouts, check_out, s, rec, dict(web.cookies))


def _to(answer: httpx.Response, path: str) -> bool:
    return answer.status_code == 302 and answer.headers["location"].endswith(path)


def _note(rec: Record, answer: httpx.Response) -> None:
    rec.statuses[answer.status_code] += 1
    if answer.status_code in (429, 503) or TRY_AGAIN.search(answer.text or ""):
        rec.try_again += 1
    calls = re.search(r"Guest Manager API, (\d+) calls", answer.headers.get("Server-Timing", ""))
    rec.calls += int(calls.group(1)) if calls else 0


async def wait_in_line(web: httpx.AsyncClient, rec: Record) -> bool:
    """Look as the waiting page does until admitted (True) or sold out (False)."""
    while True:
        answer = await web.get("/waiting/", headers={"Accept": "application/json"})
        _note(rec, answer)
        if answer.status_code != 200:
            await asyncio.sleep(2)
            continue
        place = answer.json()
        if rec.first_wait is None and place["state"] == "waiting":
            rec.first_wait = place["wait_seconds"]
        if place["state"] == "admitted":
            rec.admitted_at, rec.turn = time.monotonic(), place["turn"]
            return True
        if place["state"] != "waiting":
            rec.told_sold_out_at = time.monotonic() if place["state"] == "sold_out" else None
            rec.error = place["state"]
            return False
        await asyncio.sleep(place["poll_seconds"])


def check_out(s: Stack, rec: Record, cookies: dict[str, str]) -> None:
    """The rest of the checkout, as ``bench.buyer`` goes through it."""
    buyer = Buyer([s.storefront], s.stripe, rec.number, patience=600)
    try:
        for name, value in cookies.items():
            buyer.web.cookies.set(name, value)
        cart = buyer.get("/cart/")
        order = re.search(r'href="(/orders/\d+/)"', cart.text)
        if order is None:
            rec.error = "no order in the cart"
            return
        buyer._through_steps(order.group(1))
        rec.completed = buyer.outcome.completed
        rec.error = rec.error or buyer.outcome.error
        rec.statuses.update(buyer.outcome.statuses)
        rec.calls += buyer.outcome.api_calls
        rec.try_again += buyer.outcome.refusals
    finally:
        buyer.close()


@dataclass
class Run:
    """What every on-sale buyer shares: the event, the connections, the checkout threads."""

    event_id: int
    variant: int
    transport: httpx.AsyncHTTPTransport
    checkouts: ThreadPoolExecutor

    def fields(self, token: str, tickets: int) -> dict[str, str]:
        return {
            "csrfmiddlewaretoken": token,
            "event": str(self.event_id),
            f"qty-{self.variant}": str(tickets),
        }


async def arrivals(
    s: Stack, records: list[Record], seconds: float, event_id: int, variant: int
) -> None:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    with ThreadPoolExecutor(max_workers=64) as checkouts:
        run = Run(event_id, variant, transport, checkouts)
        started = time.monotonic()
        tasks = []
        for rec in records:
            due = started + seconds * rec.number / len(records)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one_buyer(s, run, rec)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    await transport.aclose()
    for rec, result in zip(records, results, strict=True):
        if isinstance(result, Exception):
            rec.error = f"{type(result).__name__}: {result}"


# -- merchant B's steady buyers -----------------------------------------------------------


def steady_buyer(s: Stack, path: str, first: int, stop: threading.Event, steady: Steady) -> None:
    number = first
    while not stop.is_set():
        buyer = Buyer([s.storefront], s.stripe, number, merchant=B_SLUG, patience=300)
        try:
            outcome = buyer.checkout(path)
        finally:
            buyer.close()
        with steady.lock:
            if outcome.completed:
                steady.completed.append(time.monotonic())
            steady.statuses.update(outcome.statuses)
        number += 1


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrivals spread over")
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--prequeue", type=float, default=0.0, help="on-sale opens after")
    parser.add_argument("--steady", type=int, default=2, help="merchant B's buyers")
    parser.add_argument("--warmup", type=float, default=60.0, help="B alone before")
    args = parser.parse_args()
    rng = random.Random(19)
    with stack(rate_limit=300, setup=add_merchant_b) as s:
        assert s.manage is not None
        event, rt = on_sale_type(s)
        s.sandbox_control("POST", f"variants/{rt['variant_id']}/stock", {"available": args.seats})
        b_event, _b_rt = on_sale_type(s, B_KEY)
        b_path = f"/m/{B_SLUG}/events/{b_event['id']}/"
        stop, steady = threading.Event(), Steady()
        b_threads = [
            threading.Thread(
                target=steady_buyer, args=(s, b_path, 900_000 + i * 10_000, stop, steady)
            )
            for i in range(args.steady)
        ]
        for thread in b_threads:
            thread.start()
        time.sleep(args.warmup)
        opens = datetime.now(UTC) + timedelta(seconds=args.prequeue)
        s.manage("waitingroom", "onsale", "--event", str(event["id"]), "--at", opens.isoformat())
        s.sandbox_control("POST", "stats")
        records = [Record(n + 1, rng.randint(1, 4)) for n in range(args.buyers)]
        print(
            f"on sale: {event['name']} / {rt['name']}, {args.seats} seats; "
            f"{args.buyers} buyers over {args.seconds:.0f} s",
            flush=True,
        )
        started = time.monotonic()
        asyncio.run(arrivals(s, records, args.seconds, event["id"], rt["variant_id"]))
        ended = time.monotonic()
        stop.set()
        stats = s.sandbox_control("GET", "stats")
        room = s.manage("waitingroom", "show")
        left = seats_left(s, event["id"], rt["id"])
        for thread in b_threads:
            thread.join()
    report(args, records, steady, stats, room, left, started, ended)


def report(
    args: Any,
    records: list[Record],
    steady: Steady,
    stats: dict[str, Any],
    room: str,
    left: int,
    started: float,
    ended: float,
) -> None:
    sold = sum(r.tickets for r in records if r.completed)
    admitted = [r for r in records if r.admitted_at is not None]
    completed = [r for r in admitted if r.completed]
    minutes = (ended - started) / 60
    print(f"\nover {ended - started:.0f} s from the first arrival to the last checkout:")
    print(f"  seats sold: {sold} of {args.seats} (the API has {left} left)")
    statuses: Counter[int] = Counter()
    for r in records:
        statuses.update(r.statuses)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"  5xx to buyers: {errors} of {sum(statuses.values())} answers")
    print(f"  'try again' answers: {sum(r.try_again for r in records)}")
    print(f"  429s from the API: {sum(stats['answered_429'].values())}")
    print(f"  admitted: {len(admitted)}, completed: {len(completed)}")
    for r in admitted:
        if not r.completed:
            print(f"    buyer {r.number} admitted, not completed: {r.error}")
    calls = [r.calls for r in completed]
    if calls:
        print(f"  API calls per completed checkout (Server-Timing): {statistics.mean(calls):.1f}")
    done_at = [r.added_at for r in completed if r.added_at is not None]
    if len(done_at) > 1:
        span = (max(done_at) - min(done_at)) / 60
        print(
            f"  orders made a minute while selling: {(len(done_at) - 1) / span:.1f} "
            f"over {span:.1f} min"
        )
    print("  the room says:", *room.strip().splitlines(), sep="\n    ")
    print(f"  API calls a minute from the storefront: {stats['total'] / minutes:.0f}")
    sold_out(records, done_at)
    waits(admitted)
    fairness(admitted)
    b_before = [t for t in steady.completed if t < started]
    b_during = [t for t in steady.completed if started <= t <= ended]
    print(
        f"  merchant B: {len(b_before) / (args.warmup / 60):.1f} checkouts a minute before, "
        f"{len(b_during) / minutes:.1f} during"
    )


def sold_out(records: list[Record], done_at: list[float]) -> None:
    told = [r.told_sold_out_at for r in records if r.told_sold_out_at is not None]
    if not (told and done_at):
        print("  sold out: nobody was told")
        return
    last_seat = max(done_at)
    delays = [max(0.0, t - last_seat) for t in told]
    print(
        f"  told sold out: {len(told)} buyers, after the last seat went: median "
        f"{statistics.median(delays):.1f} s, p95 {percentile(delays, 95):.1f} s, worst "
        f"{max(delays):.1f} s; {sum(d <= 10 for d in delays)}/{len(delays)} within 10 s"
    )


def waits(admitted: list[Record]) -> None:
    pairs = [
        (r.first_wait, r.admitted_at - r.arrived)
        for r in admitted
        if r.queued and r.first_wait is not None and r.admitted_at is not None
    ]
    if not pairs:
        print("  expected wait: nobody waited")
        return
    errors = [abs(shown - seen) for shown, seen in pairs]
    relative = [abs(shown - seen) / max(seen, 1.0) for shown, seen in pairs]
    print(
        f"  wait shown vs seen ({len(pairs)} admitted after waiting): error median "
        f"{statistics.median(errors):.1f} s, p95 {percentile(errors, 95):.1f} s; relative "
        f"median {statistics.median(relative):.0%}, p95 {percentile(relative, 95):.0%}"
    )


def fairness(admitted: list[Record]) -> None:
    """Admitted before someone who reached the line earlier (by the room's own turn order)."""
    queued = sorted((r for r in admitted if r.queued and r.turn), key=lambda r: r.arrived)
    out = 0
    for i, r in enumerate(queued):
        if any(e.turn > r.turn and e.arrived < r.arrived - 0.05 for e in queued[:i]):
            out += 1
    share = out / len(queued) if queued else 0.0
    print(f"  admitted out of arrival order: {out} of {len(queued)} ({share:.1%})")


if __name__ == "__main__":
    main()
