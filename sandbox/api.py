"""The emulator's request pipeline: auth, rate limit, injected faults, and the documented
error bodies."""

from __future__ import annotations

import functools
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import models as m
from . import runtime
from .params import BadJSON, request_params
from .server import DROP_HEADER

logger = logging.getLogger("sandbox")

READ_METHODS = {"GET", "HEAD"}


class ApiError(Exception):
    status = 400

    def __init__(self, type_: str, message: str, status: int | None = None, **extra: Any):
        super().__init__(message)
        self.body = {"type": type_, "message": message, **extra}
        if status:
            self.status = status

    def response(self) -> HttpResponse:
        return JsonResponse(self.body, status=self.status)


class TokenAccessDenied(ApiError):
    """The platform's bare token-auth refusal, which the Enterprise page quotes: plain text,
    not the JSON error shape."""

    MESSAGE = "HTTP Token: Access denied."

    def __init__(self) -> None:
        super().__init__("unauthorized", self.MESSAGE, 401)

    def response(self) -> HttpResponse:
        response = HttpResponse(self.MESSAGE, status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Token realm="Application"'
        return response


def not_found(model: str, pk: Any) -> ApiError:
    return ApiError(
        "not_found",
        f"Resource not found: Couldn't find {model} with 'id'={pk}",
        404,
        detail={"id": str(pk), "model": model, "primary_key": "id"},
    )


def parameter_missing(name: str) -> ApiError:
    return ApiError("parameter_missing", f"param is missing or the value is empty: {name}")


def unpermitted(params: list[str]) -> ApiError:
    names = ", ".join(f":{p}" for p in params)
    return ApiError(
        "unpermitted_parameters",
        f"found unpermitted parameter{'s' if len(params) > 1 else ''}: {names}",
        detail={"params": params},
    )


def attr_error(attribute: str, code: str, message: str, label: str | None = None, **detail):
    return {
        "attribute": attribute,
        "label": label or attribute.replace("_", " ").capitalize(),
        "name": None,
        "code": code,
        "message": message,
        "detail": detail,
    }


def validation_body(
    attributes: list[dict[str, Any]],
    associations: dict[str, dict[str, Any]] | None = None,
    model: str = "Order",
    record_id: Any = None,
    message: str | None = None,
) -> dict[str, Any]:
    assoc = {"tickets": {}, "form_responses": {}, "line_items": {}}
    assoc.update(associations or {})
    if message is None:
        parts = [_sentence(a) for a in attributes]
        for records in assoc.values():
            parts += [r.get("message", "") for r in records.values()]
        message = ", ".join(p for p in parts if p)
    return {
        "type": "validation_error",
        "message": message,
        "model": model,
        "id": record_id,
        "errors": {"attributes": attributes, "associations": assoc},
    }


def _sentence(attr: dict[str, Any]) -> str:
    label, message = attr.get("label") or "", attr.get("message") or ""
    if attr.get("attribute") == "base" or message.lower().startswith(label.lower()):
        return message
    return f"{label} {message}"


class Invalid(ApiError):
    """422 validation_error."""

    status = 422

    def __init__(self, attributes=None, associations=None, model="Order", record_id=None, **kw):
        body = validation_body(attributes or [], associations, model, record_id, **kw)
        Exception.__init__(self, body["message"])
        self.body = body


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def bearer_token(request: HttpRequest) -> str:
    """The key of an ``Authorization: Token <key>`` header, or ''."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "token" else ""


def api_key_of(request: HttpRequest) -> m.ApiKey | None:
    token = bearer_token(request)
    if not token:
        return None
    return m.ApiKey.objects.select_related("company").filter(access_token=token).first()


# A guard authenticates a request and answers the rights its key grants.
Guard = Callable[[HttpRequest], frozenset[str]]


def company_guard(request: HttpRequest) -> frozenset[str]:
    """A company API key: the request acts inside that company's silo only."""
    key = api_key_of(request)
    if key is None:
        raise ApiError("unauthorized", "Your API key is wrong or missing.", 401)
    request.sandbox_company = key.company
    return key.rights


def company_of(request: HttpRequest) -> m.Company:
    """The company whose key authenticated this request (set by ``company_guard``)."""
    return request.sandbox_company


def endpoint(*methods: str, guard: Guard = company_guard) -> Callable:
    """Wrap an API view: ``view(request, params, **kwargs)`` returns data or a response."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any):
            try:
                return _handle(view, methods, guard, request, kwargs)
            except ApiError as exc:
                return error_response(exc)

        return wrapper

    return decorate


def _handle(view: Callable, methods: tuple[str, ...], guard: Guard, request: HttpRequest, kwargs):
    route = request.resolver_match.route if request.resolver_match else request.path
    name = f"{request.method} {route}"
    runtime.requests.add(name)
    f = runtime.faults
    if f.unreachable and f.unreachable.active():
        runtime.dropped.add(f"unreachable {name}")
        return dropped_connection()
    if delay := f.extra_latency():
        time.sleep(delay)
    wait = runtime.limiter.check(client_ip(request), f.rate_limit, f.rate_window)
    if wait is not None:
        runtime.answered_429.add(f"limited {name}")
        return too_many_requests(wait)
    if f.burst_429 and f.burst_429.active():
        runtime.answered_429.add(f"injected {name}")
        return too_many_requests(f.burst_429.retry_after)
    access = guard(request)
    if request.method not in methods:
        raise ApiError("routing_error", f"No route matches [{request.method}] {request.path}", 405)
    needed = "read" if request.method in READ_METHODS else "write"
    if needed not in access:
        raise ApiError(
            "forbidden", f"This API key is not authorized to {needed} ({request.method}).", 403
        )
    if request.method in READ_METHODS and f.get_error_rate and random.random() < f.get_error_rate:
        return JsonResponse(
            {"type": "service_unavailable", "message": "Injected fault."}, status=503
        )
    try:
        params = request_params(request)
    except BadJSON as exc:
        raise ApiError("parse_error", f"Request body is not valid JSON: {exc}") from exc
    if f.write_apply_delay_ms and request.method not in READ_METHODS:
        time.sleep(f.write_apply_delay_ms / 1000)
    result = view(request, params, **kwargs)
    if f.write_reply_delay_ms and request.method not in READ_METHODS:
        time.sleep(f.write_reply_delay_ms / 1000)
    if isinstance(result, HttpResponse):
        return result
    if isinstance(result, Created):
        return json_response(result.data, status=201, headers=result.headers)
    return json_response(result)


def too_many_requests(wait: float) -> JsonResponse:
    response = JsonResponse(
        {"type": "rate_limit_exceeded", "message": "Throttle limit reached. Retry later."},
        status=429,
    )
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def dropped_connection() -> HttpResponse:
    """No answer: the sandbox's own server (storefront.devserver) closes the connection;
    any other server sends the bare 504."""
    response = HttpResponse(status=504)
    response[DROP_HEADER] = "1"
    return response


def lost_reply(how: str) -> HttpResponse:
    """What a client sees of a reply lost on the way: a dropped connection or a bare 504."""
    return dropped_connection() if how == "drop" else HttpResponse(status=504)


class Created:
    """A 201 answer, with optional headers (e.g. X-Event-Operation-ID)."""

    def __init__(self, data: Any, headers: dict[str, str] | None = None):
        self.data = data
        self.headers = headers or {}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None):
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"default": str})
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(exc: ApiError) -> HttpResponse:
    logger.info("sandbox %s %s", exc.status, exc.body.get("type"))
    return exc.response()
