"""Orders and checkout endpoints."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import models as m
from . import orders, runtime
from .api import (
    ApiError,
    Created,
    Invalid,
    attr_error,
    company_of,
    endpoint,
    lost_reply,
    parameter_missing,
)
from .order_json import order as order_json
from .payments import schedule_charge

ORDER_CREATE_KEYS = {"currency", "guest_checkout", "line_items", *orders.BUYER_FIELDS}
ORDER_UPDATE_KEYS = ORDER_CREATE_KEYS


def base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _order_params(params: dict[str, Any]) -> dict[str, Any]:
    data = params.get("order")
    if not isinstance(data, dict) or not data:
        raise parameter_missing("order")
    return data


def _quantity(value: Any, default: int = 1) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Invalid(
            [attr_error("quantity", "not_a_number", "is not a number")], model="LineItem"
        ) from exc


def _respond(request: HttpRequest, order: m.Order):
    order.refresh_from_db()
    return order_json(order, base_url(request))


@endpoint("POST")
def create_order(request: HttpRequest, params: dict[str, Any]):
    data = _order_params(params)
    orders.check_keys(data, ORDER_CREATE_KEYS)
    if str(data.get("guest_checkout")).lower() not in ("true", "1"):
        raise ApiError(
            "guest_checkout_required",
            "Orders created through the API must be in guest_checkout mode.",
            400,
        )
    currency = str(data.get("currency") or "").upper()
    if not currency:
        raise Invalid([attr_error("currency", "blank", "can't be blank")])
    company = company_of(request)
    with transaction.atomic(using="sandbox"):
        order = m.Order(
            company=company,
            number=orders.new_order_number(),
            guest_token=secrets.token_hex(16),
            currency=currency,
            expires_at=timezone.now() + orders.ttl(),
        )
        errors = orders.apply_buyer(order, data)
        if errors:
            raise Invalid(errors)
        order.save()
        for item in data.get("line_items") or []:
            if not isinstance(item, dict) or not item.get("variant_id"):
                raise parameter_missing("order[line_items][variant_id]")
            rt = orders.variant(company, item["variant_id"])
            existing = order.line_items.filter(registration_type=rt).first()
            qty = _quantity(item.get("quantity"))
            if qty <= 0:
                raise Invalid(
                    [attr_error("quantity", "greater_than", "Quantity must be greater than zero")],
                    model="LineItem",
                )
            orders.set_quantity(order, rt, (existing.quantity if existing else 0) + qty)
        if str(params.get("transition_order")).lower() in ("true", "1"):
            orders.advance(order)
        order.save()
    return Created(order_json(order, base_url(request)))


@endpoint("GET", "PATCH")
def get_order(request: HttpRequest, params: dict[str, Any], order_id: str):
    return order_json(orders.load(company_of(request), order_id, params), base_url(request))


@endpoint("GET")
def poll_order(request: HttpRequest, params: dict[str, Any], order_id: str):
    order = orders.load(company_of(request), order_id, params)
    if order.state == "processing":
        return {"state": "processing"}
    return order_json(order, base_url(request))


def _mutate(
    request: HttpRequest, params: dict[str, Any], order_id: str, change, checkout: bool = False
) -> Any:
    """Load, check editability (auto-resuming an expired order), apply, save — atomically."""
    with transaction.atomic(using="sandbox"):
        order = orders.load(company_of(request), order_id, params, lock=True)
        if checkout and order.state == "processing":
            raise orders.processing_error()
        try:
            orders.prepare_update(order)
        except ApiError:
            order.save()
            raise
        change(order)
        orders.touch(order)
        order.save()
    return _respond(request, order)


@endpoint("GET", "PATCH")
def update_order(request: HttpRequest, params: dict[str, Any], order_id: str):
    data = _order_params(params)
    orders.check_keys(data, ORDER_UPDATE_KEYS)
    if "guest_checkout" in data and str(data["guest_checkout"]).lower() not in ("true", "1"):
        raise ApiError(
            "guest_checkout_required",
            "Orders created through the API must be in guest_checkout mode.",
            400,
        )

    def change(order: m.Order) -> None:
        errors = orders.apply_buyer(order, data)
        if errors:
            raise Invalid(errors, record_id=order.id)
        if "currency" in data and str(data["currency"]).upper() != order.currency:
            if order.line_items.exists():
                raise Invalid(
                    [
                        attr_error(
                            "currency", "invalid", "cannot change while items are in the order"
                        )
                    ],
                    record_id=order.id,
                )
            order.currency = str(data["currency"]).upper()
        for item in data.get("line_items") or []:
            if not isinstance(item, dict):
                continue
            if item.get("id"):
                li = order.line_items.filter(pk=orders._int_or_none(item["id"])).first()
                if li is None:
                    raise Invalid(
                        associations={
                            "line_items": {
                                str(item["id"]): {
                                    "type": "not_found",
                                    "message": "Line item not found",
                                    "errors": {"attributes": [], "associations": {}},
                                }
                            }
                        },
                        record_id=order.id,
                    )
                rt = li.registration_type
                orders.set_quantity(order, rt, _quantity(item.get("quantity"), li.quantity))
            elif item.get("variant_id"):
                rt = orders.variant(order.company, item["variant_id"])
                orders.set_quantity(order, rt, _quantity(item.get("quantity")))

    return _mutate(request, params, order_id, change)


@endpoint("POST")
def add_line_item(request: HttpRequest, params: dict[str, Any], order_id: str):
    if not params.get("variant_id"):
        raise parameter_missing("variant_id")
    qty = _quantity(params.get("quantity"))
    if qty <= 0:
        raise Invalid(
            [attr_error("quantity", "greater_than", "Quantity must be greater than zero")],
            model="LineItem",
        )
    rt = orders.variant(company_of(request), params["variant_id"])

    def change(order: m.Order) -> None:
        li = order.line_items.filter(registration_type=rt).first()
        orders.set_quantity(order, rt, (li.quantity if li else 0) + qty)

    return _mutate(request, params, order_id, change)


@endpoint("POST")
def remove_line_item(request: HttpRequest, params: dict[str, Any], order_id: str):
    if not params.get("variant_id"):
        raise parameter_missing("variant_id")
    qty = _quantity(params.get("quantity"))
    rt = orders.variant(company_of(request), params["variant_id"])

    def change(order: m.Order) -> None:
        li = order.line_items.filter(registration_type=rt).first()
        if li is None:
            raise Invalid(
                [attr_error("variant_id", "invalid", "is not in this order", label="Variant")],
                record_id=order.id,
            )
        orders.set_quantity(order, rt, li.quantity - qty)

    return _mutate(request, params, order_id, change)


@endpoint("PATCH", "DELETE")
def line_item(request: HttpRequest, params: dict[str, Any], order_id: str, line_item_id: str):
    def change(order: m.Order) -> None:
        li = order.line_items.filter(pk=orders._int_or_none(line_item_id)).first()
        if li is None:
            from .api import not_found

            raise not_found("LineItem", line_item_id)
        if request.method == "DELETE":
            new_qty = 0
        else:
            data = params.get("line_item")
            if not isinstance(data, dict) or "quantity" not in data:
                raise parameter_missing("line_item")
            new_qty = _quantity(data.get("quantity"))
        orders.set_quantity(order, li.registration_type, new_qty)

    return _mutate(request, params, order_id, change)


@endpoint("PATCH")
def apply_coupon_code(request: HttpRequest, params: dict[str, Any], order_id: str):
    code = str(params.get("coupon_code") or "").strip()
    if not code:
        raise parameter_missing("coupon_code")

    def change(order: m.Order) -> None:
        coupon = m.Coupon.objects.of(order.company).filter(code__iexact=code).first()
        problem = None
        if coupon is None:
            problem = ("not_found", "was not found")
        elif order.coupon_id == coupon.id:
            problem = ("already_applied", "already applied to order")
        elif not coupon.active:
            problem = ("inactive", "is not active")
        elif coupon.expires_at and coupon.expires_at < timezone.now():
            problem = ("expired", "has expired")
        elif coupon.amount_off and coupon.currency and coupon.currency != order.currency:
            problem = ("ineligible", f"is not valid for {order.currency} orders")
        elif not order.line_items.exists():
            problem = ("ineligible", "needs items in the order")
        if problem:
            raise Invalid(
                [attr_error("coupon_code", problem[0], problem[1], label="Coupon code")],
                record_id=order.id,
                message=f"Coupon code {problem[1]}",
            )
        order.coupon = coupon

    return _mutate(request, params, order_id, change)


@endpoint("PATCH")
def void_order(request: HttpRequest, params: dict[str, Any], order_id: str):
    with transaction.atomic(using="sandbox"):
        order = orders.load_for_admin(company_of(request), order_id)
        if order.state in ("voided", "canceled"):
            raise ApiError("cannot_modify", f"Order is already {order.state}.", 400)
        if order.state == "processing" or order.payments.filter(state="completed").exists():
            raise ApiError("cannot_modify", "Orders with a card payment cannot be voided.", 400)
        orders.release_inventory(order)
        order.state = "voided"
        order.tickets.update(status="invalidated")
        order.save()
    return _respond(request, order)


# --- checkout -----------------------------------------------------------------------------


@endpoint("PATCH")
def checkout_next(request: HttpRequest, params: dict[str, Any], order_id: str):
    def change(order: m.Order) -> None:
        target = params.get("state")
        lines = orders.lines_of(order)
        steps = orders.checkout_steps(order, lines, orders.price_order(order, lines))
        if target and target not in steps:
            raise orders.invalid_state(str(target), steps)
        orders.advance(order)
        # ``state``: keep advancing until the order reaches it (or a step needs data).
        while target and order.state != target and order.state in orders.CHECKOUT_STATES:
            orders.advance(order)

    return _mutate(request, params, order_id, change, checkout=True)


@endpoint("PATCH")
def checkout_resume(request: HttpRequest, params: dict[str, Any], order_id: str):
    with transaction.atomic(using="sandbox"):
        order = orders.load(company_of(request), order_id, params, lock=True)
        if order.state != "expired":
            raise Invalid(
                [
                    attr_error(
                        "state",
                        "invalid_transition",
                        'cannot transition via "resume"',
                        label="State",
                        event="resume",
                        state=order.state,
                    )
                ],
                record_id=order.id,
                message='State cannot transition via "resume"',
            )
        orders.resume(order)
    return _respond(request, order)


@endpoint("PATCH")
def checkout_update(request: HttpRequest, params: dict[str, Any], order_id: str):
    data = _order_params(params)
    orders.check_keys(data, orders.CHECKOUT_ORDER_KEYS)
    if data.get("state") != "payment":
        return _checkout_update(request, params, order_id, data)
    live = _has_live_payment(company_of(request), order_id, params)
    with runtime.payments.submitting(str(order_id), live):
        result = _checkout_update(request, params, order_id, data)
    if runtime.faults.loses_payment_reply():  # applied; the buyer's side never hears so
        runtime.dropped.add("payment reply lost")
        return lost_reply(runtime.faults.payment_reply_lost_as)
    return result


def _has_live_payment(company: m.Company, order_id: str, params: dict[str, Any]) -> bool:
    """Whether the order already has a payment processing or paid (read without side
    effects, for the duplicate count)."""
    order = m.Order.objects.of(company).filter(pk=orders._int_or_none(order_id)).first()
    if order is None or not secrets.compare_digest(
        order.guest_token, str(params.get("guest_token") or "")
    ):
        return False
    return order.state in ("processing", "complete") or (
        order.payments.filter(state__in=("processing", "completed")).exists()
    )


def _checkout_update(
    request: HttpRequest, params: dict[str, Any], order_id: str, data: dict[str, Any]
):
    payment_id: list[int] = []

    def change(order: m.Order) -> None:
        lines = orders.lines_of(order)
        pricing = orders.price_order(order, lines)
        steps = orders.checkout_steps(order, lines, pricing)
        state = data.get("state")
        orders.check_step_submission(order, state, steps)
        order.state = state
        buyer_errors = orders.apply_buyer(order, data)
        if buyer_errors:
            raise Invalid(buyer_errors, record_id=order.id)
        if state == "tickets" and "tickets" in data:
            orders.apply_tickets(order, data["tickets"])
        elif state == "address":
            _apply_addresses(order, data, "delivery" in steps)
        elif state == "delivery" and "ship_address" in data:
            _apply_addresses(order, data, True, bill=False)
        elif state == "form" and "responses" in data:
            orders.apply_responses(order, data["responses"])
        elif state == "payment":
            payment_id.append(_submit_payment(order, data, pricing.total))
            return
        orders.advance(order)

    result = _mutate(request, params, order_id, change, checkout=True)
    if payment_id:
        schedule_charge(payment_id[0])
    return result


def _apply_addresses(order: m.Order, data: dict[str, Any], ship: bool, bill: bool = True):
    errors = []
    if bill:
        address, problems = orders.parse_address(data.get("bill_address"), "bill_address")
        errors += problems
        if address:
            order.bill_address = address
    if ship and ("ship_address" in data or not order.ship_address):
        address, problems = orders.parse_address(data.get("ship_address"), "ship_address")
        errors += problems
        if address:
            order.ship_address = address
    if errors:
        raise Invalid(errors, record_id=order.id)


def _submit_payment(order: m.Order, data: dict[str, Any], due: int) -> int:
    source = orders.parse_payment(order, data.get("payments"), due)
    # Exactly one submission wins: the state flips payment -> processing atomically.
    won = m.Order.objects.filter(pk=order.pk, state="payment").update(state="processing")
    if not won:
        raise orders.processing_error()
    order.state = "processing"
    order.payment_state = "balance_due"
    payment = m.Payment.objects.create(
        order=order,
        number="P" + secrets.token_hex(5).upper(),
        amount=due,
        payment_method_id=orders.PAYMENT_METHOD_ID,
        **source,
    )
    return payment.pk


@csrf_exempt
def get_order_or_update(request: HttpRequest, order_id: str):
    """GET /orders/{id} reads; PATCH updates."""
    if request.method == "PATCH":
        return update_order(request, order_id=order_id)
    return get_order(request, order_id=order_id)
