"""``/healthz``: liveness plus whether the API answers.

The probe is an API call, and the endpoint needs no login, so its answer is reused for
``HEALTH_CACHE_SECONDS`` per process (and per API): a loop on it costs the shared API quota
one call per interval, not one per hit. Concurrent hits wait for the one probe in flight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from guestmanager import errors
from tenancy import shop as shops

from . import admission, budget, upstream


@dataclass(frozen=True)
class Probe:
    at: float  # time.monotonic()
    api: dict[str, object]


_probes: dict[str, Probe] = {}
_lock = threading.Lock()


def api_status() -> dict[str, object]:
    key = settings.GM_API_URL
    probe = _probes.get(key)
    if probe is None or _stale(probe):
        with admission.slot_released():
            _lock.acquire()  # waiting for another thread's probe is not work
        try:
            probe = _probes.get(key)
            if probe is None or _stale(probe):
                probe = _probes[key] = Probe(time.monotonic(), _probe(probe))
        finally:
            _lock.release()
    return dict(probe.api)


def forget() -> None:
    """Probe again on the next request."""
    _probes.clear()


def _stale(probe: Probe) -> bool:
    return time.monotonic() - probe.at >= settings.HEALTH_CACHE_SECONDS


def _probe(last: Probe | None) -> dict[str, object]:
    api: dict[str, object] = {"url_configured": bool(settings.GM_API_URL)}
    try:
        with budget.catalog_priority():  # never at the expense of a checkout
            upstream.client().company()
        api["ok"] = True
    except budget.Exhausted:
        # Our own budget put the probe off; the API itself was not asked.
        return last.api if last is not None else {**api, "ok": None, "probed": False}
    except errors.GuestManagerError as exc:
        api.update(ok=False, error=exc.__class__.__name__, status=exc.status)
    return api


@require_safe
@never_cache
@budget.catalog_view
def healthz(request: HttpRequest) -> JsonResponse:
    """200 even when the API is down: pages serve cached data then, so the process itself is
    healthy."""
    mode = "sandbox" if settings.SANDBOX_MODE else "live"
    # A merchant whose API key this server cannot open has no working pages: not healthy.
    # Named by slug only; nothing of any key is said.
    try:
        unopenable = shops.directory.unopenable()
    except DatabaseError:
        return JsonResponse(
            {"status": "failing", "mode": mode, "database": "unreachable"}, status=503
        )
    refused = upstream.refused(
        {
            s.slug or "(default)": (s.api_url, s.api_key)
            for s in [shops.default_shop(), *shops.directory.active()]
            if s.api_key
        }
    )
    if unopenable or refused:
        problems = {
            "merchants_with_unopenable_keys": unopenable,
            "merchants_refused_by_api": refused,
        }
        return JsonResponse(
            {"status": "failing", "mode": mode, **{k: v for k, v in problems.items() if v}},
            status=503,
        )
    return JsonResponse({"status": "ok", "mode": mode, "api": api_status()})
