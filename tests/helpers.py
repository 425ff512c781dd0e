"""Small helpers for driving the API in tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from guestmanager import GuestManagerClient

POLL_SECONDS = 0.1
PATIENCE = 30.0  # long enough for anything on a loaded machine; only a failure waits it out


def eventually[T](probe: Callable[[], T], what: str, timeout: float = PATIENCE) -> T:
    """Ask ``probe`` until it answers something truthy, and return that; fail, saying
    ``what`` never happened, after ``timeout`` seconds. For outcomes that come from another
    thread or process (a payment settling, a refresh landing)."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)  # the interval between looks, not a guess at a duration
    return found


class FakeClock:
    """A clock that moves only when told: ``advance``, or ``sleep``, which moves it instead
    of waiting and records what it was asked. Call it, or use it in place of the time module
    (``time()``, ``monotonic()``, ``sleep()``).

    It keeps whole milliseconds, and by default reads about 1,000,000 s, where converting
    seconds to milliseconds and back is exact: waits computed from it come out exact too."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self._ms = round(now * 1000)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self._ms / 1000

    time = monotonic = perf_counter = __call__

    def advance(self, seconds: float) -> None:
        self._ms += round(seconds * 1000)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


BUYER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "2065550100",
    "phone_number_country": "US",
}
ADDRESS = {
    "address1": "1 Main Street",
    "city": "Seattle",
    "zipcode": "98101",
    "state_code": "WA",
    "country_code": "US",
}


def event_named(gm: GuestManagerClient, name: str) -> dict[str, Any]:
    page = gm.list_events(
        filters={"name": name},
        include="registration_types.prices,registration_types.stock_item,"
        "registration_types.ticket_type,venue",
    )
    assert page.data, f"no event named {name!r}"
    return page.data[0]


def variant(gm: GuestManagerClient, event_name: str, type_name: str) -> int:
    event = event_named(gm, event_name)
    return next(rt["variant_id"] for rt in event["registration_types"] if rt["name"] == type_name)


def answer_everything(order: dict[str, Any]) -> list[dict[str, Any]]:
    responses = []
    for response in order["responses"]:
        answers = []
        for a in response["answers"]:
            field = a["field"]
            value = field["options"][0]["id"] if field["type"] == "multiple_choice" else "None"
            answers.append({"id": a["id"], "value": value})
        responses.append({"id": response["id"], "answers": answers})
    return responses


def name_tickets(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": t["id"], "name": f"Guest {i}", "email": f"guest{i}@example.com"}
        for i, t in enumerate(order["tickets"])
    ]


def walk_to_payment(gm: GuestManagerClient, order: dict[str, Any]) -> dict[str, Any]:
    """Fill every step before payment with valid data."""
    oid, token = order["id"], order["guest_token"]
    if order["state"] == "cart":
        order = gm.checkout_next(oid, token)
    while order["state"] not in ("payment", "complete", "requested", "reserved"):
        state = order["state"]
        data: dict[str, Any] = {}
        if state == "tickets":
            data["tickets"] = name_tickets(order)
        elif state == "address":
            data["bill_address"] = ADDRESS
        elif state == "form":
            data["responses"] = answer_everything(order)
        order = gm.checkout_update(oid, token, state, **data)
    return order


def pay(gm: GuestManagerClient, order: dict[str, Any], token: str, last_four: str = "4242"):
    return gm.checkout_update(
        order["id"],
        order["guest_token"],
        "payment",
        payments=[
            {
                "payment_method_id": order["payment_methods"][0]["id"],
                "source": {
                    "token": token,
                    "brand": "visa",
                    "last_four": last_four,
                    "cardholder_name": "Ada Lovelace",
                },
            }
        ],
    )


def poll_until_settled(gm: GuestManagerClient, order: dict[str, Any]) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        polled = gm.poll_order(order["id"], order["guest_token"])
        if polled["state"] != "processing":
            return polled
        assert set(polled) == {"state"}, "a processing poll answers only the state"
        return None

    return eventually(settled, "the order left processing")


def sync_replica(*shops: Any) -> None:
    """A real full pass of the catalog replica now, for the settings' shop or ``shops``:
    after a test changed the sandbox's catalog (an event made, stock set), before it looks
    at pages, which read the replica."""
    from replica import sync
    from tenancy.shop import default_shop

    for shop in shops or (default_shop(),):
        result = sync.full_pass(shop, categories=True)
        assert result.complete, result.error


HARBOR_HALL, GENERAL_ADMISSION = 2, 1  # a venue and a ticket type the sandbox seeds


def _whole_seconds_utc(moment: datetime) -> str:
    return moment.replace(microsecond=0).astimezone(UTC).isoformat()


def new_event(
    gm: GuestManagerClient,
    *types: dict[str, Any],
    copy_to_replica: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """An event of our own (changing it disturbs no other test), published, built and ready,
    more than a year ahead; ``types`` are its registration types (50 of each, general
    admission, unless they say otherwise) and ``fields`` override the event's own. Copied to
    the replica, which pages read, unless ``copy_to_replica`` is False. Answered as the API
    has it, with its types and their prices."""
    start = timezone.now() + timedelta(days=400)
    event, operation = gm.create_event(
        {
            "name": f"Own event {uuid.uuid4().hex[:8]}",
            "venue_id": HARBOR_HALL,
            "starts_at": _whole_seconds_utc(start),
            "ends_at": _whole_seconds_utc(start + timedelta(hours=2)),
            "published_at": _whole_seconds_utc(timezone.now()),
            "registration_types": [
                {"inventory": 50, "ticket_type_id": GENERAL_ADMISSION, **t} for t in types
            ],
            **fields,
        }
    )
    gm.wait_for_operation(event["id"], operation, first_delay=0.05, max_delay=0.2, timeout=30)
    if copy_to_replica:
        sync_replica()
    return gm.get_event(event["id"], include="registration_types.prices")


@dataclass
class ReplicaSnapshot:
    """A merchant's replica rows as one real sync left them, at a sandbox catalog version."""

    version: str
    rows: dict[str, list[dict[str, Any]]]


_replica_snapshots: dict[str, ReplicaSnapshot] = {}


def _replica_models():
    from replica import models

    return {
        "state": models.SyncState,
        "events": models.CatalogEvent,
        "categories": models.CatalogCategory,
        "links": models.EventCategory,
    }


def _replica_rows(namespace: str) -> dict[str, list[dict[str, Any]]]:
    models = _replica_models()
    return {
        name: list(
            model.objects.filter(
                **{"event__merchant" if name == "links" else "merchant": namespace}
            ).values()
        )
        for name, model in models.items()
    }


def _restore_replica(namespace: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """The snapshot's rows, synced now: a pass now would leave the same rows (the sandbox's
    catalog has not changed), so the replica is as current as a real sync would leave it."""
    from django.utils import timezone

    models = _replica_models()
    models["events"].objects.filter(merchant=namespace).delete()
    models["categories"].objects.filter(merchant=namespace).delete()
    models["state"].objects.filter(merchant=namespace).delete()
    now = timezone.now()
    passes = ("last_full_at", "last_soon_at", "last_attempt_at", "last_categories_at")
    synced_now = dict.fromkeys(passes, now)
    rows = {**rows, "state": [{**row, **synced_now} for row in rows["state"]]}
    for name in ("state", "events", "categories", "links"):
        models[name].objects.bulk_create([models[name](**row) for row in rows[name]])


def load_replica(sandbox: Any, shop: Any) -> None:
    """Give ``shop`` its replica: the rows of the last real sync while the sandbox's catalog
    has not changed since (fast), else a real full pass (whose rows are kept for the next)."""
    from replica import sync

    version = sandbox.catalog_version()
    snapshot = _replica_snapshots.get(shop.namespace)
    if snapshot is not None and snapshot.version == version:
        _restore_replica(shop.namespace, snapshot.rows)
        return
    result = sync.full_pass(shop, categories=True)
    assert result.complete, result.error
    _replica_snapshots[shop.namespace] = ReplicaSnapshot(version, _replica_rows(shop.namespace))
