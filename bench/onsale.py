"""On-sale day: thousands of buyers in the first minute for one event of 300 seats, with the
API at its real limit. Does the waiting room sell every seat, to buyers in order, without
errors, while another merchant keeps selling? (Prints figures; not a test.)

Starts from an empty PostgreSQL database and Redis database (those of DATABASE_URL and
REDIS_URL, dropped and flushed first), then the usual stack (``bench.common``: the sandbox at
300 calls a minute with 50 ms latency, granian, the sync worker) with a second merchant (B,
another sandbox company). Sets one registration type of an event of the default merchant
(A) to exactly ``--seats`` seats and marks the event for an on-sale (``manage.py waitingroom
onsale``) opening ``--prequeue`` seconds after the buyers start arriving (0: on sale at
once). Merchant B's buyers come ``--steady`` a minute, each on their own, from ``--warmup``
seconds before the on-sale to its end, and each checks out one ticket (``bench.buyer``).
Then ``--buyers`` buyers arrive evenly over ``--seconds`` (plain HTTP, asyncio, each from
its own address), each asking for 1–4 tickets: they add them, wait in line as the waiting
page says (its JSON answer, looked at every ``poll_seconds``) and check out when admitted
(``bench.buyer``), or stop when told their tickets sold out.

Printed (and returned as a dict): seats sold (by the buyers' records and by the API's
orders) and left; 5xx, "try again" answers and 429s; admitted buyers and how many completed;
checkouts a minute against what the budget carries; how soon waiting buyers heard "sold out"
after the last seat went; the expected wait shown against the wait seen; admissions out of
arrival order; merchant B's buyers and checkouts a minute before and while A sold.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python -m bench.onsale
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import psycopg
import redis
from psycopg import sql

from guestmanager import GuestManagerClient

from .buyer import Buyer
from .catalog import cpu_seconds
from .common import WRITE_KEY, Stack, add_server, arguments, buyer_headers, percentile, stack

OFFICE = "127.0.0.2"  # reads of the stock for the figures: not the storefront's budget
API_LIMIT = 300  # the sandbox's calls a minute per address
B_KEY = "scale-0-write"
B_SLUG = "scale-0"
HONEST = (429, 503)  # "not now": a person waits as told and tries again
ADD_TRIES = 5
TRY_AGAIN = re.compile(r"try again|very busy", re.I)
CONNECTIONS = 64  # the on-sale buyers' connections to the storefront, shared
CHECKOUT_THREADS = 64  # admitted buyers going through the checkout's steps at once
LOOP_LAGS: list[float] = []  # how late the load generator's event loop woke, each 100 ms


@dataclass
class Record:
    """One on-sale buyer, as seen from their side (times: ``time.monotonic()``)."""

    number: int
    tickets: int  # asked for; fewer when fewer are left
    gives_details: bool = False  # gives name and email while waiting (the order skips the cart)
    sent: float = 0.0  # their first add left
    arrived: float = 0.0  # ... and was answered: by then they had their place
    queued: bool = False
    first_wait: float | None = None  # the wait the page showed first
    first_wait_at: float | None = None
    admitted_at: float | None = None
    turn: int = 0  # the room's count of admissions to the queue, theirs included
    added_at: float | None = None  # their order holds the tickets
    order_id: int | None = None
    completed_at: float | None = None
    told_sold_out_at: float | None = None  # by the waiting page
    polls: list[float] = field(default_factory=list)  # the waiting page's answer times
    poll_server: list[float] = field(default_factory=list)  # ... of which in Django (s)
    statuses: Counter[int] = field(default_factory=Counter)
    try_again: int = 0
    calls: int = 0  # the storefront's API calls for them (its Server-Timing)
    error: str = ""

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass
class Steady:
    """Merchant B's buyers: when each came and when each checkout finished."""

    arrived: list[float] = field(default_factory=list)
    completed: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


# -- the stack ----------------------------------------------------------------------------


def fresh_stores() -> None:
    """Drop and create DATABASE_URL's database and flush REDIS_URL's: no earlier run's
    orders, places in line or measured costs count in this one."""
    database, cache = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not (database.startswith("postgres") and cache.startswith("redis")):
        raise SystemExit("bench.onsale needs DATABASE_URL (PostgreSQL) and REDIS_URL: see --help")
    url = urlsplit(database)
    name = sql.Identifier(url.path.lstrip("/"))
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    redis.Redis.from_url(cache).flushdb()


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


def seats_in_complete_orders(s: Stack, records: list[Record]) -> int:
    """Tickets in the buyers' orders that the API has complete (whatever the buyers saw)."""
    sold = 0
    for rec in records:
        if rec.order_id is not None:
            order = s.sandbox_control("GET", f"orders/{rec.order_id}")
            if order.get("state") == "complete":
                sold += sum(int(line["quantity"]) for line in order["line_items"])
    return sold


def room_capacity(s: Stack) -> tuple[float, float]:
    """The room's admissions a minute and the API calls it counts for each (measured once
    enough buyers were admitted): their product is the checkouts' share of the budget."""
    assert s.manage is not None
    said = s.manage(
        "shell",
        "-c",
        "from waitingroom import capacity\n"
        "print(capacity.admissions_per_minute(), capacity.calls_per_admission())\n",
    )
    per_minute, cost = said.split()[-2:]  # after the shell's own greeting
    return float(per_minute), float(cost)


# -- the on-sale buyers -------------------------------------------------------------------


@dataclass
class Run:
    """What every on-sale buyer shares: the event, the connections, the checkout threads."""

    event_id: int
    variant: int
    connections: aiohttp.TCPConnector
    checkouts: ThreadPoolExecutor

    def details(self, token: str, number: int) -> dict[str, str]:
        """The waiting page's details form, filled in."""
        return {
            "csrfmiddlewaretoken": token,
            "action": "details",
            "first_name": "Buyer",
            "last_name": str(number),
            "email": f"buyer{number}@example.com",
        }

    def fields(self, token: str, tickets: int) -> dict[str, str]:
        return {
            "csrfmiddlewaretoken": token,
            "event": str(self.event_id),
            f"qty-{self.variant}": str(tickets),
        }


@dataclass(frozen=True)
class Answer:
    """A storefront answer, read whole."""

    status: int
    headers: Mapping[str, str]
    text: str

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308)

    def json(self) -> Any:
        return json.loads(self.text)


class Browser:
    """One on-sale buyer's client: their own cookies and address, on the shared connections.

    aiohttp rather than httpx here: 2,000 buyers looking every few seconds are hundreds of
    requests a second from this process, and httpx's async client spent as much CPU on each
    as the storefront did (3.3 ms) on the machine both share."""

    def __init__(self, base: str, number: int, connections: aiohttp.TCPConnector) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            connector=connections,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # a loopback address is the host
            headers=buyer_headers(number),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return await self._ask("GET", path, headers=headers)

    async def post(self, path: str, data: Mapping[str, str]) -> Answer:
        return await self._ask("POST", path, data=data)

    async def _ask(self, method: str, path: str, **options: Any) -> Answer:
        async with self.session.request(
            method, self.base + path, allow_redirects=False, **options
        ) as response:
            text = await response.text()
            return Answer(response.status, dict(response.headers), text)

    def cookies(self) -> dict[str, str]:
        return {cookie.key: cookie.value for cookie in self.session.cookie_jar}

    async def close(self) -> None:
        await self.session.close()  # not the shared connections (not their owner)


async def one_buyer(s: Stack, run: Run, rec: Record) -> None:
    web = Browser(s.storefront, rec.number, run.connections)
    try:
        await buy(s, run, rec, web)
    finally:
        await web.close()


async def buy(s: Stack, run: Run, rec: Record, web: Browser) -> None:
    await web.get("/csrf")
    token = web.cookies().get("csrftoken") or ""
    rec.sent = time.monotonic()
    answer = await add(web, run, rec, token)
    rec.arrived = time.monotonic()
    if _to(answer, "/waiting/"):
        rec.queued = True
        if not await wait_in_line(web, rec, run, token):
            return
        answer = await add(web, run, rec, token)  # what the page's form posts at the turn
    while answer.status in (409, 422) and rec.tickets > 1:
        rec.tickets -= 1  # fewer left than wanted: as a person would, ask for fewer
        answer = await add(web, run, rec, token)
    if not (_to(answer, "/cart/") or PAST_CART.search(answer.headers.get("Location", ""))):
        rec.error = f"add answered {answer.status} {answer.headers.get('Location', '')}"
        return
    rec.added_at = time.monotonic()
    if rec.admitted_at is None:
        rec.admitted_at = rec.added_at
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(run.checkouts, check_out, s, rec, web.cookies())


async def add(web: Browser, run: Run, rec: Record, token: str) -> Answer:
    """Post the choice; after an honest "not now" wait as told and post it again."""
    for _ in range(ADD_TRIES):
        answer = await web.post("/order/add", data=run.fields(token, rec.tickets))
        _note(rec, answer)
        if answer.status not in HONEST:
            break
        told = answer.headers.get("Retry-After", "")
        await asyncio.sleep(min(10.0, float(told)) if told.isdigit() else 2.0)
    return answer


PAST_CART = re.compile(r"/orders/\d+/$")  # an order made with the buyer's details


def _to(answer: Answer, path: str) -> bool:
    return answer.is_redirect and answer.headers["Location"].endswith(path)


def _note(rec: Record, answer: Answer) -> None:
    rec.statuses[answer.status] += 1
    if answer.status in HONEST or (answer.status >= 400 and TRY_AGAIN.search(answer.text)):
        rec.try_again += 1
    calls = re.search(r"Guest Manager API, (\d+) calls", answer.headers.get("Server-Timing", ""))
    rec.calls += int(calls.group(1)) if calls else 0


def server_seconds(answer: Answer) -> float:
    """The time the storefront says it spent on ``answer`` (Server-Timing: its own work,
    the API's and the wait for a worker slot), not counting the web server's queue before it."""
    timing = answer.headers.get("Server-Timing", "")
    return sum(float(d) for d in re.findall(r"dur=([\d.]+)", timing)) / 1000


async def loop_lag(lags: list[float], stop: asyncio.Event) -> None:
    """How late this process's own event loop wakes (the load generator's share of a slow
    answer): a 100 ms sleep, again and again, and how much longer each took."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.1)
        lags.append(time.monotonic() - before - 0.1)


async def wait_in_line(web: Browser, rec: Record, run: Run, token: str) -> bool:
    """Look as the waiting page does until admitted (True) or told otherwise (False); a
    buyer who gives their details does so once, at their first look."""
    if rec.gives_details:
        _note(rec, await web.post("/waiting/", run.details(token, rec.number)))
    while True:
        asked = time.monotonic()
        answer = await web.get("/waiting/", headers={"Accept": "application/json"})
        seen = time.monotonic()
        rec.polls.append(seen - asked)
        rec.poll_server.append(server_seconds(answer))
        _note(rec, answer)
        if answer.status != 200:
            await asyncio.sleep(2)
            continue
        place = answer.json()
        if rec.first_wait is None and place["state"] == "waiting":
            rec.first_wait, rec.first_wait_at = place["wait_seconds"], seen
        if place["state"] == "admitted":
            rec.admitted_at, rec.turn = seen, place["turn"]
            return True
        if place["state"] != "waiting":
            if place["state"] == "sold_out":
                rec.told_sold_out_at = seen
            rec.error = place["state"]
            return False
        await asyncio.sleep(place["poll_seconds"])


def check_out(s: Stack, rec: Record, cookies: dict[str, str]) -> None:
    """The rest of the checkout, from the cart on, as ``bench.buyer`` goes through it."""
    buyer = Buyer([s.storefront], s.stripe, rec.number, patience=600)
    try:
        for name, value in cookies.items():
            buyer.web.cookies.set(name, value)
        outcome = buyer.from_cart()
    finally:
        buyer.close()
    if outcome.completed:
        rec.completed_at = time.monotonic()
    rec.order_id = outcome.order_id
    rec.error = rec.error or outcome.error
    rec.statuses.update(outcome.statuses)
    rec.calls += outcome.api_calls
    rec.try_again += outcome.refusals


async def arrivals(
    s: Stack, records: list[Record], seconds: float, event_id: int, variant: int
) -> None:
    """Each buyer arrives at their time, evenly over ``seconds``; all of them to the end."""
    connections = aiohttp.TCPConnector(limit=CONNECTIONS)
    stop = asyncio.Event()
    watch = asyncio.create_task(loop_lag(LOOP_LAGS, stop))
    with ThreadPoolExecutor(max_workers=CHECKOUT_THREADS) as checkouts:
        run = Run(event_id, variant, connections, checkouts)
        started = time.monotonic()
        tasks = []
        for rec in records:
            due = started + seconds * rec.number / len(records)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one_buyer(s, run, rec)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    stop.set()
    await watch
    await connections.close()
    for rec, result in zip(records, results, strict=True):
        if isinstance(result, Exception):
            rec.error = f"{type(result).__name__}: {result}"


# -- merchant B's steady buyers -----------------------------------------------------------


def steady_arrivals(
    s: Stack, path: str, per_minute: float, stop: threading.Event, steady: Steady
) -> None:
    """Merchant B's buyers come ``per_minute``, each on their own (people who do not wait
    for one another), and each checks out one ticket."""
    with ThreadPoolExecutor(max_workers=32) as checkouts:
        number = 900_000
        while not stop.wait(60 / per_minute):
            with steady.lock:
                steady.arrived.append(time.monotonic())
            checkouts.submit(steady_buyer, s, path, number, steady)
            number += 1


def steady_buyer(s: Stack, path: str, number: int, steady: Steady) -> None:
    buyer = Buyer([s.storefront], s.stripe, number, merchant=B_SLUG, patience=300)
    try:
        outcome = buyer.checkout(path)
    finally:
        buyer.close()
    with steady.lock:
        if outcome.completed:
            steady.completed.append(time.monotonic())
        steady.statuses.update(outcome.statuses)


# -- the run ------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the run saw besides the buyers' records (times: ``time.monotonic()``)."""

    seats: int
    warmup: float
    opens: float  # the on-sale opened
    started: float  # the first buyer's arrival was due
    ended: float  # the last on-sale buyer was done
    stats: dict[str, Any]  # the sandbox's counters over the on-sale
    room: str  # ``manage.py waitingroom show`` at the end
    capacity: tuple[float, float]  # the room's admissions a minute, calls each, at the end
    left: int  # seats the API has left
    sold_by_api: int
    cpu: tuple[float, float, float]  # CPU seconds: the machine's, the generator's, the web server's


def cpu_now(s: Stack) -> tuple[float, float, float]:
    """CPU seconds used so far: by the whole machine (busy, of all cores), by this process
    (the load generator: its event loop and checkout threads), by the storefront's workers."""
    busy = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    machine = (sum(busy) - busy[3] - busy[4]) / os.sysconf("SC_CLK_TCK")  # not idle, iowait
    return machine, time.process_time(), sum(cpu_seconds(pid) for pid in s.web_pids)


def main() -> dict[str, Any]:
    parser = arguments(__doc__)
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="arrivals spread over")
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--prequeue", type=float, default=0.0, help="on-sale opens after")
    parser.add_argument("--steady", type=float, default=6.0, help="merchant B's buyers a minute")
    parser.add_argument("--warmup", type=float, default=60.0, help="B alone before")
    parser.add_argument(
        "--details", type=float, default=1.0, help="share of waiting buyers giving their details"
    )
    add_server(parser)
    args = parser.parse_args()
    rng = random.Random(19)
    records = [
        Record(n + 1, rng.randint(1, 4), rng.random() < args.details) for n in range(args.buyers)
    ]
    steady = Steady()
    fresh_stores()
    with stack(
        rate_limit=API_LIMIT,
        setup=add_merchant_b,
        workers=args.workers,
        threads=args.threads,
        server=args.server,
    ) as s:
        assert s.manage is not None
        event, rt = on_sale_type(s)
        s.sandbox_control("POST", f"variants/{rt['variant_id']}/stock", {"available": args.seats})
        b_event, _b_rt = on_sale_type(s, B_KEY)
        b_path = f"/m/{B_SLUG}/events/{b_event['id']}/"
        stop = threading.Event()
        b_arrivals = threading.Thread(
            target=steady_arrivals, args=(s, b_path, args.steady, stop, steady)
        )
        b_arrivals.start()
        time.sleep(args.warmup)
        opens_at = datetime.now(UTC) + timedelta(seconds=args.prequeue)
        s.manage("waitingroom", "onsale", "--event", str(event["id"]), "--at", opens_at.isoformat())
        opens = time.monotonic() + args.prequeue
        s.sandbox_control("POST", "stats")
        print(
            f"on sale: {event['name']} / {rt['name']}, {args.seats} seats, opening in "
            f"{args.prequeue:.0f} s; {args.buyers} buyers over {args.seconds:.0f} s",
            flush=True,
        )
        started = time.monotonic()
        cpu_before = cpu_now(s)
        asyncio.run(arrivals(s, records, args.seconds, event["id"], rt["variant_id"]))
        ended = time.monotonic()
        cpu = [after - before for before, after in zip(cpu_before, cpu_now(s), strict=True)]
        stop.set()
        seen = Seen(
            seats=args.seats,
            warmup=args.warmup,
            opens=opens,
            started=started,
            ended=ended,
            stats=s.sandbox_control("GET", "stats"),
            room=s.manage("waitingroom", "show"),
            capacity=room_capacity(s),
            left=seats_left(s, event["id"], rt["id"]),
            sold_by_api=seats_in_complete_orders(s, records),
            cpu=(cpu[0], cpu[1], cpu[2]),
        )
        b_arrivals.join()
    return report(records, steady, seen)


def report(records: list[Record], steady: Steady, seen: Seen) -> dict[str, Any]:
    minutes = (seen.ended - seen.started) / 60
    print(
        f"\nover {seen.ended - seen.started:.0f} s from the first arrival to the last buyer done:"
    )
    figures = {
        **seats(records, seen),
        **answers(records, steady, seen.stats, minutes),
        **cpu_use(records, steady, seen),
        **throughput(records, steady, seen),
        **sold_out_delays(records),
        **waits(records),
        **fairness(records, seen.opens),
        **merchant_b(records, steady, seen),
    }
    print("  the room says:", *seen.room.strip().splitlines(), sep="\n    ")
    return figures


def seats(records: list[Record], seen: Seen) -> dict[str, Any]:
    by_buyers = sum(r.tickets for r in records if r.completed)
    oversold = seen.sold_by_api > seen.seats
    held = seen.seats - seen.sold_by_api - seen.left  # in orders not (yet) complete
    print(
        f"  seats sold: {by_buyers} of {seen.seats} by the buyers' records, "
        f"{seen.sold_by_api} in orders the API has complete; {seen.left} left, {held} held"
        + ("; OVERSOLD" if oversold else "")
    )
    return {
        "seats": seen.seats,
        "sold": by_buyers,
        "sold_by_api": seen.sold_by_api,
        "left": seen.left,
        "held": held,
        "oversold": oversold,
    }


def answers(
    records: list[Record], steady: Steady, stats: dict[str, Any], minutes: float
) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    for r in records:
        statuses.update(r.statuses)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    b_errors = sum(n for status, n in steady.statuses.items() if status >= 500)
    try_again = sum(r.try_again for r in records)
    api_429 = sum(stats["answered_429"].values())
    polls = [t for r in records for t in r.polls]
    print(f"  5xx to on-sale buyers: {errors} of {sum(statuses.values())} answers")
    print(f"  5xx to merchant B's buyers: {b_errors} of {sum(steady.statuses.values())}")
    print(f"  'try again' answers: {try_again}")
    print(f"  429s from the API: {api_429}")
    print(f"  API calls a minute (limit {API_LIMIT}): {stats['total'] / minutes:.0f}")
    server = [t for r in records for t in r.poll_server]
    if polls:
        print(
            f"  waiting page: {len(polls)} looks, answered in median "
            f"{statistics.median(polls) * 1000:.0f} ms, p95 {percentile(polls, 95) * 1000:.0f} ms"
            f"; in Django median {statistics.median(server) * 1000:.1f} ms, "
            f"p95 {percentile(server, 95) * 1000:.1f} ms"
        )
    if LOOP_LAGS:
        print(
            f"  the load generator's event loop woke late by median "
            f"{statistics.median(LOOP_LAGS) * 1000:.0f} ms, p95 "
            f"{percentile(LOOP_LAGS, 95) * 1000:.0f} ms"
        )
    return {
        "answers": sum(statuses.values()),
        "5xx": errors,
        "b_5xx": b_errors,
        "try_again": try_again,
        "api_429": api_429,
        "api_calls_per_minute": stats["total"] / minutes,
        "poll_p95_s": percentile(polls, 95),
        "poll_server_median_s": statistics.median(server) if server else None,
        "loop_lag_p95_s": percentile(LOOP_LAGS, 95) if LOOP_LAGS else None,
    }


def cpu_use(records: list[Record], steady: Steady, seen: Seen) -> dict[str, Any]:
    """Where the machine's CPU went: a waiting page's look is cheap in Django, so the
    generator's and the web server's own cost per answer say what thousands of looks take."""
    machine, generator, storefront = seen.cpu
    answered = sum(sum(r.statuses.values()) for r in records) + sum(steady.statuses.values())
    seconds = seen.ended - seen.started
    cores = os.cpu_count() or 1
    print(
        f"  CPU: the machine {machine / seconds / cores:.0%} busy ({cores} cores); per answer "
        f"to buyers, the load generator {generator * 1000 / answered:.2f} ms, the storefront's "
        f"workers {storefront * 1000 / answered:.2f} ms"
    )
    return {
        "machine_busy": machine / seconds / cores,
        "generator_cpu_ms": generator * 1000 / answered,
        "storefront_cpu_ms": storefront * 1000 / answered,
    }


def throughput(records: list[Record], steady: Steady, seen: Seen) -> dict[str, Any]:
    """Checkouts a minute while seats were left, both merchants' (they share the budget),
    against what the budget carries: the checkouts' calls a minute (the room's admissions ×
    its cost each) ÷ the calls a checkout took here."""
    admitted = [r for r in records if r.admitted_at is not None]
    completed = [r for r in admitted if r.completed]
    print(f"  admitted: {len(admitted)}, completed: {len(completed)}")
    why = Counter(r.error or "unknown" for r in admitted if not r.completed)
    for error, n in why.most_common():
        print(f"    admitted, not completed: {n} × {error}")
    done = [r.completed_at for r in completed if r.completed_at is not None]
    selling = (max(done) - max(seen.opens, seen.started)) / 60 if done else float("nan")
    start = max(seen.opens, seen.started)
    b_done = sum(start <= t <= max(done) for t in steady.completed) if done else 0
    achieved = (len(done) + b_done) / selling if done else 0.0
    per_checkout = statistics.mean(r.calls for r in completed) if completed else float("nan")
    for gave, how in ((True, "details given while waiting"), (False, "details in the cart")):
        group = [r.calls for r in completed if r.queued and r.gives_details == gave]
        if group:
            print(
                f"  API calls a checkout, {how}: {statistics.mean(group):.2f} "
                f"(min {min(group)}, max {max(group)}, {len(group)} checkouts)"
            )
    admissions, cost = seen.capacity
    checkout_calls = admissions * cost
    allowed = checkout_calls / per_checkout if completed else float("nan")
    print(
        f"  checkouts a minute, both merchants: {achieved:.1f} ({len(done)} A, {b_done} B) over "
        f"{selling:.1f} min; the budget carries "
        f"{allowed:.1f} ({checkout_calls:.0f} checkout calls a minute ÷ {per_checkout:.1f} "
        f"calls a checkout here; the room counts {cost:.1f} and admits {admissions:.1f} a "
        f"minute); the API's whole limit would carry {API_LIMIT / per_checkout:.1f}"
    )
    return {
        "admitted": len(admitted),
        "completed": len(completed),
        "checkouts_per_minute": achieved,
        "budget_checkout_calls_per_minute": checkout_calls,
        "calls_per_checkout": per_checkout,
        "budget_checkouts_per_minute": allowed,
        "room_admissions_per_minute": admissions,
    }


def sold_out_delays(records: list[Record]) -> dict[str, Any]:
    """From the last seat going (the last completed order's creation) to each waiting
    buyer's page saying "sold out"."""
    added = [r.added_at for r in records if r.completed and r.added_at is not None]
    told = [r for r in records if r.told_sold_out_at is not None]
    if not (told and added):
        print("  sold out: nobody was told")
        return {"told_sold_out": len(told)}
    last_seat = max(added)
    early = sum(r.told_sold_out_at < last_seat for r in told if r.told_sold_out_at)
    # Those who came after it: from their coming.
    delays = [
        max(0.0, r.told_sold_out_at - max(last_seat, r.arrived))
        for r in told
        if r.told_sold_out_at is not None
    ]
    within = sum(d <= 10 for d in delays)
    print(
        f"  told sold out: {len(told)} waiting buyers ({early} before the last seat went), "
        f"after it: median {statistics.median(delays):.1f} s, p95 "
        f"{percentile(delays, 95):.1f} s, worst {max(delays):.1f} s; "
        f"{within}/{len(delays)} within 10 s"
    )
    return {
        "told_sold_out": len(told),
        "told_before_last_seat": early,
        "sold_out_median_s": statistics.median(delays),
        "sold_out_p95_s": percentile(delays, 95),
        "sold_out_max_s": max(delays),
        "sold_out_within_10s": within,
    }


def waits(records: list[Record]) -> dict[str, Any]:
    """The first wait a queued buyer was shown against the time until their turn (as their
    page saw it: up to one poll late)."""
    pairs = [
        (r.first_wait, r.admitted_at - r.first_wait_at)
        for r in records
        if r.first_wait is not None and r.first_wait_at is not None and r.admitted_at is not None
    ]
    if not pairs:
        print("  expected wait: nobody waited")
        return {"waited": 0}
    errors = [abs(shown - seen) for shown, seen in pairs]
    relative = [abs(shown - seen) / max(seen, 1.0) for shown, seen in pairs]
    over = statistics.median(shown - seen for shown, seen in pairs)  # > 0: it said longer
    print(
        f"  wait shown vs seen ({len(pairs)} admitted after waiting): error median "
        f"{statistics.median(errors):.1f} s, p95 {percentile(errors, 95):.1f} s; relative "
        f"median {statistics.median(relative):.0%}, p95 {percentile(relative, 95):.0%}; "
        f"shown − seen median {over:+.1f} s"
    )
    start = min(r.sent for r in records)
    pace = Counter(int((r.admitted_at - start) // 30) for r in records if r.admitted_at)
    print(
        "  admitted in each 30 s from the first arrival:",
        " ".join(str(pace.get(i, 0)) for i in range(max(pace) + 1)),
    )
    return {
        "waited": len(pairs),
        "wait_shown_minus_seen_median_s": over,
        "wait_error_median_s": statistics.median(errors),
        "wait_error_p95_s": percentile(errors, 95),
        "wait_error_median_rel": statistics.median(relative),
        "wait_error_p95_rel": percentile(relative, 95),
    }


def fairness(records: list[Record], opens: float) -> dict[str, Any]:
    """Queued buyers admitted before someone whose place was surely taken earlier (their add
    answered before this one's was sent), by the room's count of turns. Buyers who came
    before the opening are left out: their order is shuffled on purpose."""
    queued = sorted(
        (r for r in records if r.queued and r.turn and r.sent >= opens), key=lambda r: r.sent
    )
    out = sum(
        any(earlier.turn > r.turn and earlier.arrived < r.sent for earlier in queued[:i])
        for i, r in enumerate(queued)
    )
    share = out / len(queued) if queued else 0.0
    print(f"  admitted out of arrival order: {out} of {len(queued)} ({share:.1%})")
    return {"fairness_buyers": len(queued), "out_of_order": out, "out_of_order_share": share}


def merchant_b(records: list[Record], steady: Steady, seen: Seen) -> dict[str, Any]:
    """B's buyers a minute, and B's checkouts completed a minute, before the on-sale and
    while A's seats sold (to A's last completed checkout)."""

    def per_minute(times: list[float], start: float, end: float) -> float:
        return sum(start <= t < end for t in times) / ((end - start) / 60)

    before = (seen.started - seen.warmup, seen.started)
    sold = [r.completed_at for r in records if r.completed_at is not None]
    during = (seen.started, max(sold) if sold else seen.ended)
    figures = {
        "b_came_per_minute_before": per_minute(steady.arrived, *before),
        "b_per_minute_before": per_minute(steady.completed, *before),
        "b_came_per_minute_during": per_minute(steady.arrived, *during),
        "b_per_minute_during": per_minute(steady.completed, *during),
    }
    print(
        "  merchant B: {b_came_per_minute_before:.1f} buyers came a minute and "
        "{b_per_minute_before:.1f} completed before; {b_came_per_minute_during:.1f} came and "
        "{b_per_minute_during:.1f} completed a minute while A's seats sold".format(**figures)
    )
    return figures


if __name__ == "__main__":
    main()
