"""How fresh the catalog replica keeps pages, and what its sync costs at rest.

Starts the usual stack (``bench.common``: sandbox with 50 ms latency, gunicorn, the sync
worker with its default intervals), then measures, as a buyer sees it (whole pages, page
cache included):

- a new event: created through the API, until a search on the list finds it;
- a price change: a type's price changed through the API, until its event page shows it;
- sold out: an event on sale now set sold out, until its event page says "Sold out";
- at rest: the API calls the sync makes in ``--rest`` seconds with nothing changing.

    .venv/bin/python -m bench.freshness --rounds 3 --rest 120
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from .common import WRITE_KEY, Stack, stack

VENUE, GA = 2, 1  # Harbor Hall, General admission (seeded)
POLL_SECONDS = 0.25
GIVE_UP_SECONDS = 180.0


def api(s: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=f"{s.sandbox}/sandbox/api/public/v2",
        headers={"Authorization": f"Token {WRITE_KEY}", "Content-Type": "application/json"},
        timeout=30,
    )


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


def _wait_built(client: httpx.Client, event_id: int, operation: str | None) -> None:
    if not operation:
        return
    for _ in range(300):
        found = client.get(f"/events/{event_id}/operations/{operation}").json()
        if (found.get("data") or found).get("status") in ("completed", "failed"):
            return
        time.sleep(0.1)


def new_event(s: Stack, client: httpx.Client) -> tuple[float, dict]:
    name = f"Fresh {uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    created = client.post(
        "/events",
        json={
            "name": name,
            "venue_id": VENUE,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "registration_types": [
                {"name": "Entry", "price": 20, "inventory": 50, "ticket_type_id": GA}
            ],
        },
    )
    created.raise_for_status()
    event = created.json().get("data") or created.json()
    took = until(lambda: name in page(s, "/", q=name))
    _wait_built(client, event["id"], created.headers.get("X-Event-Operation-ID"))
    built = client.get(f"/events/{event['id']}", params={"include": "registration_types"})
    return took, built.json()


def price_change(s: Stack, client: httpx.Client, event: dict, price: int) -> float:
    rt = event["registration_types"][0]
    changed = client.patch(
        f"/events/{event['id']}",
        json={"registration_types": [{"id": rt["id"], "price": price, "ticket_type_id": GA}]},
    )
    changed.raise_for_status()
    return until(lambda: f"${price}.00" in page(s, f"/events/{event['id']}/{event['slug']}/"))


def on_sale_now(client: httpx.Client) -> list[tuple[dict, dict]]:
    """(event, type) pairs selling now, starting within a week, one per event."""
    soon = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    events = client.get(
        "/events",
        params={
            "filter[status]": "active",
            "filter[starts_at][to]": soon,
            "include": "registration_types.stock_item",
            "page[size]": "200",
        },
    ).json()["data"]
    found = []
    for event in events:
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
        "POST", f"control/variants/{rt['variant_id']}/stock", {"available": 0, "status": "sold_out"}
    )
    path = f"/events/{event['id']}/{event['slug']}/"
    took = until(lambda: "Sold out" in page(s, path))
    s.sandbox_control(
        "POST", f"control/variants/{rt['variant_id']}/stock", {"available": 50, "status": "selling"}
    )
    return took


def at_rest(s: Stack, seconds: float) -> tuple[float, dict[str, int]]:
    s.sandbox_control("POST", "control/stats")
    time.sleep(seconds)
    routes = s.sandbox_control("GET", "control/stats")["by_route"]
    calls = sum(routes.values())
    return calls * 60 / seconds, routes


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.1f} s, max {max(values):.1f} s ({len(values)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rest", type=float, default=120.0, help="seconds measured at rest")
    args = parser.parse_args()
    with stack() as s, api(s) as client:
        # Two full passes' worth of quiet first: every pass after the first finds no change.
        time.sleep(5)
        per_minute, routes = at_rest(s, args.rest)
        events = client.get("/events", params={"filter[status]": "active", "page[size]": "200"})
        print(f"catalog: {len(events.json()['data'])}+ active events, one merchant")
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
