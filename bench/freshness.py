"""How fresh the catalog replica keeps pages, and what its sync costs at rest.

Starts the usual stack (``bench.common``: sandbox with 50 ms latency, granian, the sync
worker with its default intervals), then measures, as a buyer sees it (whole pages, page
cache included):

- a new event: created through the API, until a search on the list finds it;
- a price change: a type's price changed through the API, until its event page shows it;
- sold out: an event on sale now set sold out, until its event page says "Sold out";
- at rest: the API calls the sync makes in ``--rest`` seconds with nothing changing.

    .venv/bin/python -m bench.freshness --rounds 3 --rest 120
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from guestmanager import GuestManagerClient

from .common import WRITE_KEY, Stack, arguments, stack

VENUE, GA = 2, 1  # Harbor Hall, General admission (seeded)
POLL_SECONDS = 0.25
GIVE_UP_SECONDS = 180.0


def api(s: Stack) -> GuestManagerClient:
    return GuestManagerClient(f"{s.sandbox}/sandbox/api/public/v2", WRITE_KEY)


def until(probe: Callable[[], bool]) -> float:
    """Seconds until ``probe`` holds (polled every POLL_SECONDS)."""
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > GIVE_UP_SECONDS:
            raise SystemExit(f"not seen after {GIVE_UP_SECONDS:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def page(s: Stack, path: str, **params: str) -> str:
    return httpx.get(s.storefront + path, params=params, timeout=30).text


def _built(client: GuestManagerClient, event_id: int, operation: int | None) -> None:
    if operation:
        client.wait_for_operation(event_id, operation, first_delay=0.05, max_delay=0.2)


def new_event(s: Stack, client: GuestManagerClient) -> tuple[float, dict]:
    name = f"Fresh {uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    event, operation = client.create_event(
        {
            "name": name,
            "venue_id": VENUE,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "registration_types": [
                {"name": "Entry", "price": 20, "inventory": 50, "ticket_type_id": GA}
            ],
        }
    )
    took = until(lambda: f"/events/{event['id']}/" in page(s, "/", q=name))
    _built(client, event["id"], operation)
    return took, client.get_event(event["id"], include="registration_types")


def price_change(s: Stack, client: GuestManagerClient, event: dict, price: int) -> float:
    rt = event["registration_types"][0]
    _event, operation = client.update_event(
        event["id"],
        {"registration_types": [{"id": rt["id"], "price": price, "ticket_type_id": GA}]},
    )
    took = until(lambda: f"${price}.00" in page(s, f"/events/{event['id']}/{event['slug']}/"))
    _built(client, event["id"], operation)
    return took


def active_events(client: GuestManagerClient, **filters: object) -> list[dict]:
    pages = client.iter_events(
        filters={"status": "active", **filters},
        include="registration_types.stock_item",
        page_size=200,
    )
    return [e for found in pages for e in found]


def on_sale_now(client: GuestManagerClient) -> list[tuple[dict, dict]]:
    """(event, type) pairs selling now, starting within a week, one per event."""
    soon = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    found = []
    for event in active_events(client, starts_at={"to": soon}):
        if event.get("parent_event_id") or event.get("type") != "date":
            continue
        for rt in event.get("registration_types") or []:
            stock = rt.get("stock_item") or {}
            if stock.get("status") == "selling" and (stock.get("available") or 0) > 0:
                found.append((event, rt))
                break
    return found


def sold_out(s: Stack, event: dict, rt: dict) -> float:
    s.sandbox_control(
        "POST", f"variants/{rt['variant_id']}/stock", {"available": 0, "status": "sold_out"}
    )
    path = f"/events/{event['id']}/{event['slug']}/"
    took = until(lambda: f'id="reason-{rt["variant_id"]}">Sold out<' in page(s, path))
    s.sandbox_control(
        "POST", f"variants/{rt['variant_id']}/stock", {"available": 50, "status": "selling"}
    )
    return took


def at_rest(s: Stack, seconds: float) -> tuple[float, dict[str, int]]:
    s.sandbox_control("POST", "stats")
    time.sleep(seconds)
    routes = s.sandbox_control("GET", "stats")["by_route"]
    calls = sum(routes.values())
    return calls * 60 / seconds, routes


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.1f} s, max {max(values):.1f} s ({len(values)} rounds)"
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rest", type=float, default=120.0, help="seconds measured at rest")
    args = parser.parse_args()
    with stack() as s, api(s) as client:
        # Two full passes' worth of quiet first: every pass after the first finds no change.
        time.sleep(5)
        per_minute, routes = at_rest(s, args.rest)
        print(f"catalog: {len(active_events(client))} active events, one merchant")
        print(f"at rest: {per_minute:.1f} API calls a minute ({routes})")
        new, prices, sold = [], [], []
        targets = on_sale_now(client)
        for round_ in range(args.rounds):
            took, event = new_event(s, client)
            new.append(took)
            prices.append(price_change(s, client, event, 30 + round_))
            sold.append(sold_out(s, *targets[round_ % len(targets)]))
            print(
                f"round {round_ + 1}: new {new[-1]:.1f} s, price {prices[-1]:.1f} s, "
                f"sold out {sold[-1]:.1f} s",
                flush=True,
            )
        print(f"new event shown:    {summary(new)}")
        print(f"price change shown: {summary(prices)}")
        print(f"sold out shown:     {summary(sold)}")


if __name__ == "__main__":
    main()
