"""Sandbox-only control endpoints (outside the API path) for tests, demos and benchmarks:
force an order to expire, change a variant's stock, inspect payments, inject faults,
steer event operations.
They take a company's write key and reach only that company's orders and variants; faults
and stats are process-wide."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import catalogversion, operations, orders, runtime, serializers
from . import models as m
from .api import api_key_of, company_of


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def control(view):
    @csrf_exempt
    def wrapper(request: HttpRequest, **kwargs):
        key = api_key_of(request)
        if key is None or not key.write:
            return JsonResponse(
                {"type": "unauthorized", "message": "Write key required."}, status=401
            )
        request.sandbox_company = key.company
        return view(request, **kwargs)

    return wrapper


MAX_EXPIRY_SECONDS = 86400


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"type": "validation_error", "message": message}, status=400)


@control
@require_http_methods(["POST"])
def expire_order(request: HttpRequest, order_id: int):
    """Expire the order now, or with ``{"in_seconds": n}`` move its expiry n seconds ahead
    (it then expires on its own, as any order does)."""
    order = m.Order.objects.of(company_of(request)).filter(pk=order_id).first()
    if order is None:
        return JsonResponse({"type": "not_found"}, status=404)
    body = _body(request)
    if "in_seconds" in body:
        seconds = body["in_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return _bad("in_seconds must be a number of seconds")
        if not 0 < seconds <= MAX_EXPIRY_SECONDS:
            return _bad(f"in_seconds must be between 0 and {MAX_EXPIRY_SECONDS}")
        order.expires_at = timezone.now() + timedelta(seconds=seconds)
        order.save(update_fields=["expires_at"])
    else:
        orders.expire_if_due(order, force=True)
    return JsonResponse(
        {"id": order.id, "state": order.state, "expires_at": order.expires_at.isoformat()}
    )


@control
@require_http_methods(["GET"])
def order_info(request: HttpRequest, order_id: int):
    order = m.Order.objects.of(company_of(request)).filter(pk=order_id).first()
    if order is None:
        return JsonResponse({"type": "not_found"}, status=404)
    return JsonResponse(
        {
            "id": order.id,
            "state": order.state,
            "line_items": [
                {"name": li.registration_type.name, "quantity": li.quantity}
                for li in order.line_items.select_related("registration_type")
            ],
            "payments": [
                {"id": p.id, "state": p.state, "amount": p.amount, "reason": p.reason}
                for p in order.payments.all()
            ],
        }
    )


@control
@require_http_methods(["POST"])
def variant_stock(request: HttpRequest, variant_id: int):
    rt = m.RegistrationType.objects.of(company_of(request)).filter(variant_id=variant_id).first()
    if rt is None:
        return JsonResponse({"type": "not_found"}, status=404)
    data = _body(request)
    if "available" in data:
        rt.available = int(data["available"])
    if data.get("status") in dict(m.RegistrationType.STOCK_STATUSES):
        rt.stock_status = data["status"]
    rt.save(update_fields=["available", "stock_status"])
    return JsonResponse(
        {"variant_id": rt.variant_id, "available": rt.available, "status": rt.stock_status}
    )


@control
@require_http_methods(["GET", "POST"])
def faults(request: HttpRequest):
    """Read or change the injected faults (README, "Control endpoints"); ``reset`` first
    restores the defaults from settings, then applies any other fields given."""
    if request.method == "POST":
        data = _body(request)
        if data.get("reset"):
            runtime.faults = runtime.Faults.from_settings()
        try:
            runtime.faults.update(data)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        runtime.limiter.reset()
    return JsonResponse(runtime.faults.as_json())


@control
@require_http_methods(["GET"])
def catalog_version(request: HttpRequest):
    """A value that changes whenever any catalog (events, types, prices, stock, categories)
    changes: a copy read at one version is current while it stays the same."""
    return JsonResponse({"version": catalogversion.current()})


MAX_SCALE_EVENTS = 200 * 100


@control
@require_http_methods(["POST"])
def scale_companies(request: HttpRequest):
    """``{"companies": 50, "events": 200}``: that many more companies of that many events
    each (benchmarks of many merchants). Answers their write keys."""
    from .seed import Seeder

    body = _body(request)
    companies, events = _int(str(body.get("companies"))), _int(str(body.get("events")))
    if not companies or not events or companies * events > MAX_SCALE_EVENTS:
        return _bad(f"companies × events: at most {MAX_SCALE_EVENTS} in all.")
    keys = Seeder().scale(companies, events)
    catalogversion.bump()
    return JsonResponse({"write_keys": keys}, status=201)


@csrf_exempt
def health(request: HttpRequest):
    return JsonResponse({"status": "ok", "events": m.Event.objects.count()})


@control
@require_http_methods(["GET", "POST"])
def stats(request: HttpRequest):
    """API requests since start (or the last reset), by method and route; the 429s answered
    (by the rate limit or an injected burst), the connections dropped, and duplicate payment
    submissions per order."""
    if request.method == "POST":
        for tally in (runtime.requests, runtime.answered_429, runtime.dropped, runtime.payments):
            tally.reset()
    counts = runtime.requests.snapshot()
    duplicates = runtime.payments.duplicates()
    return JsonResponse(
        {
            "total": sum(counts.values()),
            "by_route": counts,
            "answered_429": runtime.answered_429.snapshot(),
            "dropped": runtime.dropped.snapshot(),
            "duplicate_payments": duplicates,
            "duplicate_payment_total": sum(duplicates.values()),
        }
    )


# --- event operations ---------------------------------------------------------------------


@control
@require_http_methods(["GET", "POST"])
def operation_plans(request: HttpRequest):
    """Shape the company's operations started from now on: ``{"event_name": "Gala",
    "fail": "inventory", "code": "INVENTORY_RECONCILE_RAISED", "hold": "inventory"}`` (each
    key optional; no ``event_name`` = every event); ``{"reset": true}`` forgets them."""
    company = company_of(request)
    if request.method == "POST":
        data = _body(request)
        if data.get("reset"):
            operations.reset_plans(company)
        else:
            fields = {k: str(data.get(k) or "") for k in ("event_name", "fail", "code", "hold")}
            try:
                operations.add_plan(company, operations.Plan(**fields))
            except operations.Refused as exc:
                return _bad(str(exc))
    return JsonResponse({"plans": operations.plans(company)})


@control
@require_http_methods(["GET", "POST"])
def event_operation(request: HttpRequest, event_id: int, op_id: str):
    """One operation (``latest`` = the event's newest), as the API shows it. POST
    ``{"hold": true}`` or ``{"hold": "inventory"}`` stops it in its phase or that one, still
    running; ``{"release": true}`` lets it go on; ``{"fail": "inventory", "code": "..."}``
    makes that phase fail."""
    ops = m.Operation.objects.of(company_of(request)).filter(event_id=event_id)
    op = ops.order_by("-id").first() if op_id == "latest" else ops.filter(pk=_int(op_id)).first()
    if op is None:
        return JsonResponse({"type": "not_found"}, status=404)
    if request.method == "POST":
        try:
            _steer(op, _body(request))
        except operations.Refused as exc:
            return JsonResponse({"type": "conflict", "message": str(exc)}, status=409)
    data = serializers.operation(op)
    return JsonResponse({"data": data, "held": operations.is_held(op)})


def _steer(op: m.Operation, data: dict[str, Any]) -> None:
    if data.get("fail"):
        operations.fail(op, str(data["fail"]), str(data.get("code") or ""))
    if data.get("release"):
        operations.release(op)
    elif data.get("hold"):
        operations.hold(op, data["hold"] if isinstance(data["hold"], str) else "")


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None
