"""The sync worker: one per deployment keeps every merchant's replica current.

Each round runs the passes due (``schedule``: first copies, then full passes, then soon passes
of selling merchants, then the rest) as the sync's allowance of calls pays for them, choosing
the next whenever one ends. A budget refusal ends the round; the next one starts with whoever
is now furthest behind. A pass that failed otherwise is tried again after
``REPLICA_SOON_SECONDS``.

With ``REDIS_URL`` the worker holds a lock (``SET NX PX``, renewed each round) so that of
several started (one per instance) one syncs and the others wait to take over.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from infra import budget
from tenancy.shop import Shop, default_shop, directory

from . import schedule
from .schedule import Allowance
from .sync import FULL, PassResult, full_pass, soon_pass

logger = logging.getLogger("storefront")

LOCK_KEY = "replica:sync-worker"
LOCK_MS = 30_000
ROUND_SECONDS = 1.0
ROUND_LIMIT_SECONDS = 10.0  # no new pass after this: the lock is renewed between rounds


def merchants() -> list[Shop]:
    """Every active merchant and the settings' shop, each once; a merchant whose key this
    process cannot open, or a shop without an API, is left out."""
    directory.forget()
    found: dict[str, Shop] = {}
    for shop in [default_shop(), *directory.active()]:
        if shop.key_unopenable or not (shop.api_url and shop.api_key):
            continue
        found.setdefault(shop.namespace, shop)
    return list(found.values())


def run_round(
    shops: list[Shop] | None = None,
    allowance: Allowance | None = None,
    at_once: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[PassResult]:
    """Run the passes due, in order, ``at_once`` at a time (``passes_at_once()``), while the
    allowance pays for them, for up to ``ROUND_LIMIT_SECONDS``; a budget refusal ends the
    round (the next one starts with whoever is now furthest behind). A pass is paid for at
    its expected cost when it starts and settled by the calls it made when it ends."""
    allowance = allowance or Allowance()
    at_once = at_once or passes_at_once()
    shops = shops if shops is not None else merchants()
    due = schedule.due(shops, timezone.now())
    results: list[PassResult] = []

    def settle(item: schedule.Due, result: PassResult) -> bool:
        allowance.spend(result.calls - item.cost)
        results.append(result)
        return result.exhausted

    if at_once == 1:
        for item in due:
            if not allowance.affords(item.cost):
                break  # what ranks below waits too: a cheap pass must not starve a dearer one
            allowance.spend(item.cost)
            if settle(item, run_pass(item)):
                break
        return results
    # Side by side, the next pass is chosen whenever one ends, from what is due then: a
    # seller's pass falling due while slower passes run starts at the next free slot, and a
    # merchant whose pass ended may run again in the same round once it is due again (a
    # seller's pace is its interval, not the round's length). Short of calls, the round
    # waits for the allowance rather than ending.
    ends = clock() + ROUND_LIMIT_SECONDS
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="sync") as pool:
        running: dict[Future[PassResult], schedule.Due] = {}
        stop = False
        while True:
            short = 0.0 if stop else _start(pool, due, running, allowance, at_once)
            if running:
                done, _ = wait(running, timeout=short or None, return_when=FIRST_COMPLETED)
                stop = any([settle(running.pop(f), f.result()) for f in done]) or stop
            elif short and clock() + short < ends:
                sleep(short)
            else:
                break  # nothing due, or every pass ended after a stop
            stop = stop or clock() >= ends
            if not stop:
                due = schedule.due(shops, timezone.now())
    return results


def _start(
    pool: ThreadPoolExecutor,
    due: list[schedule.Due],
    running: dict[Future[PassResult], schedule.Due],
    allowance: Allowance,
    at_once: int,
) -> float:
    """Start the passes due, in order, while a slot is free and the allowance pays, one
    pass of a merchant at a time; the seconds until the allowance pays for the next (0 when
    none waits for calls)."""
    busy = {item.shop.namespace for item in running.values()}
    for item in due:
        if len(running) >= at_once:
            break
        if item.shop.namespace in busy:
            continue
        short = allowance.seconds_short(item.cost)
        if short > 0:
            return short  # what ranks below waits too
        allowance.spend(item.cost)
        running[pool.submit(_in_thread, item)] = item
        busy.add(item.shop.namespace)
    return 0.0


def passes_at_once() -> int:
    """Passes run side by side: most of a pass is waiting on the API. One on SQLite, whose
    writers queue for the whole file anyway."""
    if connection.vendor != "postgresql":
        return 1
    return max(1, settings.REPLICA_PASSES_AT_ONCE)


def run_pass(item: schedule.Due) -> PassResult:
    return full_pass(item.shop) if item.kind == FULL else soon_pass(item.shop)


def _in_thread(item: schedule.Due) -> PassResult:
    try:
        return run_pass(item)
    finally:
        connections.close_all()  # this thread's own; the pool's threads end with the round


def sync_all(shops: list[Shop] | None = None) -> list[PassResult]:
    """A full pass of every merchant now, due or not (``sync_catalog --once``)."""
    results = []
    for shop in shops if shops is not None else merchants():
        results.append(full_pass(shop, categories=True))
    return results


class Lock:
    """The deployment's one sync worker: a Redis key held with ``SET NX PX`` and renewed
    while this worker holds it; without Redis every worker holds it (run one)."""

    RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )
    RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('del', KEYS[1]) else return 0 end"
    )

    def __init__(self, url: str | None = None, key: str = LOCK_KEY, ms: int = LOCK_MS) -> None:
        url = settings.REDIS_URL if url is None else url
        self.key = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}"
        self.ms = ms
        self.token = secrets.token_hex(16)
        self._redis = None
        if url:
            import redis

            self._redis = redis.Redis.from_url(url)
        self.held = self._redis is None

    def acquire(self) -> bool:
        """Take the lock, or keep it; whether this worker holds it now."""
        if self._redis is None:
            return True
        if self.held:
            self.held = bool(self._redis.eval(self.RENEW, 1, self.key, self.token, self.ms))
        if not self.held:
            self.held = bool(self._redis.set(self.key, self.token, nx=True, px=self.ms))
        return self.held

    def release(self) -> None:
        if self._redis is not None and self.held:
            self._redis.eval(self.RELEASE, 1, self.key, self.token)
            self.held = False


def run_forever(
    report: Callable[[str, PassResult | None], None],
    *,
    lock: Lock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> None:
    """Sync while this worker holds the lock, saying what each pass did (with the pass; lines
    about the lock come without one); ``rounds`` ends it after that many rounds (tests)."""
    lock = lock or Lock()
    waiting: bool | None = None  # not yet known
    allowance = Allowance()
    done = 0
    try:
        while rounds is None or done < rounds:
            done += 1
            if not lock.acquire():
                if not waiting:
                    report("another worker syncs the catalog; waiting to take over", None)
                waiting = True
                sleep(ROUND_SECONDS)
                continue
            if waiting is not False:
                report("syncing the catalog (this worker holds the lock)", None)
            waiting = False
            shops = merchants()
            budget.publish_sync_need(
                min(schedule.need(shops, timezone.now()), allowance.per_minute)
            )
            for result in run_round(shops, allowance=allowance):
                report(describe(result), result)
            sleep(ROUND_SECONDS)
    finally:
        lock.release()


def describe(result: PassResult) -> str:
    name = result.merchant or "(default)"
    line = (
        f"{name}: {result.kind} pass, {result.calls} calls, {result.events} events, "
        f"{result.removed} removed, {result.seconds:.2f} s"
    )
    if result.error:
        line += f" — {'incomplete' if not result.complete else 'error'}: {result.error}"
    return line
