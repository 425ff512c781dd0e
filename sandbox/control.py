"""Sandbox-only control endpoints (outside the API path) for tests, demos and benchmarks:
force an order to expire, change a variant's stock, inspect payments, inject faults.
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

from . import models as m
from . import orders, runtime
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
    f = runtime.faults
    if request.method == "POST":
        data = _body(request)
        if data.get("reset"):
            runtime.faults = f = runtime.Faults.from_settings()
        for key in (
            "rate_limit",
            "rate_window",
            "latency_ms",
            "get_error_rate",
            "write_reply_delay_ms",
        ):
            if key in data:
                setattr(f, key, type(getattr(f, key))(data[key]))
        runtime.limiter.reset()
    return JsonResponse(
        {
            "rate_limit": f.rate_limit,
            "rate_window": f.rate_window,
            "latency_ms": f.latency_ms,
            "get_error_rate": f.get_error_rate,
            "write_reply_delay_ms": f.write_reply_delay_ms,
        }
    )


@csrf_exempt
def health(request: HttpRequest):
    return JsonResponse({"status": "ok", "events": m.Event.objects.count()})


@control
@require_http_methods(["GET", "POST"])
def stats(request: HttpRequest):
    """API requests served since start (or the last reset), by method and route."""
    if request.method == "POST":
        runtime.requests.reset()
    counts = runtime.requests.snapshot()
    return JsonResponse({"total": sum(counts.values()), "by_route": counts})
