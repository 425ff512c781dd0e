"""The waiting room's queues (``waitingroom.room``), on a clock the tests move: against a real
Redis (what every instance of a deployment shares) and the in-process server the default
setup runs the same script on."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import redis

from waitingroom.room import Place, Room, Rules, local_client

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
T0 = 1_800_000_000.0
EVERY_2S = Rules(interval_ms=2000, burst=1, away_ms=60_000, pass_ms=30_000)


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["redis", "local"])
def room(request, clock) -> Room:
    if request.param == "redis":
        if not _redis_reachable():
            pytest.skip(f"no Redis at {REDIS_URL}")
        client = redis.Redis.from_url(REDIS_URL)
    else:
        client = local_client()
    return Room(client, f"test-room-{uuid.uuid4().hex}:", clock=clock)


def enter(room: Room, member: str, queue: str = "m:a", address: str = "", **kw):
    return room.enter(
        member, queue, kw.pop("rules", EVERY_2S), address=address or member, cap=3, **kw
    )


def test_nobody_waits_while_turns_are_free(room):
    assert enter(room, "first").admitted
    # The one turn of the burst is used: the next buyer waits, first in line.
    second = enter(room, "second")
    assert (second.state, second.position) == ("waiting", 1)
    assert second.wait_seconds == pytest.approx(2.0)


def test_turns_come_in_order_of_arrival_at_the_budgets_rate(room, clock):
    assert enter(room, "opener").admitted
    for name in ["a", "b", "c", "d"]:
        enter(room, name)
    assert [room.status(n, EVERY_2S).position for n in "abcd"] == [1, 2, 3, 4]
    assert room.status("d", EVERY_2S).wait_seconds == pytest.approx(8.0)
    clock.tick(2.0)
    assert room.status("a", EVERY_2S) == Place("admitted", turn=2)  # the opener had turn 1
    assert room.status("b", EVERY_2S).position == 1
    clock.tick(1.9)
    assert not room.status("b", EVERY_2S).admitted
    clock.tick(3.0)  # the turns due at 4 s and 6 s, though nobody asked then
    assert room.status("b", EVERY_2S).admitted and room.status("c", EVERY_2S).admitted
    assert room.status("d", EVERY_2S).position == 1


def test_asking_often_does_not_move_a_place_forward(room, clock):
    assert enter(room, "opener").admitted
    enter(room, "patient")
    enter(room, "hammer")
    for _ in range(200):
        room.status("hammer", EVERY_2S)
        enter(room, "hammer")  # adding again keeps the place, it doesn't take a new one
    assert room.status("hammer", EVERY_2S).position == 2
    clock.tick(2.0)
    assert room.status("patient", EVERY_2S).admitted
    assert not room.status("hammer", EVERY_2S).admitted


def test_merchants_take_turns(room, clock):
    assert enter(room, "opener", "m:a").admitted
    for i in range(6):
        enter(room, f"a{i}", "m:a")
    for i in range(2):
        enter(room, f"b{i}", "m:b")
    # b0 arrived after six of a's buyers, yet waits for one turn of a's, not six.
    assert room.status("b0", EVERY_2S).wait_seconds == pytest.approx(4.0)
    order = []
    for _ in range(8):
        clock.tick(2.0)
        for name in [f"a{i}" for i in range(6)] + ["b0", "b1"]:
            if name not in order and room.status(name, EVERY_2S).admitted:
                order.append(name)
    assert order[:4] == ["a0", "b0", "a1", "b1"]
    assert order[4:] == ["a2", "a3", "a4", "a5"]


def test_a_place_is_given_up_when_its_browser_is_away_without_using_a_turn(room, clock):
    holding = Rules(interval_ms=2000, burst=1, away_ms=60_000, pass_ms=30_000, holding=True)
    assert enter(room, "opener").admitted
    enter(room, "gone")
    enter(room, "here")
    for _ in range(6):  # no turns for 60 s (checkouts backed up): "here" looks, "gone" left
        clock.tick(10)
        assert room.status("here", holding).position == 2
    clock.tick(10)  # "gone" away past 60 s: given up, though no turn came
    assert room.status("here", holding).position == 1
    clock.tick(2)
    assert room.status("here", EVERY_2S).admitted  # the one turn due went to "here"
    assert room.status("gone", EVERY_2S).state == "none"


def test_a_pass_is_spent_once_and_lapses(room, clock):
    assert enter(room, "a").admitted
    assert room.use_pass("a") and not room.use_pass("a")
    clock.tick(2)
    assert enter(room, "b").admitted
    clock.tick(31)  # pass_ms is 30 s
    assert room.status("b", EVERY_2S).state == "none"
    assert not room.use_pass("b")


def test_each_address_has_a_few_places_at_most(room):
    assert enter(room, "opener").admitted
    for i in range(3):
        assert enter(room, f"bot{i}", address="10.0.0.1").state == "waiting"
    assert enter(room, "bot3", address="10.0.0.1").state == "full"
    assert enter(room, "other", address="10.0.0.2").state == "waiting"
    room.leave("bot0")
    assert enter(room, "bot3", address="10.0.0.1").state == "waiting"


def test_the_pre_queue_is_drawn_at_random_and_goes_before_later_arrivals(room, clock):
    opens = T0 + 60
    early = [f"early{i}" for i in range(30)]
    for name in early:
        place = enter(room, name, "e:a:1", opens_at=opens)
        assert place.state == "waiting" and place.wait_seconds >= 60
    positions = [room.status(n, EVERY_2S).position for n in early]
    assert sorted(positions) == list(range(1, 31))
    assert positions != list(range(1, 31))  # not arrival order (1 in 30! to fail by chance)
    clock.tick(59)
    assert not any(room.status(n, EVERY_2S).admitted for n in early)
    clock.tick(1)
    late = enter(room, "late", "e:a:1", opens_at=opens)
    assert late.position == 30  # the first turn went; everyone early stays ahead
    first = [n for n, p in zip(early, positions, strict=True) if p == 1][0]
    assert room.status(first, EVERY_2S).admitted


def test_a_sold_out_queue_takes_no_turns_until_reopened(room, clock):
    assert enter(room, "opener", "e:a:1").admitted
    enter(room, "x", "e:a:1")
    enter(room, "y", "m:b")
    room.close("e:a:1")
    clock.tick(2)
    assert room.status("x", EVERY_2S).state == "closed"
    assert room.status("y", EVERY_2S).admitted  # the turn went to the other merchant
    room.reopen("e:a:1")
    clock.tick(2)
    assert room.status("x", EVERY_2S).admitted


def test_no_turns_while_holding(room, clock):
    holding = Rules(interval_ms=2000, burst=1, holding=True)
    assert not enter(room, "a", rules=holding).admitted
    clock.tick(10)
    assert not room.status("a", holding).admitted
    assert room.status("a", EVERY_2S).admitted


def test_instances_at_once_never_admit_twice_or_lose_a_place(room, clock):
    rules = Rules(interval_ms=1000, burst=5, away_ms=60_000, pass_ms=60_000)
    places = {}

    def arrive(i: int) -> None:
        places[i] = room.enter(f"b{i}", "m:a", rules, address=f"a{i}", cap=3)

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    admitted = [i for i, p in places.items() if p.admitted]
    waiting = sorted(p.position for p in places.values() if p.state == "waiting")
    assert len(admitted) == 5
    assert waiting == list(range(1, 36))
    for _ in range(7):  # 35 turns, looked at every 5 s as waiting pages do
        clock.tick(5)
        room.status("b0", rules)
    assert all(room.status(f"b{i}", rules).admitted for i in range(40))
    views = room.show(rules)
    assert not views or views[0].waiting == 0


def test_the_admission_rate_follows_the_budget_and_the_measured_cost(settings):
    from waitingroom import capacity

    settings.UPSTREAM_BUDGET_PER_MINUTE = 270
    settings.UPSTREAM_SYNC_RESERVE = 60
    settings.WAITING_ROOM_BUDGET_SHARE = 0.85
    settings.WAITING_ROOM_CALLS_PER_CHECKOUT = 7
    start = Clock()

    def now() -> float:
        return start.now

    # Until enough buyers were admitted to tell, the configured cost: 210 × 0.85 / 7.
    assert capacity.admissions_per_minute(now) == pytest.approx(25.5)
    for minute in range(10):  # 4 admissions and 20 calls a minute: 5 calls each
        start.now = T0 + minute * 60
        capacity.count("admissions", 4, now)
        capacity.count("calls", 20, now)
    assert capacity.calls_per_admission(now) == pytest.approx(5.0)
    assert capacity.admissions_per_minute(now) == pytest.approx(35.7)
    # Checkout calls backed up past half their wait: nobody is admitted until they catch up.
    settings.UPSTREAM_CHECKOUT_WAIT = 5
    assert not capacity.rules(2.0, now).holding and capacity.rules(2.6, now).holding
    start.now += capacity.WINDOW_MINUTES * 60 + 600  # long after: forgotten
    assert capacity.calls_per_admission(now) == 7
    # No budget, no room: every buyer goes straight in.
    settings.UPSTREAM_BUDGET_PER_MINUTE = 0
    assert capacity.admissions_per_minute(now) == 0
    assert capacity.rules(0.0, now).interval_ms == 0


def test_the_expected_wait_follows_the_pace_the_queue_really_gets(room, clock):
    assert enter(room, "opener", "m:a").admitted
    for i in range(40):
        enter(room, f"a{i}", "m:a")
    # Turns every 2 s, but another merchant takes every other one once it has buyers.
    for i in range(30):
        enter(room, f"b{i}", "m:b")
    # The next turn in 2 s, then 41 turns more: twenty of each merchant and its own.
    assert room.status("a20", EVERY_2S).wait_seconds == pytest.approx(2.0 + 2.0 * 41)
    for _ in range(20):
        clock.tick(2.0)
        room.status("a39", EVERY_2S)
    # Ten of a's buyers went in 40 s: one every 4 s, which is what the rest are told.
    place = room.status("a39", EVERY_2S)
    assert place.position == 30
    assert place.wait_seconds == pytest.approx(4.0 * 29, abs=2.0)


def test_the_expected_wait_counts_the_turns_other_merchants_keep_coming_for(room, clock):
    # Merchant b sells one buyer after another, each going straight in: at no instant does
    # anyone wait in b's line, yet b takes a turn every 4 s.
    def b_buyer_comes(i: int) -> None:
        assert enter(room, f"b{i}", "m:b").state in ("admitted", "waiting")

    for i in range(11):
        b_buyer_comes(i)
        clock.tick(4.0)
    assert enter(room, "a0", "m:a").admitted
    for i in range(1, 10):
        enter(room, f"a{i}", "m:a")
    shown = room.status("a9", EVERY_2S)
    assert (shown.state, shown.position) == ("waiting", 9)
    # Turns every 2 s, but b keeps wanting every other one: a's come every 4 s.
    assert shown.wait_seconds == pytest.approx(2.0 + 8 * 4.0, abs=1.0)
    waited, i = 0.0, 11
    while not room.status("a9", EVERY_2S).admitted:
        clock.tick(2.0)
        waited += 2.0
        if waited % 4 == 0:
            b_buyer_comes(i)
            i += 1
    assert waited == pytest.approx(shown.wait_seconds, abs=4.0)


def test_turns_stop_while_those_admitted_claim_every_ticket_left(room, clock):
    room.set_stock({7: 3, 8: None}, 1)
    assert enter(room, "a", "e:a:1", wants={7: 2}).admitted
    enter(room, "b", "e:a:1", wants={7: 2})
    enter(room, "c", "e:a:1", wants={7: 1})
    clock.tick(2)
    assert room.status("b", EVERY_2S).admitted  # 2 claimed of 3: one left to claim
    clock.tick(2)
    assert room.status("c", EVERY_2S).position == 1  # 4 claimed of 3: nobody more
    room.use_pass("a")  # a's order holds its 2; the copy's stock says 1 left
    room.set_stock({7: 1}, 2)
    room.set_stock({7: 3}, 1)  # a slower reader's older copy changes nothing
    clock.tick(2)
    assert not room.status("c", EVERY_2S).admitted  # b still claims 2
    room.use_pass("b")  # b bought the last one (fewer than wanted)
    room.set_stock({7: 0}, 3)
    clock.tick(2)
    assert not room.status("c", EVERY_2S).admitted
    # Someone behind who wants a type without a count waits behind c, in order.
    enter(room, "d", "e:a:1", wants={8: 1})
    clock.tick(2)
    assert room.status("d", EVERY_2S).position == 2
    room.set_stock({7: 1}, 4)  # a hold lapsed elsewhere: one came back
    clock.tick(2)
    assert room.status("c", EVERY_2S).admitted


def test_a_lapsed_pass_gives_its_claim_back(room, clock):
    room.set_stock({7: 2}, 1)
    assert enter(room, "a", "e:a:1", wants={7: 2}).admitted
    enter(room, "b", "e:a:1", wants={7: 1})
    clock.tick(20)
    assert not room.status("b", EVERY_2S).admitted
    clock.tick(11)  # a's pass (30 s) lapsed unused
    assert room.status("b", EVERY_2S).admitted


def test_the_same_variant_id_of_two_apis_is_two_variants(room, clock):
    room.set_stock({"a1b2c3d4.7": 1, "e5f6a7b8.7": 1}, 1)
    assert enter(room, "a", "e:a:1", wants={"a1b2c3d4.7": 1}).admitted
    enter(room, "c", "e:a:1", wants={"a1b2c3d4.7": 1})
    enter(room, "b", "e:b:1", wants={"e5f6a7b8.7": 1})
    for _ in range(3):
        clock.tick(2)
        room.status("c", EVERY_2S)
    # a claims API a1b2c3d4's variant 7, the last one: c waits; API e5f6a7b8's is free.
    assert room.status("b", EVERY_2S).admitted
    assert not room.status("c", EVERY_2S).admitted
