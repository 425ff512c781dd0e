"""The client against the sandbox over real HTTP: whole checkouts and their error paths."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

import pytest

from guestmanager import Money, errors

from .helpers import (
    ADDRESS,
    BUYER,
    answer_everything,
    pay,
    poll_until_settled,
    variant,
    walk_to_payment,
)

# The objects as the reference (003 "Objects") documents them, written from its pages and
# not from the sandbox: a field the sandbox renames, drops or makes up fails the test.
COMMON = {"id", "created_at", "updated_at"}
MONEY = {"decimal", "amount", "formatted"}
ORDER_MONEY = {
    *("total", "item_total", "adjustment_total", "payment_total", "additional_tax_total"),
    *("included_tax_total", "included_service_fee_total", "additional_service_fee_total"),
    *("promo_total", "shipment_total", "taxable_adjustment_total"),
    *("non_taxable_adjustment_total", "application_fee_total"),
}
ORDER_FIELDS = (
    COMMON
    | ORDER_MONEY
    | {
        # Attributes.
        *("number", "state", "checkout_steps", "contact_id", "guest_token", "payment_state"),
        *("currency", "item_count", "expires_at", "completed_at", "abandon_at", "can_checkout_at"),
        *("created_by_id", "canceler_id", "approver_id", "holder_id", "company_id", "zone_id"),
        *("checkout_customization_id", "order_form_id", "order_channel_id", "shipping_method_id"),
        *("bill_address_id", "ship_address_id", "shipment_state", "email_state", "metadata"),
        *("mobile", "locked", "last_ip_address", "message", "links"),
        # Guest checkout properties.
        *("guest_checkout", "first_name", "last_name", "email", "phone_number"),
        "phone_number_country",
        # Relationships.
        *("bill_address", "ship_address", "line_items", "payment_methods", "tickets", "responses"),
        *("payments", "promotions", "adjustments"),
    }
)
# The keys of 003's "Order with line items response": every order has them.
ORDER_EXAMPLE = {
    *("id", "number", "currency", "state", "checkout_steps", "item_count", "contact_id"),
    *("guest_token", "guest_checkout", "first_name", "last_name", "email", "phone_number"),
    *("phone_number_country", "completed_at", "expires_at", "total", "item_total"),
    *("adjustment_total", "promo_total", "bill_address", "ship_address", "line_items"),
    *("adjustments", "promotions", "tickets", "payments", "responses"),
}
PAYMENT_STATES = {"paid", "balance_due", "credit_owed", "partial_refund", "refunded", "failed"}
LINE_ITEM_FIELDS = {
    *("id", "order_id", "name", "description", "variant_id", "quantity", "price", "amount"),
    *("currency", "bundle_item_id", "adjustments", "tickets", "subtotal", "ticket_tier"),
}
LINE_ITEM_EXAMPLE = {
    *("id", "order_id", "name", "description", "variant_id", "quantity", "currency"),
    *("bundle_item_id", "price", "subtotal"),
}
ADJUSTMENT_EXAMPLE = {
    *("id", "label", "order_id", "adjustable_id", "adjustable_type", "source_id", "source_type"),
    *("included", "mandatory", "eligible", "groupable", "finalized", "amount"),
}
ADJUSTMENT_FIELDS = ADJUSTMENT_EXAMPLE | {"application_fee"}
PAYMENT_FIELDS = COMMON | {
    *("number", "amount", "state", "order_id", "source_id", "source_type", "source"),
    *("payment_method_id", "response_code", "application_fee", "reason"),
}
PAYMENT_SOURCE = {"brand", "last_four", "cardholder_name"}  # never the token or the CVV
PAYMENT_METHOD_FIELDS = {
    *("id", "type", "name", "description", "display_name", "currencies", "test_mode"),
    *("billing_address_required", "payment_profiles_enabled", "active", "tokenize_key"),
}
ADDRESS_FIELDS = {
    *("id", "address1", "address2", "city", "zipcode", "state_name", "state_code"),
    *("country_name", "country_code", "state_id", "country_id", "state", "country"),
}
ADDRESS_EXAMPLE = {"id", "address1", "city", "zipcode", "state_name", "state_code"}
ADDRESS_EXAMPLE |= {"country_name", "country_code"}


def assert_money(value: dict, currency_symbol: str = "$") -> None:
    """003's money type: the amount in cents, the decimal as a string, formatted with its
    currency's symbol."""
    assert set(value) == MONEY, value
    assert isinstance(value["amount"], int) and isinstance(value["decimal"], str)
    assert Decimal(value["decimal"]) * 100 == value["amount"]
    assert value["formatted"] == f"{currency_symbol}{value['amount'] / 100:,.2f}", value


def assert_documented_order(order: dict) -> None:
    assert ORDER_EXAMPLE <= set(order) <= ORDER_FIELDS, set(order) ^ ORDER_EXAMPLE
    for name in ORDER_MONEY & set(order):
        assert_money(order[name])
    lines = order["line_items"]
    for line in lines:
        assert LINE_ITEM_EXAMPLE <= set(line) <= LINE_ITEM_FIELDS, line
        assert_money(line["price"])
        if "amount" in line:
            assert line["amount"]["amount"] == line["price"]["amount"] * line["quantity"]
    # Sums the Order attributes are defined by.
    assert order["item_count"] == sum(line["quantity"] for line in lines)
    item_total = sum(line["price"]["amount"] * line["quantity"] for line in lines)
    assert order["item_total"]["amount"] == item_total
    adjustments = order["total"]["amount"] - item_total
    assert order["adjustment_total"]["amount"] == adjustments
    for adjustment in order["adjustments"]:
        assert ADJUSTMENT_EXAMPLE <= set(adjustment) <= ADJUSTMENT_FIELDS, adjustment
        assert adjustment["adjustable_type"] in ("Order", "LineItem")
        assert_money(adjustment["amount"])
    for method in order.get("payment_methods", []):
        assert set(method) == PAYMENT_METHOD_FIELDS, method
    for address in filter(None, (order["bill_address"], order["ship_address"])):
        assert ADDRESS_EXAMPLE <= set(address) <= ADDRESS_FIELDS, address


def test_orders_are_the_documented_objects(gm, sandbox):
    v = variant(gm, "Quick Ticket Night", "Standard")
    created = gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 2}])
    assert_documented_order(created)
    buyer = gm.update_order(created["id"], created["guest_token"], **BUYER)
    at_payment = walk_to_payment(gm, buyer)
    assert_documented_order(at_payment)
    assert at_payment["payment_methods"], "the payment step offers its payment methods"
    pay(gm, at_payment, sandbox.card_token())
    done = poll_until_settled(gm, at_payment)  # a settled poll is the whole order
    assert_documented_order(done)
    assert done["payment_state"] in PAYMENT_STATES
    (payment,) = done["payments"]
    assert {"id", "number", "amount", "state", "order_id", "payment_method_id"} <= set(payment)
    assert set(payment) <= PAYMENT_FIELDS, payment
    assert set(payment.get("source", {})) <= PAYMENT_SOURCE
    assert_money(payment["amount"])
    if done["payment_state"] == "paid":  # 003, "Payment states": payment_total == total
        assert done["payment_total"] == done["total"] == payment["amount"]


def test_paid_checkout_through_every_step(gm, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    ga = variant(gm, "Sandbox Showcase", "General admission")
    order = gm.create_order(currency="USD", line_items=[{"variant_id": ga, "quantity": 2}])
    assert order["state"] == "cart"
    assert order["checkout_steps"] == ["tickets", "address", "form", "payment", "complete"]
    assert order["total"]["amount"] == 2 * 2500 + 2 * (100 + 75)  # fee: $1 + 3% each
    total = Money.parse(order["total"], order["currency"])
    assert (total.amount, str(total.decimal), total.formatted) == (5350, "53.5", "$53.50")
    oid, token = order["id"], order["guest_token"]

    with pytest.raises(errors.ValidationError) as missing_buyer:
        gm.checkout_next(oid, token)
    assert {e.attribute for e in missing_buyer.value.errors.attributes} == {
        "email",
        "first_name",
        "last_name",
    }

    order = gm.update_order(oid, token, **BUYER)
    assert order["phone_number"] == "+12065550100"
    order = gm.checkout_next(oid, token)
    assert order["state"] == "tickets"

    first, second = order["tickets"]
    with pytest.raises(errors.ValidationError) as bad_tickets:
        gm.checkout_update(
            oid, token, "tickets", tickets=[{"id": first["id"], "name": "Bo"}, {"id": second["id"]}]
        )
    ticket_errors = bad_tickets.value.errors.for_record("tickets", second["id"])
    assert ticket_errors and ticket_errors.attributes[0].attribute == "name"
    assert bad_tickets.value.errors.for_record("tickets", first["id"]) is None

    order = gm.checkout_update(
        oid,
        token,
        "tickets",
        tickets=[{"id": first["id"], "name": "Bo"}, {"id": second["id"], "keep": True}],
    )
    assert order["state"] == "address"

    with pytest.raises(errors.ValidationError) as bad_address:
        gm.checkout_update(oid, token, "address", bill_address={**ADDRESS, "state_code": "ZZ"})
    assert bad_address.value.errors.attributes[0].attribute == "bill_address.state"
    order = gm.checkout_update(oid, token, "address", bill_address=ADDRESS)
    assert order["state"] == "form"
    assert order["bill_address"]["state_name"] == "Washington"

    with pytest.raises(errors.ValidationError) as blank_form:
        gm.checkout_update(
            oid, token, "form", responses=[{"id": order["responses"][0]["id"], "answers": []}]
        )
    assert blank_form.value.errors.associations["form_responses"]
    order = gm.checkout_update(oid, token, "form", responses=answer_everything(order))
    assert order["state"] == "payment"
    method = order["payment_methods"][0]
    assert method["tokenize_key"].startswith("pk_")

    order = pay(gm, order, sandbox.card_token())
    assert order["state"] == "processing"
    done = poll_until_settled(gm, order)
    assert done["state"] == "complete"
    assert done["payment_state"] == "paid"
    assert done["completed_at"]
    assert [t["status"] for t in done["tickets"]] == ["valid", "valid"]
    assert all(t["links"]["pdf"] for t in done["tickets"])
    kept = next(t for t in done["tickets"] if t["id"] == second["id"])
    assert kept["name"] == "Ada Lovelace"

    with pytest.raises(errors.CannotModify):
        gm.update_order(oid, token, first_name="Changed")
    assert token not in caplog.text


def test_declined_card_returns_to_payment_then_succeeds(gm, sandbox):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 1}], **BUYER)
    order = walk_to_payment(gm, order)
    assert order["state"] == "payment"
    pay(gm, order, sandbox.card_token("4000000000000002"), last_four="0002")
    failed = poll_until_settled(gm, order)
    assert failed["state"] == "payment"
    assert failed["payment_state"] == "failed"
    assert failed["payments"][-1]["state"] == "failed"
    assert "declined" in failed["payments"][-1]["reason"].lower()

    pay(gm, failed, sandbox.card_token())
    assert poll_until_settled(gm, failed)["state"] == "complete"


def test_free_order_skips_payment(gm):
    rsvp = variant(gm, "Free Community Meetup", "RSVP")
    order = gm.create_order(
        currency="USD",
        line_items=[{"variant_id": rsvp, "quantity": 2}],
        transition_order=True,
        **BUYER,
    )
    assert order["total"]["amount"] == 0
    assert order["checkout_steps"] == ["complete"]
    assert order["state"] == "complete"
    assert order["payments"] == []


def test_coupon_applies_once_and_rejects_unknown_codes(gm):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 2}])
    oid, token = order["id"], order["guest_token"]
    before = order["total"]["amount"]
    order = gm.apply_coupon_code(oid, token, "save10")
    assert order["promo_total"]["amount"] == -300
    assert order["total"]["amount"] < before
    assert [p["code"] for p in order["promotions"]] == ["SAVE10"]
    for code, expected in [
        ("SAVE10", "already_applied"),
        ("NOPE", "not_found"),
        ("EXPIRED", "expired"),
        ("PAUSED", "inactive"),
    ]:
        with pytest.raises(errors.ValidationError) as exc:
            gm.apply_coupon_code(oid, token, code)
        assert exc.value.errors.for_attribute("coupon_code")[0].code == expected


def test_expired_order_auto_resumes_on_update(gm, sandbox):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = gm.create_order(
        currency="USD",
        line_items=[{"variant_id": v, "quantity": 1}],
        transition_order=True,
        **BUYER,
    )
    assert order["state"] == "address"
    with pytest.raises(errors.ValidationError) as not_expired:
        gm.resume_order(order["id"], order["guest_token"])
    assert not_expired.value.errors.attributes[0].code == "invalid_transition"

    sandbox.expire(order["id"])
    assert gm.get_order(order["id"], order["guest_token"])["state"] == "expired"
    resumed = gm.checkout_update(order["id"], order["guest_token"], "address", bill_address=ADDRESS)
    assert resumed["state"] == "payment"

    sandbox.expire(order["id"])
    resumed = gm.resume_order(order["id"], order["guest_token"])
    assert resumed["state"] == "payment"


def test_sold_out_while_expired_is_invalid_inventory(gm, sandbox):
    last = variant(gm, "Quick Ticket Night", "Last seats")
    order = gm.create_order(
        currency="USD",
        line_items=[{"variant_id": last, "quantity": 2}],
        transition_order=True,
        **BUYER,
    )
    sandbox.expire(order["id"])
    sandbox.set_stock(last, 0)
    try:
        with pytest.raises(errors.CheckoutNotAllowed) as exc:
            gm.checkout_update(order["id"], order["guest_token"], "address", bill_address=ADDRESS)
        assert "invalid_inventory" in exc.value.codes
        assert "Last seats" in exc.value.reasons.attributes[0].message
        with pytest.raises(errors.CheckoutNotAllowed):
            gm.resume_order(order["id"], order["guest_token"])
    finally:
        sandbox.set_stock(last, 2)


def test_invalid_state_and_wrong_token(gm):
    v = variant(gm, "Sandbox Showcase", "General admission")
    order = gm.create_order(
        currency="USD",
        line_items=[{"variant_id": v, "quantity": 1}],
        transition_order=True,
        **BUYER,
    )
    assert order["state"] == "tickets"
    with pytest.raises(errors.InvalidState):
        gm.checkout_update(order["id"], order["guest_token"], "payment", payments=[])
    with pytest.raises(errors.InvalidState) as bogus:
        gm.checkout_update(order["id"], order["guest_token"], "notastate")
    assert "notastate" in bogus.value.message
    with pytest.raises(errors.NotFound):
        gm.get_order(order["id"], "0" * 32)
    with pytest.raises(errors.NotFound):
        gm.poll_order(order["id"], "not-the-token")
    with pytest.raises(errors.ParameterMissing):
        gm._json("GET", "/orders/{id}", path={"id": order["id"]})


def test_adding_unavailable_items_names_the_variant(gm):
    showcase = "Sandbox Showcase"
    cases = [
        ("Sold out seats", 1, "sold_out"),
        ("Next release", 1, "not_available"),
        ("VIP", 5, "order_max"),
        ("Pair (min 2)", 1, "order_min"),
    ]
    order = gm.create_order(currency="USD")
    for type_name, qty, code in cases:
        v = variant(gm, showcase, type_name)
        with pytest.raises(errors.ValidationError) as exc:
            gm.add_line_item(order["id"], order["guest_token"], v, qty)
        error = exc.value.errors.attributes[0]
        assert (error.code, error.detail["variant_id"]) == (code, v)


def test_line_item_changes(gm):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = gm.create_order(currency="USD")
    oid, token = order["id"], order["guest_token"]
    order = gm.add_line_item(oid, token, v, 2)
    order = gm.add_line_item(oid, token, v, 1)
    (line,) = order["line_items"]
    assert line["quantity"] == 3 and len(order["tickets"]) == 3
    order = gm.remove_line_item(oid, token, v, 1)
    assert order["line_items"][0]["quantity"] == 2
    with pytest.raises(errors.ValidationError) as negative:
        gm.remove_line_item(oid, token, v, 5)
    assert negative.value.errors.attributes[0].code == "greater_than"
    order = gm.update_line_item(oid, token, line["id"], 1)
    assert order["item_count"] == 1
    order = gm.delete_line_item(oid, token, line["id"])
    assert order["line_items"] == [] and order["tickets"] == []
    with pytest.raises(errors.CheckoutNotAllowed):
        gm.checkout_next(oid, token)


def test_order_parameter_errors(gm):
    order = gm.create_order(currency="USD")
    with pytest.raises(errors.UnpermittedParameters) as exc:
        gm.update_order(order["id"], order["guest_token"], total="0.0")
    assert exc.value.params == ["total"]
    with pytest.raises(errors.GuestCheckoutRequired):
        gm._json("POST", "/orders", body={"order": {"currency": "USD", "guest_checkout": False}})
    with pytest.raises(errors.ParameterMissing):
        gm._json("POST", "/orders", body={})
    with pytest.raises(errors.ValidationError) as email:
        gm.update_order(order["id"], order["guest_token"], email="not-an-email")
    assert email.value.errors.attributes[0].attribute == "email"


def test_double_payment_submission_charges_once(gm, sandbox):
    v = variant(gm, "Quick Ticket Night", "Standard")
    order = walk_to_payment(
        gm, gm.create_order(currency="USD", line_items=[{"variant_id": v, "quantity": 1}], **BUYER)
    )
    token = sandbox.card_token()
    outcomes: list[object] = []

    def submit():
        try:
            outcomes.append(pay(gm, order, token)["state"])
        except errors.InvalidState as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("processing") == 1
    assert sum(isinstance(o, errors.InvalidState) for o in outcomes) == 2
    assert poll_until_settled(gm, order)["state"] == "complete"
    assert len(sandbox.payments(order["id"])) == 1


def test_waitlist_and_reservation_orders(gm):
    wait = variant(gm, "Waitlist Gala", "Waitlist")
    order = gm.create_order(
        currency="USD", line_items=[{"variant_id": wait, "quantity": 1}], **BUYER
    )
    assert order["checkout_steps"][-1] == "requested"
    assert walk_to_payment(gm, order)["state"] == "requested"

    presale = variant(gm, "Presale Concert", "Reserve a seat")
    order = gm.create_order(
        currency="USD", line_items=[{"variant_id": presale, "quantity": 1}], **BUYER
    )
    reserved = walk_to_payment(gm, order)
    assert reserved["state"] == "reserved"
    assert reserved["can_checkout_at"]
