"""Orders and checkout, as the Orders/Checkout pages describe them.

State machine: cart -> each entry of checkout_steps in turn -> processing (payment) ->
complete, or a last step of requested / reserved. Orders expire after ``ORDER_TTL``
seconds (lazily, on the next access), releasing inventory; any update auto-resumes.
"""

from __future__ import annotations

import re
import secrets
import string
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import models as m
from .api import ApiError, Invalid, attr_error, not_found, parameter_missing, unpermitted
from .money import percent_of, unit_fee

CHECKOUT_STATES = ("order_form", "tickets", "address", "delivery", "form", "payment")
LAST_STEPS = ("complete", "requested", "reserved")
CLOSED = frozenset({"complete", "requested", "reserved", "voided", "canceled", "processing"})
NEVER_EXPIRE = CLOSED | {"expired"}
CARD_BRANDS = {"visa", "master", "american_express", "jcb", "diners_club", "discover"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BUYER_FIELDS = ("first_name", "last_name", "email", "phone_number", "phone_number_country")
PAYMENT_METHOD_ID = 75


def ttl() -> timedelta:
    return timedelta(seconds=settings.SANDBOX["ORDER_TTL"])


# --- pricing -----------------------------------------------------------------------------


@dataclass
class Pricing:
    item_total: int = 0
    promo_total: int = 0
    fee_total: int = 0
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def adjustment_total(self) -> int:
        return self.promo_total + self.fee_total

    @property
    def total(self) -> int:
        return max(0, self.item_total + self.adjustment_total)


def price_order(order: m.Order, lines: list[m.LineItem]) -> Pricing:
    """Fees are per ticket (the events page: "Per-ticket flat service fee", "Per-ticket
    percentage fee"), on the discounted price: a unit of a "table of 4" pays four flat fees
    and the percentage of the unit price, rounded once per unit."""
    p = Pricing()
    coupon = order.coupon
    pct = coupon.percent_off if coupon and coupon.percent_off else None
    for li in lines:
        rt = li.registration_type
        p.item_total += li.price * li.quantity
        unit = li.price
        if pct and unit:
            discount = percent_of(unit, pct) * li.quantity
            p.promo_total -= discount
            p.adjustments.append(_adjustment(li.id * 10 + 1, order, li, "Promotion", -discount))
            unit -= percent_of(unit, pct)
        if unit and (rt.service_fee_amount or rt.service_fee_percentage):
            per_unit = unit_fee(unit, rt.quantity, rt.service_fee_amount, rt.service_fee_percentage)
            fee = per_unit * li.quantity
            p.fee_total += fee
            p.adjustments.append(_adjustment(li.id * 10 + 2, order, li, "Service Fee", fee))
    if coupon and coupon.amount_off and p.item_total:
        discount = min(coupon.amount_off, p.item_total + p.promo_total)
        p.promo_total -= discount
        p.adjustments.append(_adjustment(order.id * 10 + 3, order, None, "Promotion", -discount))
    return p


def _adjustment(pk: int, order: m.Order, li: m.LineItem | None, label: str, cents: int):
    from .money import money

    promo = label == "Promotion"
    return {
        "id": pk,
        "label": label,
        "order_id": order.id,
        "adjustable_id": li.id if li else order.id,
        "adjustable_type": "LineItem" if li else "Order",
        "source_id": order.coupon_id if promo else (li.registration_type_id if li else None),
        "source_type": "PromotionAction" if promo else "ServiceFeeRate",
        "included": False,
        "mandatory": True,
        "eligible": True,
        "groupable": not promo,
        "finalized": False,
        "application_fee": False,
        "amount": money(cents, order.currency),
    }


def lines_of(order: m.Order) -> list[m.LineItem]:
    """The order's lines with what pricing and steps need. A request asks for them several
    times (checks, advance, the reply), so they are kept on the instance until
    ``set_quantity`` changes them."""
    lines = order.__dict__.get(_LINES)
    if lines is None:
        lines = order.__dict__[_LINES] = list(
            order.line_items.select_related(
                "registration_type__ticket_type", "registration_type__event__venue"
            ).all()
        )
    return list(lines)


def forget_lines(order: m.Order) -> None:
    order.__dict__.pop(_LINES, None)


_LINES = "_sandbox_lines"


# --- steps -------------------------------------------------------------------------------


def last_step(lines: list[m.LineItem]) -> str:
    statuses = {li.registration_type.stock_status for li in lines}
    if "request" in statuses:
        return "requested"
    if "reserve" in statuses:
        return "reserved"
    return "complete"


def checkout_steps(order: m.Order, lines: list[m.LineItem], pricing: Pricing) -> list[str]:
    rts = [li.registration_type for li in lines]
    steps: list[str] = []
    if any(rt.ticket_type.include_name or rt.ticket_type.include_email for rt in rts):
        steps.append("tickets")
    ships = any(rt.requires_shipping for rt in rts)
    if pricing.total > 0 or ships:
        steps.append("address")
    if ships:
        steps.append("delivery")
    if any(rt.event.form_id for rt in rts):
        steps.append("form")
    last = last_step(lines)
    if pricing.total > 0 and last == "complete":
        steps.append("payment")
    steps.append(last)
    return steps


# --- loading, expiry, resume ------------------------------------------------------------


def new_order_number() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "GM" + "".join(secrets.choice(alphabet) for _ in range(12))


def load(
    company: m.Company, order_id: Any, params: dict[str, Any], *, lock: bool = False
) -> m.Order:
    token = params.get("guest_token")
    if not token:
        raise parameter_missing("guest_token")
    qs = m.Order.objects.of(company).select_related("coupon")
    if lock:
        qs = qs.select_for_update()
    order = qs.filter(pk=_int_or_none(order_id)).first()
    if order is None or not secrets.compare_digest(order.guest_token, str(token)):
        raise not_found("Order", order_id)
    expire_if_due(order)
    fail_stale_payment(order)
    return order


def load_for_admin(company: m.Company, order_id: Any) -> m.Order:
    order = m.Order.objects.of(company).filter(pk=_int_or_none(order_id)).first()
    if order is None:
        raise not_found("Order", order_id)
    expire_if_due(order)
    return order


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def expire_if_due(order: m.Order, *, force: bool = False) -> None:
    if order.state in NEVER_EXPIRE:
        return
    if not force and order.expires_at > timezone.now():
        return
    with transaction.atomic(using="sandbox"):
        release_inventory(order)
        order.state_before_expiry = order.state
        order.state = "expired"
        order.save(update_fields=["state", "state_before_expiry", "inventory_held", "updated_at"])


def fail_stale_payment(order: m.Order) -> None:
    """A payment left processing by a restarted sandbox fails instead of hanging forever."""
    if order.state != "processing":
        return
    cutoff = timezone.now() - timedelta(seconds=settings.SANDBOX["PAYMENT_DELAY"] + 60)
    stale = order.payments.filter(state="processing", created_at__lt=cutoff).first()
    if stale:
        finish_payment(stale.pk, ok=False, reason="The payment timed out. Please try again.")
        order.refresh_from_db()


def release_inventory(order: m.Order) -> None:
    if not order.inventory_held:
        return
    for li in order.line_items.select_related("registration_type"):
        if li.registration_type.stock_status == "selling":
            m.RegistrationType.objects.filter(pk=li.registration_type_id).update(
                available=F("available") + li.quantity
            )
    order.inventory_held = False


def reserve_inventory(order: m.Order) -> list[str]:
    """Re-reserve every line after expiry; returns the names that could not be had."""
    taken: list[tuple[int, int]] = []
    missing: list[str] = []
    for li in lines_of(order):
        rt = li.registration_type
        if rt.stock_status in ("request", "reserve"):
            continue
        if rt.stock_status != "selling" or not _take(rt.pk, li.quantity):
            missing.append(rt.name)
        else:
            taken.append((rt.pk, li.quantity))
    if missing:
        for pk, qty in taken:
            m.RegistrationType.objects.filter(pk=pk).update(available=F("available") + qty)
        return missing
    order.inventory_held = True
    return []


def _take(rt_pk: int, qty: int) -> bool:
    return bool(
        m.RegistrationType.objects.filter(pk=rt_pk, available__gte=qty).update(
            available=F("available") - qty
        )
    )


def checkout_not_allowed(order: m.Order, names: list[str], code: str = "invalid_inventory"):
    message = " ".join(f"{n} missing inventory." for n in names) if names else code
    detail = {
        "type": "validation_error",
        "message": message,
        "model": "Order",
        "id": order.id,
        "errors": {
            "attributes": [attr_error("base", code, message, label="Base")],
            "associations": {"tickets": {}, "form_responses": {}, "line_items": {}},
        },
    }
    return ApiError("checkout_not_allowed", message, 400, error=True, detail=detail)


def resume(order: m.Order) -> None:
    missing = reserve_inventory(order)
    if missing:
        raise checkout_not_allowed(order, missing)
    order.state = order.state_before_expiry or "cart"
    order.state_before_expiry = ""
    touch(order)
    order.save()


def prepare_update(order: m.Order) -> None:
    """Every update first checks the order can change, and resumes it if it expired."""
    if order.state in CLOSED:
        raise ApiError("cannot_modify", f"Order is in an uneditable state ({order.state}).", 400)
    if order.state == "expired":
        resume(order)


def touch(order: m.Order) -> None:
    order.expires_at = timezone.now() + ttl()


# --- buyer --------------------------------------------------------------------------------


def apply_buyer(order: m.Order, data: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for name in BUYER_FIELDS:
        if name in data:
            value = data[name]
            setattr(order, name, str(value).strip() if value not in (None, "") else None)
    if order.email is not None and not EMAIL_RE.match(order.email):
        errors.append(attr_error("email", "invalid", "is invalid"))
    if order.phone_number:
        errors += _normalise_phone(order)
    elif "phone_number" in data:
        order.phone_number_country = order.phone_number_country or None
    if order.email:
        order.contact_id = 1_390_000 + zlib.crc32(order.email.lower().encode()) % 100_000
    return errors


def _normalise_phone(order: m.Order) -> list[dict[str, Any]]:
    code = (order.phone_number_country or "").upper()
    if not code:
        return [attr_error("phone_number_country", "blank", "can't be blank")]
    country = m.Country.objects.filter(code=code).first()
    if country is None:
        return [attr_error("phone_number_country", "invalid", "is invalid")]
    digits = re.sub(r"\D", "", order.phone_number or "")
    if digits.startswith("00"):
        digits = digits[2:]
    elif not order.phone_number.strip().startswith("+") and not digits.startswith(
        country.phone_prefix
    ):
        digits = country.phone_prefix + digits.lstrip("0")
    national = len(digits) - len(country.phone_prefix)
    if not 6 <= national <= 12:
        return [attr_error("phone_number", "invalid", "is invalid", label="Phone number")]
    order.phone_number = "+" + digits
    order.phone_number_country = code
    return []


def buyer_missing(order: m.Order) -> list[dict[str, Any]]:
    return [
        attr_error(name, "blank", "can't be blank")
        for name in ("email", "first_name", "last_name")
        if not getattr(order, name)
    ]


# --- line items ---------------------------------------------------------------------------


def variant(company: m.Company, variant_id: Any) -> m.RegistrationType:
    rt = (
        m.RegistrationType.objects.of(company)
        .select_related("event", "ticket_type")
        .filter(variant_id=_int_or_none(variant_id))
        .first()
    )
    if rt is None:
        raise not_found("Variant", variant_id)
    return rt


def unit_price(rt: m.RegistrationType, currency: str) -> int | None:
    p = rt.prices.filter(currency=currency).first()
    return p.amount if p else None


def _line_error(rt: m.RegistrationType, code: str, message: str, **detail) -> Invalid:
    return Invalid(
        [attr_error("base", code, message, label="Base", variant_id=rt.variant_id, **detail)],
        model="LineItem",
    )


def set_quantity(order: m.Order, rt: m.RegistrationType, new_qty: int) -> None:
    """Set the order's quantity of a variant (0 removes it), checking sale status, limits
    and stock, reserving or releasing inventory for the difference."""
    li = order.line_items.filter(registration_type=rt).first()
    old_qty = li.quantity if li else 0
    if new_qty < 0:
        raise Invalid(
            [
                attr_error(
                    "quantity",
                    "greater_than",
                    "Quantity must be greater than zero",
                    value=new_qty,
                    count=new_qty - old_qty,
                )
            ],
            model="LineItem",
            record_id=li.id if li else None,
        )
    delta = new_qty - old_qty
    if delta < 0 and rt.order_min and 0 < new_qty < rt.order_min:
        raise _order_min_error(rt)  # the minimum holds for lowering a quantity too
    if delta > 0:
        _check_can_add(order, rt, new_qty, delta)
    elif delta < 0 and order.inventory_held and rt.stock_status == "selling":
        m.RegistrationType.objects.filter(pk=rt.pk).update(available=F("available") - delta)
    if new_qty == 0:
        if li:
            li.delete()
    elif li:
        li.quantity = new_qty
        li.save(update_fields=["quantity"])
    else:
        li = m.LineItem.objects.create(
            order=order,
            registration_type=rt,
            quantity=new_qty,
            price=unit_price(rt, order.currency) or 0,
        )
    forget_lines(order)
    if li and new_qty:
        sync_tickets(order, li)
    if order.state in CHECKOUT_STATES:
        order.state = "cart"  # the contents changed: checkout starts again


def _order_min_error(rt: m.RegistrationType) -> Invalid:
    return _line_error(
        rt,
        "order_min",
        f"{rt.name} requires at least {rt.order_min} per order.",
        order_min=rt.order_min,
    )


def _check_can_add(order: m.Order, rt: m.RegistrationType, new_qty: int, delta: int) -> None:
    status = rt.stock_status
    if rt.event.ends_at < timezone.now() or status in ("paused", "not_on_sale"):
        raise _line_error(rt, "not_available", f"{rt.name} is no longer on sale.")
    if status == "sold_out":
        raise _line_error(rt, "sold_out", f"{rt.name} is sold out.", available=0)
    if unit_price(rt, order.currency) is None:
        raise _line_error(rt, "not_available", f"{rt.name} is not available in {order.currency}.")
    if rt.order_min and new_qty < rt.order_min:
        raise _order_min_error(rt)
    if rt.order_max and new_qty > rt.order_max:
        raise _line_error(
            rt,
            "order_max",
            f"{rt.name} is limited to {rt.order_max} per order.",
            order_max=rt.order_max,
        )
    if status == "selling" and order.inventory_held and not _take(rt.pk, delta):
        available = m.RegistrationType.objects.get(pk=rt.pk).available
        if available <= 0:
            raise _line_error(rt, "sold_out", f"{rt.name} is sold out.", available=0)
        raise _line_error(
            rt, "sold_out", f"Only {available} of {rt.name} left.", available=available
        )


def sync_tickets(order: m.Order, li: m.LineItem) -> None:
    rt = li.registration_type
    wanted = 1 if rt.grouped else li.quantity * rt.quantity
    existing = list(li.tickets.order_by("id"))
    for extra in existing[wanted:]:
        extra.delete()
    for _ in range(wanted - len(existing)):
        m.Ticket.objects.create(
            order=order,
            line_item=li,
            event=rt.event,
            ticket_type=rt.ticket_type,
            registration_type=rt,
            number=secrets.token_urlsafe(18)[:24],
            barcode_id=str(secrets.randbelow(10**16)).zfill(16),
        )


def ensure_responses(order: m.Order, lines: list[m.LineItem]) -> None:
    """One form response per form among the order's events, with an answer per field."""
    forms = {li.registration_type.event.form_id for li in lines} - {None}
    have = set(order.responses.values_list("form_id", flat=True))
    for form_id in forms - have:
        response = m.FormResponse.objects.create(order=order, form_id=form_id)
        m.Answer.objects.bulk_create(
            m.Answer(response=response, field=f)
            for f in m.FormField.objects.filter(form_id=form_id, enabled=True)
        )
    order.responses.exclude(form_id__in=forms).delete()


# --- step data ----------------------------------------------------------------------------


def ticket_errors(order: m.Order, buyer_name: str) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for t in order.tickets.select_related("ticket_type"):
        tt = t.ticket_type
        attrs = []
        if not t.keep:
            if tt.require_name and not t.name:
                attrs.append(attr_error("name", "blank", "can't be blank"))
            if tt.require_email and not t.email:
                attrs.append(attr_error("email", "blank", "can't be blank"))
        if t.email and not EMAIL_RE.match(t.email):
            attrs.append(attr_error("email", "invalid", "is invalid"))
        if attrs:
            errors[str(t.id)] = {
                "type": "validation_error",
                "message": ", ".join(f"{a['label']} {a['message']}" for a in attrs),
                "model": "Ticket",
                "id": t.id,
                "errors": {"attributes": attrs, "associations": {}},
            }
    return errors


def apply_tickets(order: m.Order, items: Any) -> None:
    if not isinstance(items, list):
        raise parameter_missing("order[tickets]")
    by_id = {t.id: t for t in order.tickets.all()}
    unknown: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        t = by_id.get(_int_or_none(item.get("id")))
        if t is None:
            unknown[str(item.get("id"))] = {
                "type": "not_found",
                "message": "Ticket is not part of this order",
                "errors": {
                    "attributes": [attr_error("id", "invalid", "is invalid")],
                    "associations": {},
                },
            }
            continue
        if "keep" in item:
            t.keep = bool(item["keep"]) and str(item["keep"]).lower() not in ("false", "0")
        for name in ("name", "email"):
            if name in item:
                value = item[name]
                setattr(t, name, str(value).strip() or None if value is not None else None)
        if t.keep:
            t.name = t.name or " ".join(filter(None, [order.first_name, order.last_name]))
            t.email = t.email or order.email
        t.save()
    if unknown:
        raise Invalid(associations={"tickets": unknown}, record_id=order.id)


def parse_address(data: Any, prefix: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if not isinstance(data, dict):
        return None, [attr_error(prefix, "blank", "can't be blank")]
    errors = []

    def err(name: str, code: str, message: str):
        errors.append(attr_error(f"{prefix}.{name}", code, message, label=_ADDR_LABELS[name]))

    for name in ("address1", "city", "zipcode"):
        if not str(data.get(name) or "").strip():
            err(name, "blank", "can't be blank")
    country = None
    if data.get("country_id"):
        country = m.Country.objects.filter(pk=_int_or_none(data["country_id"])).first()
    elif data.get("country_code"):
        country = m.Country.objects.filter(code=str(data["country_code"]).upper()).first()
    if country is None:
        err(
            "country",
            "blank" if not (data.get("country_id") or data.get("country_code")) else "invalid",
            "can't be blank"
            if not (data.get("country_id") or data.get("country_code"))
            else "is invalid",
        )
    state = None
    if country is not None and country.states.exists():
        if data.get("state_id"):
            state = country.states.filter(pk=_int_or_none(data["state_id"])).first()
        elif data.get("state_code"):
            state = country.states.filter(code=str(data["state_code"]).upper()).first()
        if state is None:
            given = data.get("state_id") or data.get("state_code")
            err(
                "state",
                "invalid" if given else "blank",
                "is invalid" if given else "can't be blank",
            )
    if errors:
        return None, errors
    return {
        "id": zlib.crc32(repr(sorted(data.items())).encode()) % 1_000_000,
        "address1": str(data["address1"]).strip(),
        "address2": str(data.get("address2") or "").strip() or None,
        "city": str(data["city"]).strip(),
        "zipcode": str(data["zipcode"]).strip(),
        "state_name": state.name if state else None,
        "state_code": state.code if state else None,
        "state_id": state.id if state else None,
        "country_name": country.name,
        "country_code": country.code,
        "country_id": country.id,
    }, []


_ADDR_LABELS = {
    "address1": "Address",
    "city": "City",
    "zipcode": "Zip code",
    "country": "Country",
    "state": "State",
}


def apply_responses(order: m.Order, items: Any) -> None:
    if not isinstance(items, list):
        raise parameter_missing("order[responses]")
    responses = {r.id: r for r in order.responses.all()}
    for item in items:
        if not isinstance(item, dict):
            continue
        response = responses.get(_int_or_none(item.get("id")))
        if response is None:
            raise not_found("Response", item.get("id"))
        answers = {a.id: a for a in response.answers.select_related("field")}
        for given in item.get("answers") or []:
            answer = answers.get(_int_or_none((given or {}).get("id")))
            if answer is None:
                raise not_found("Answer", (given or {}).get("id"))
            value = given.get("value")
            answer.value = None if value in (None, "") else str(value).strip()
            answer.save(update_fields=["value"])


def response_errors(order: m.Order) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for response in order.responses.prefetch_related("answers__field__options"):
        bad: dict[str, Any] = {}
        for answer in response.answers.all():
            f = answer.field
            attrs = []
            if f.required and not answer.value:
                attrs.append(attr_error("value", "blank", "can't be blank", label=f.label))
            elif (
                answer.value
                and f.type == "multiple_choice"
                and answer.value not in {str(o.id) for o in f.options.all()}
            ):
                attrs.append(attr_error("value", "inclusion", "is not an option", label=f.label))
            if attrs:
                bad[str(answer.id)] = {
                    "type": "validation_error",
                    "message": f"{f.label} {attrs[0]['message']}",
                    "model": "Answer",
                    "id": answer.id,
                    "errors": {"attributes": attrs, "associations": {}},
                }
        if bad:
            errors[str(response.id)] = {
                "type": "validation_error",
                "message": ", ".join(b["message"] for b in bad.values()),
                "model": "Response",
                "id": response.id,
                "errors": {"attributes": [], "associations": {"answers": bad}},
            }
    return errors


def parse_payment(order: m.Order, items: Any, due: int) -> dict[str, Any]:
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise Invalid([attr_error("payments", "blank", "can't be blank")], record_id=order.id)
    item = items[0]
    source = item.get("source") or {}
    errors = []
    if _int_or_none(item.get("payment_method_id")) != PAYMENT_METHOD_ID:
        errors.append(
            attr_error(
                "payments.payment_method_id", "invalid", "is invalid", label="Payment method"
            )
        )
    if not str(source.get("token") or "").strip():
        errors.append(
            attr_error("payments.source.token", "blank", "can't be blank", label="Card token")
        )
    brand = str(source.get("brand") or "").lower()
    if brand not in CARD_BRANDS:
        errors.append(
            attr_error(
                "payments.source.brand", "inclusion", "is not a card type", label="Card brand"
            )
        )
    last_four = str(source.get("last_four") or "")
    if not re.fullmatch(r"\d{4}", last_four):
        errors.append(
            attr_error("payments.source.last_four", "invalid", "is invalid", label="Last four")
        )
    if item.get("amount") not in (None, ""):
        try:
            amount = round(float(item["amount"]) * 100)
        except (TypeError, ValueError):
            amount = -1
        if amount != due:
            errors.append(
                attr_error(
                    "payments.amount", "invalid", "must equal the amount due", label="Amount"
                )
            )
    if errors:
        raise Invalid(errors, record_id=order.id)
    return {
        "token": str(source["token"]).strip(),
        "brand": brand,
        "last_four": last_four,
        "cardholder_name": str(source.get("cardholder_name") or "")[:200],
    }


def step_errors(order: m.Order, step: str, lines: list[m.LineItem]) -> Invalid | None:
    """Whether the data the order holds satisfies ``step``."""
    if step == "tickets":
        errors = ticket_errors(order, "")
        if errors:
            return Invalid(
                associations={"tickets": errors},
                record_id=order.id,
                message="Cannot transition state via :next from :tickets "
                "(Reason(s): Transition halted)",
            )
    elif step == "address":
        if not order.bill_address:
            return Invalid(
                [attr_error("bill_address", "blank", "can't be blank", label="Billing address")],
                record_id=order.id,
            )
        if any(li.registration_type.requires_shipping for li in lines) and not order.ship_address:
            return Invalid(
                [attr_error("ship_address", "blank", "can't be blank", label="Shipping address")],
                record_id=order.id,
            )
    elif step == "delivery":
        if not order.ship_address:
            return Invalid(
                [attr_error("ship_address", "blank", "can't be blank", label="Shipping address")],
                record_id=order.id,
            )
    elif step == "form":
        errors = response_errors(order)
        if errors:
            return Invalid(associations={"form_responses": errors}, record_id=order.id)
    elif step == "payment":
        return Invalid(
            [attr_error("payments", "blank", "can't be blank", label="Payment")], record_id=order.id
        )
    return None


# --- transitions --------------------------------------------------------------------------


def advance(order: m.Order) -> None:
    """Move one step forward from the current state, if its data is complete."""
    lines = lines_of(order)
    steps = checkout_steps(order, lines, price_order(order, lines))
    if order.state == "cart":
        if not lines:
            raise checkout_not_allowed(order, [], code="empty_cart")
        missing = buyer_missing(order)
        if missing:
            raise Invalid(missing, record_id=order.id)
        ensure_responses(order, lines)
        target = steps[0]
    else:
        if order.state not in steps:
            raise invalid_state(order.state, steps)
        problem = step_errors(order, order.state, lines)
        if problem:
            raise problem
        target = steps[steps.index(order.state) + 1]
    enter(order, target, lines)


def enter(order: m.Order, target: str, lines: list[m.LineItem]) -> None:
    if target == "complete":
        complete(order)
    elif target == "reserved":
        order.state = "reserved"
        dates = [li.registration_type.on_sale_at for li in lines if li.registration_type.on_sale_at]
        order.can_checkout_at = min(dates) if dates else None
    else:
        order.state = target


def complete(order: m.Order) -> None:
    now = timezone.now()
    order.state = "complete"
    order.completed_at = now
    order.payment_state = "paid"
    for t in order.tickets.all():
        t.status = "valid"
        if t.keep or not t.name:
            t.name = t.name or " ".join(filter(None, [order.first_name, order.last_name]))
        t.email = t.email or order.email
        t.dispatched_at = now
        t.email_count += 1
        t.save()


def invalid_state(state: str, steps: list[str]) -> ApiError:
    return ApiError(
        "invalid_state",
        f"valid order states ({', '.join(steps)}) does not include {state}",
        400,
        error=True,
    )


def processing_error() -> ApiError:
    return ApiError(
        "invalid_state",
        "Order is processing a payment and cannot change until it finishes.",
        400,
        error=True,
    )


def check_step_submission(order: m.Order, state: Any, steps: list[str]) -> None:
    if not state:
        raise parameter_missing("order[state]")
    if order.state == "processing":
        raise processing_error()
    if state not in steps or state in LAST_STEPS:
        raise invalid_state(str(state), steps)
    current = steps.index(order.state) if order.state in steps else -1
    if steps.index(state) > current:
        raise ApiError(
            "invalid_state",
            f"Order cannot transition to {state} from {order.state}.",
            400,
            error=True,
        )


CHECKOUT_ORDER_KEYS = {
    "state",
    "tickets",
    "bill_address",
    "ship_address",
    "responses",
    "payments",
    "shipping_method_id",
    *BUYER_FIELDS,
}


def check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise unpermitted(extra)


def finish_payment(payment_id: int, *, ok: bool, reason: str = "", response_code: str = "") -> None:
    with transaction.atomic(using="sandbox"):
        payment = m.Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state != "processing":
            return
        order = m.Order.objects.select_for_update().get(pk=payment.order_id)
        payment.state = "completed" if ok else "failed"
        payment.reason = None if ok else reason
        payment.response_code = response_code
        payment.save()
        if ok:
            complete(order)
        else:
            order.state = "payment"
            order.payment_state = "failed"
            touch(order)
        order.save()
