"""The confirmation and the calendar file say where to go: the venue's name and address."""

from __future__ import annotations

import pytest

from infra import upstream as gm_module

from .helpers import event_named, eventually
from .web import Shopper, address_form, payment


@pytest.fixture
def shopper(client, storefront_settings, gm):
    gm_module._clients.clear()
    yield Shopper(client, gm)
    gm_module._clients.clear()


@pytest.mark.django_db
def test_the_confirmation_and_the_calendar_give_the_venues_address(shopper, sandbox, gm):
    event = event_named(gm, "Quick Ticket Night")
    venue = gm.get_venue(event["venue_id"], include="address")
    street, city = venue["address"]["address1"], venue["address"]["city"]
    assert street and city
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    shopper.web.post(url, address_form(shopper.web.get(url).content.decode(), shopper.token))
    paid = shopper.post(url, payment(sandbox.card_token()))
    assert paid.status_code == 302

    def confirmed() -> str | None:
        html = shopper.web.get(url).content.decode()
        return html if "You’re going!" in html else None

    html = eventually(confirmed, "the order completed")
    tickets = html.split('<ul class="ticket-list"')[1].split("</ul>")[0]
    assert street in tickets and city in tickets
    ics = shopper.web.get(f"{url}calendar.ics").content.decode()
    lines = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = ics.replace("\r\n ", "").split("\r\n")
    location = next(line for line in unfolded if line.startswith("LOCATION:"))
    assert venue["name"] in location
    assert street.replace(",", "\\,") in location and city in location
