"""The Order object, as the Objects section shows it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from . import models as m
from . import orders
from .money import money
from .serializers import ticket
from .timezones import iso


def payment_methods(currency: str) -> list[dict[str, Any]]:
    return [
        {
            "id": orders.PAYMENT_METHOD_ID,
            "type": "stripe",
            "name": "Stripe",
            "description": None,
            "display_name": "Credit Card",
            "currencies": [currency],
            "billing_address_required": True,
            "payment_profiles_enabled": False,
            "test_mode": True,
            "active": True,
            "tokenize_key": settings.SANDBOX["STRIPE_PUBLISHABLE_KEY"],
        }
    ]


def line_item(li: m.LineItem, currency: str) -> dict[str, Any]:
    rt = li.registration_type
    return {
        "id": li.id,
        "order_id": li.order_id,
        "name": rt.name,
        "description": None,
        "variant_id": rt.variant_id,
        "quantity": li.quantity,
        "currency": currency,
        "bundle_item_id": None,
        "price": money(li.price, currency),
        "subtotal": money(li.price * li.quantity, currency),
        "amount": money(li.price * li.quantity, currency),
    }


def response(r: m.FormResponse) -> dict[str, Any]:
    answers = []
    for a in r.answers.select_related("field").prefetch_related("field__options"):
        f = a.field
        options = list(f.options.all())
        human = a.value
        if f.type == "multiple_choice" and a.value:
            human = next((o.name for o in options if str(o.id) == a.value), None)
        answers.append(
            {
                "id": a.id,
                "form_field_id": f.id,
                "value": a.value,
                "human_value": human,
                "field": {
                    "id": f.id,
                    "label": f.label,
                    "required": f.required,
                    "enabled": f.enabled,
                    "help_text": f.help_text,
                    "position": f.position,
                    "type": f.type,
                    "options": [
                        {
                            "id": o.id,
                            "form_field_id": f.id,
                            "name": o.name,
                            "value": "",
                            "type": None,
                            "position": o.position,
                        }
                        for o in options
                    ],
                },
            }
        )
    return {"id": r.id, "form_id": r.form_id, "answers": answers}


def payment(p: m.Payment, currency: str) -> dict[str, Any]:
    return {
        "id": p.id,
        "number": p.number,
        "amount": money(p.amount, currency),
        "state": p.state,
        "order_id": p.order_id,
        "payment_method_id": p.payment_method_id,
        "source_type": "CreditCard",
        "source": {
            "brand": p.brand,
            "last_four": p.last_four,
            "cardholder_name": p.cardholder_name or None,
        },
        "response_code": p.response_code or None,
        "reason": p.reason,
        "created_at": iso(p.created_at),
    }


def order(o: m.Order, base: str) -> dict[str, Any]:
    lines = orders.lines_of(o)
    pricing = orders.price_order(o, lines)
    cur = o.currency
    payments = list(o.payments.all())
    paid = sum(p.amount for p in payments if p.state == "completed")
    steps = orders.checkout_steps(o, lines, pricing)
    return {
        "id": o.id,
        "number": o.number,
        "currency": cur,
        "state": o.state,
        "checkout_steps": steps,
        "payment_state": o.payment_state,
        "item_count": sum(li.quantity for li in lines),
        "contact_id": o.contact_id,
        "guest_token": o.guest_token,
        "guest_checkout": True,
        "first_name": o.first_name,
        "last_name": o.last_name,
        "email": o.email,
        "phone_number": o.phone_number,
        "phone_number_country": o.phone_number_country,
        "completed_at": iso(o.completed_at),
        "expires_at": iso(o.expires_at),
        "can_checkout_at": iso(o.can_checkout_at),
        "total": money(pricing.total, cur),
        "item_total": money(pricing.item_total, cur),
        "adjustment_total": money(pricing.adjustment_total, cur),
        "promo_total": money(pricing.promo_total, cur),
        "additional_service_fee_total": money(pricing.fee_total, cur),
        "included_service_fee_total": money(0, cur),
        "additional_tax_total": money(0, cur),
        "included_tax_total": money(0, cur),
        "shipment_total": money(0, cur),
        "payment_total": money(paid, cur),
        "bill_address": o.bill_address,
        "ship_address": o.ship_address,
        "line_items": [line_item(li, cur) for li in lines],
        "adjustments": pricing.adjustments,
        "promotions": (
            [{"id": 9000 + o.id, "promotion_id": o.coupon_id, "code": o.coupon.code}]
            if o.coupon
            else []
        ),
        "tickets": [ticket(t, base) for t in o.tickets.select_related("order")],
        "payments": [payment(p, cur) for p in payments],
        "payment_methods": payment_methods(cur),
        "responses": [response(r) for r in o.responses.all()],
    }
