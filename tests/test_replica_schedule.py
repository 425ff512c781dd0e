"""How the sync worker orders its passes and spends its share of the budget: the ranks, the
allowance, and many merchants sharing too few calls, on a pinned clock."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from replica import schedule, sync, worker
from replica.models import SyncState
from tenancy.shop import Shop

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _shops(count: int) -> list[Shop]:
    return [
        Shop(slug=f"m{i}", name=f"m{i}", api_url="http://api.test", api_key=f"key{i}")
        for i in range(count)
    ]


def _state(shop: Shop, *, full_ago: float, soon_ago: float | None = None, **fields) -> None:
    SyncState.objects.create(
        merchant=shop.namespace,
        last_full_at=T0 - timedelta(seconds=full_ago),
        last_soon_at=T0 - timedelta(seconds=full_ago if soon_ago is None else soon_ago),
        **fields,
    )


@pytest.fixture
def intervals(settings):
    settings.REPLICA_FULL_SECONDS = 45
    settings.REPLICA_SOON_SECONDS = 10
    settings.REPLICA_SELLING_SECONDS = 300
    return settings


@pytest.mark.django_db
def test_first_copies_then_what_is_promised_then_quiet_soon_passes(intervals):
    first, full, selling, quiet, fresh = _shops(5)
    _state(full, full_ago=50, soon_ago=5, events=450, soon_events=120)  # 5 s late of 45
    _state(selling, full_ago=20, soon_ago=12, last_sale_at=T0 - timedelta(seconds=60))  # 2 of 10
    _state(quiet, full_ago=20, soon_ago=30)  # later than both, still after them
    _state(fresh, full_ago=2)
    due = schedule.due([quiet, fresh, selling, full, first], T0)
    assert [(d.shop.slug, d.rank) for d in due] == [
        ("m0", schedule.FIRST),
        ("m2", schedule.PROMISED),  # a fifth of its interval late
        ("m1", schedule.PROMISED),  # a ninth
        ("m3", schedule.QUIET),
    ]
    assert due[2].cost == 3  # 450 events: three pages


@pytest.mark.django_db
def test_within_a_rank_the_furthest_behind_for_its_interval_goes_first(intervals):
    a, b, c = _shops(3)
    _state(a, full_ago=20, soon_ago=12)
    _state(b, full_ago=20, soon_ago=19)
    _state(c, full_ago=40, soon_ago=15)
    assert [d.shop.slug for d in schedule.due([a, b, c], T0)] == ["m1", "m2", "m0"]


@pytest.mark.django_db
def test_a_soon_pass_that_costs_a_full_one_reads_everything(intervals):
    small, large = _shops(2)
    _state(small, full_ago=20, soon_ago=15, events=180, soon_events=40)
    _state(large, full_ago=20, soon_ago=15, events=263, soon_events=60)
    kinds = {d.shop.slug: (d.kind, d.cost) for d in schedule.due([small, large], T0)}
    assert kinds == {"m0": (sync.FULL, 1), "m1": (sync.SOON, 1)}


@pytest.mark.django_db
def test_stock_seen_moving_or_an_order_taken_makes_a_merchant_selling(intervals):
    shop = _shops(1)[0]
    _state(shop, full_ago=20, soon_ago=15, last_stock_move_at=T0 - timedelta(seconds=299))
    assert schedule.due([shop], T0)[0].rank == schedule.PROMISED
    later = T0 + timedelta(seconds=2)
    assert schedule.due([shop], later)[0].rank == schedule.QUIET
    SyncState.objects.filter(merchant=shop.namespace).update(last_stock_move_at=None)
    sync.note_sale(shop.namespace)
    state = SyncState.objects.get(merchant=shop.namespace)
    assert state.last_sale_at is not None
    assert schedule.selling(state, state.last_sale_at + timedelta(seconds=299))
    assert not schedule.selling(state, state.last_sale_at + timedelta(seconds=301))


@pytest.mark.django_db
def test_a_failed_pass_waits_before_it_is_tried_again(intervals):
    shop, never = _shops(2)
    _state(shop, full_ago=60, last_error="Timeout", last_attempt_at=T0 - timedelta(seconds=3))
    SyncState.objects.create(
        merchant=never.namespace, last_error="Timeout", last_attempt_at=T0 - timedelta(seconds=1)
    )
    assert schedule.due([shop, never], T0) == []
    assert [d.shop.slug for d in schedule.due([shop, never], T0 + timedelta(seconds=8))] == [
        "m1",
        "m0",
    ]


@pytest.mark.django_db
def test_the_need_is_every_full_pass_and_the_sellers_soon_passes_once_each(intervals):
    intervals.REPLICA_CATEGORIES_SECONDS = 600
    quiet, seller, large_seller = _shops(3)
    _state(quiet, full_ago=5, events=150, soon_events=20)
    _state(seller, full_ago=5, events=150, soon_events=20, last_sale_at=T0)
    _state(large_seller, full_ago=5, events=450, soon_events=20, last_sale_at=T0)
    per_merchant_full = 60 / 45
    assert schedule.need([quiet], T0) == pytest.approx(per_merchant_full + 0.1)
    assert schedule.need([seller], T0) == pytest.approx(0.1 + 6)  # its soon passes are full
    # 450 events: full passes of three pages, soon passes of one.
    assert schedule.need([large_seller], T0) == pytest.approx(3 * per_merchant_full + 0.1 + 6)


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_the_allowance_pays_passes_by_their_calls_and_saves_up_ten_seconds(settings):
    settings.UPSTREAM_BUDGET_PER_MINUTE = 270
    settings.REPLICA_BUDGET_SHARE = 0.5  # 2.25 calls a second
    clock = Clock()
    allowance = schedule.Allowance(clock)
    assert allowance.capacity == pytest.approx(22.5)
    allowance.spend(22)
    assert not allowance.affords(1)
    clock.seconds = 1
    assert allowance.affords(2) and not allowance.affords(3)
    allowance.spend(5)  # the pass cost more than it looked: a debt
    clock.seconds = 2
    assert not allowance.affords(1)
    clock.seconds = 60
    assert allowance.affords(40) and allowance.tokens == pytest.approx(22.5)  # saved up: full
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    assert schedule.Allowance(clock).affords(10_000)  # no budget set: no limit


@pytest.mark.django_db
def test_a_round_stops_at_the_first_pass_it_cannot_pay_for(intervals, monkeypatch):
    intervals.UPSTREAM_BUDGET_PER_MINUTE = 60
    intervals.REPLICA_BUDGET_SHARE = 1.0  # one call a second, ten saved
    shops = _shops(3)
    _state(shops[0], full_ago=50, events=1000)  # five pages, more than affordable after m1
    _state(shops[1], full_ago=60, events=1000)
    _state(shops[2], full_ago=20, soon_ago=15)  # one call: would fit, but ranks below
    ran = _fake_passes(monkeypatch, lambda shop, kind: 5 if kind == sync.FULL else 1)
    clock = Clock()
    monkeypatch.setattr(worker.timezone, "now", lambda: T0)
    allowance = schedule.Allowance(clock)
    allowance.spend(4)  # six left
    worker.run_round(shops, allowance, at_once=1)
    assert ran == [("m1", sync.FULL)]


@pytest.mark.django_db
def test_a_budget_refusal_ends_the_round(intervals, monkeypatch):
    shops = _shops(3)
    for shop in shops:
        _state(shop, full_ago=60)
    ran: list[str] = []

    def refused(shop, **_):
        ran.append(shop.slug)
        return sync.PassResult(shop.slug, sync.FULL, calls=1, exhausted=True)

    monkeypatch.setattr(worker, "full_pass", refused)
    monkeypatch.setattr(worker.timezone, "now", lambda: T0)
    assert len(worker.run_round(shops, at_once=1)) == 1 and len(ran) == 1


@pytest.mark.django_db(transaction=True)  # passes record from their threads
def test_passes_run_side_by_side_in_rank_order(intervals, monkeypatch):
    shops = _shops(7)
    for i, shop in enumerate(shops):
        _state(shop, full_ago=46 + i)  # the last furthest behind
    lock, running, started = threading.Lock(), [0], []
    most = [0]

    def slow(shop, **_):
        with lock:
            started.append(shop.slug)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # waiting on the API
        with lock:
            running[0] -= 1
        _record(shop, sync.FULL, T0)
        return sync.PassResult(shop.slug, sync.FULL, calls=1, complete=True)

    monkeypatch.setattr(worker, "full_pass", slow)
    monkeypatch.setattr(worker.timezone, "now", lambda: T0)
    results = worker.run_round(shops, at_once=3)
    assert len(results) == 7 and most[0] == 3
    assert started[:3] == ["m6", "m5", "m4"]  # the furthest behind start first


@pytest.mark.django_db(transaction=True)  # passes record from their threads
def test_a_seller_falling_due_mid_round_takes_the_next_free_slot(intervals, monkeypatch):
    """Four quiet merchants' passes are due when the round begins; a selling merchant's soon
    pass falls due a moment later, while the first two run. It goes next, ahead of the quiet
    passes listed at the start, in the same round."""
    *quiet, seller = _shops(5)
    for shop in quiet:
        _state(shop, full_ago=20, soon_ago=15)
    _state(seller, full_ago=20, soon_ago=9.9, last_sale_at=T0 - timedelta(seconds=30))
    elapsed = [0.0]  # the clock moves a second once the first pass has begun
    monkeypatch.setattr(worker.timezone, "now", lambda: T0 + timedelta(seconds=elapsed[0]))
    started: list[str] = []
    lock = threading.Lock()

    def slow(shop, **_):
        with lock:
            started.append(shop.slug)
            elapsed[0] = 1.0
        time.sleep(0.05)  # waiting on the API
        _record(shop, sync.SOON, T0 + timedelta(seconds=elapsed[0]))
        return sync.PassResult(shop.slug, sync.SOON, calls=1, complete=True)

    monkeypatch.setattr(worker, "full_pass", slow)
    monkeypatch.setattr(worker, "soon_pass", slow)
    results = worker.run_round([*quiet, seller], at_once=2)
    assert len(results) == 5
    assert set(started[:2]) <= {q.slug for q in quiet}
    assert started[2] == seller.slug, started


@pytest.mark.django_db(transaction=True)
def test_a_seller_runs_again_in_the_same_round_once_due_again(intervals, monkeypatch):
    """A selling merchant's pace is its soon interval, not the length of a round: once its
    pass has ended and it is due again, it goes again before the round ends."""
    intervals.REPLICA_SOON_SECONDS = 5
    (seller,) = _shops(1)
    _state(seller, full_ago=20, soon_ago=5, last_sale_at=T0)
    seconds = [0.0]
    now = lambda: T0 + timedelta(seconds=seconds[0])  # noqa: E731
    monkeypatch.setattr(worker.timezone, "now", now)
    ran: list[float] = []

    def soon(shop, **_):
        ran.append(seconds[0])
        _record(shop, sync.SOON, now())
        seconds[0] += 6  # each pass takes six seconds
        return sync.PassResult(shop.slug, sync.SOON, calls=1, complete=True)

    monkeypatch.setattr(worker, "soon_pass", soon)
    monkeypatch.setattr(worker, "full_pass", soon)
    worker.run_round([seller], at_once=2, clock=lambda: seconds[0])
    assert ran == [0, 6]  # then the round's ten seconds are up


@pytest.mark.django_db(transaction=True)
def test_short_of_calls_a_round_waits_for_the_allowance_rather_than_ending(intervals, monkeypatch):
    intervals.UPSTREAM_BUDGET_PER_MINUTE = 60
    intervals.REPLICA_BUDGET_SHARE = 1.0  # one call a second
    shops = _shops(3)
    for i, shop in enumerate(shops):
        _state(shop, full_ago=50 + i)
    clock = Clock()
    allowance = schedule.Allowance(clock)
    allowance.spend(9)  # one call left
    monkeypatch.setattr(worker.timezone, "now", lambda: T0)
    started: list[tuple[str, float]] = []

    def full(shop, **_):
        started.append((shop.slug, clock.seconds))
        _record(shop, sync.FULL, T0)
        return sync.PassResult(shop.slug, sync.FULL, calls=1, complete=True)

    def sleep(seconds: float) -> None:
        clock.seconds += seconds

    monkeypatch.setattr(worker, "full_pass", full)
    worker.run_round(shops, allowance, at_once=2, clock=clock, sleep=sleep)
    assert started == [("m2", 0), ("m1", pytest.approx(1)), ("m0", pytest.approx(2))]


def _record(shop: Shop, kind: str, now: datetime) -> None:
    """What a pass that read everything it asked for records (``sync._record``)."""
    state = SyncState.objects.get(merchant=shop.namespace)
    state.last_soon_at = now
    if kind == sync.FULL:
        state.last_full_at = now
    state.save()


def _fake_passes(monkeypatch, calls_of, clock=None) -> list[tuple[str, str]]:
    """Passes that only record themselves as the real ones do (``sync._record``)."""
    ran: list[tuple[str, str]] = []

    def fake(kind):
        def run(shop, **_):
            ran.append((shop.slug, kind))
            _record(shop, kind, clock() if clock else T0)
            return sync.PassResult(shop.slug, kind, calls=calls_of(shop, kind), complete=True)

        return run

    monkeypatch.setattr(worker, "full_pass", fake(sync.FULL))
    monkeypatch.setattr(worker, "soon_pass", fake(sync.SOON))
    return ran


def _simulate(monkeypatch, shops: list[Shop], minutes: int) -> tuple[dict[str, list[float]], int]:
    """The worker's rounds over ``minutes`` simulated minutes, passes costing one call each;
    when each merchant's passes ran, and the calls spent."""
    clock = Clock()
    now = lambda: T0 + timedelta(seconds=clock.seconds)  # noqa: E731
    monkeypatch.setattr(worker.timezone, "now", now)
    passes: dict[str, list[float]] = {s.slug: [] for s in shops}

    def record(shop, kind):
        passes[shop.slug].append(clock.seconds)
        return 1

    _fake_passes(monkeypatch, record, clock=now)
    allowance = schedule.Allowance(clock)
    calls = 0
    while clock.seconds < minutes * 60:
        calls += sum(r.calls for r in worker.run_round(shops, allowance, at_once=1))
        clock.seconds += worker.ROUND_SECONDS
    return passes, calls


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _merchants(count: int, selling: int) -> tuple[list[Shop], set[str]]:
    shops = _shops(count)
    sellers = {s.slug for s in shops[:selling]}
    for i, shop in enumerate(shops):
        sale = T0 if shop.slug in sellers else None
        _state(shop, full_ago=i % 45, events=200, soon_events=60, last_sale_at=sale)
    return shops, sellers


@pytest.mark.django_db
def test_fifty_merchants_share_the_calls_fairly_and_sellers_keep_their_pace(intervals, monkeypatch):
    """Fifty merchants of 200 events each, a sync share of 135 calls a minute, ten simulated
    minutes: every merchant gets a pass that reads everything at least every 45 s, the five
    selling ones a soon pass about every 10 s, and the quiet ones share what is left evenly."""
    intervals.UPSTREAM_BUDGET_PER_MINUTE = 270
    intervals.REPLICA_BUDGET_SHARE = 0.5
    intervals.REPLICA_SELLING_SECONDS = 3600  # the sellers sell throughout
    shops, sellers = _merchants(50, selling=5)
    passes, calls = _simulate(monkeypatch, shops, minutes=10)

    assert calls <= 135 * 10 + 22.5  # the share (and the ten seconds saved), never more
    assert calls >= 135 * 10 * 0.95  # and the share is used: there is always a pass due
    for shop in shops:
        assert max(_gaps(passes[shop.slug])) <= 45 + worker.ROUND_SECONDS, shop.slug
    for slug in sellers:
        assert statistics.median(_gaps(passes[slug])) <= 10 + worker.ROUND_SECONDS, slug
    quiet = [len(passes[s.slug]) for s in shops if s.slug not in sellers]
    assert max(quiet) - min(quiet) <= 2  # the rest share evenly


@pytest.mark.django_db
def test_when_the_promise_costs_more_than_the_share_every_pass_stretches_alike(
    intervals, monkeypatch
):
    """Fifteen of fifty merchants selling: the promise costs 35 × 1.33 + 15 × 6 = 137 calls a
    minute against a share of 120. Full passes and the sellers' passes come late by the same
    factor (about 1.15), so both stay inside their goals (60 s, 15 s)."""
    intervals.UPSTREAM_BUDGET_PER_MINUTE = 240
    intervals.REPLICA_BUDGET_SHARE = 0.5
    intervals.REPLICA_SELLING_SECONDS = 3600
    shops, sellers = _merchants(50, selling=15)
    passes, _calls = _simulate(monkeypatch, shops, minutes=10)
    quiet_gaps = [g for s in shops if s.slug not in sellers for g in _gaps(passes[s.slug])[1:]]
    seller_gaps = [g for slug in sellers for g in _gaps(passes[slug])[1:]]
    assert max(quiet_gaps) <= 60 and max(seller_gaps) <= 15
    stretch = statistics.mean(quiet_gaps) / 45, statistics.mean(seller_gaps) / 10
    assert min(stretch) > 1.05 and max(stretch) - min(stretch) < 0.15
