"""Small helpers for driving the API in tests."""

from __future__ import annotations

import time
from typing import Any

from guestmanager import GuestManagerClient

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


def poll_until_settled(gm: GuestManagerClient, order: dict[str, Any], timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polled = gm.poll_order(order["id"], order["guest_token"])
        if polled["state"] != "processing":
            return polled
        assert set(polled) == {"state"}, "a processing poll answers only the state"
        time.sleep(0.2)
    raise AssertionError("order still processing")
