"""What a buyer reads on the catalog's pages matches what the API does: fees, dates,
prices per date, what a button will do, the currency."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from infra import upstream as gm_module

VENUE, GA = 2, 1  # Harbor Hall, General admission (seeded)


@pytest.fixture
def web(client, storefront_settings):
    gm_module._clients.clear()
    yield client
    gm_module._clients.clear()


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def new_event(gm, *types: dict, **fields) -> dict:
    """An event of our own, built and ready, with these registration types."""
    start = (timezone.now() + timedelta(days=400)).replace(microsecond=0).astimezone(UTC)
    event, operation = gm.create_event(
        {
            "name": f"Buyers {uuid.uuid4().hex[:8]}",
            "venue_id": VENUE,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "published_at": timezone.now().replace(microsecond=0).astimezone(UTC).isoformat(),
            "registration_types": [{"inventory": 50, "ticket_type_id": GA, **t} for t in types],
            **fields,
        }
    )
    gm.wait_for_operation(event["id"], operation, first_delay=0.05, max_delay=0.2, timeout=30)
    return gm.get_event(event["id"], include="registration_types")


def type_row(page: str, name: str) -> str:
    return next(r for r in page.split('<div class="type-row')[1:] if f">{name}<" in r)


@pytest.mark.django_db
def test_a_tables_fee_on_the_event_page_is_what_the_order_charges(web, gm, sandbox):
    table = {
        "name": "Table of 4",
        "price": 145,
        "quantity": 4,
        "service_fee_amount": 1,
        "service_fee_percentage": 3,
    }
    event = new_event(gm, table)
    rt = event["registration_types"][0]
    page = web.get(f"/events/{event['id']}/{event['slug']}/").content.decode()
    row = visible_text(type_row(page, "Table of 4"))
    shown = re.search(r"\+ \$(\d+\.\d\d) fee per purchase", row)
    assert shown, row
    order = gm.create_order(currency="USD", line_items=[{"variant_id": rt["variant_id"]}])
    try:
        charged = sum(
            a["amount"]["amount"] for a in order["adjustments"] if a["label"] == "Service Fee"
        )
    finally:
        sandbox.expire(order["id"])
    # As the API charges it: $1.00 a ticket, and 3% of the $145.00 unit rounded once.
    assert charged == 4 * 100 + 435
    assert round(Decimal(shown.group(1)) * 100) == charged
    assert "per ticket" not in row  # $2.0875 a ticket: no whole-cent share to show
