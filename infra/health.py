"""``/healthz``: liveness, whether the API answers, and how current the catalog replica is.

The probe is an API call, and the endpoint needs no login, so its answer is reused for
``HEALTH_CACHE_SECONDS`` per process (and per API): a loop on it costs the shared API quota
one call per interval, not one per hit. Concurrent hits wait for the one probe in flight.
The replica's figures are one aggregate query and no call; they count merchants and never
name one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from guestmanager import errors
from replica import queries
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


def replicated_namespaces() -> set[str]:
    """The merchants the sync worker copies (as ``replica.worker.merchants`` picks them, from
    this process's merchant cache): every shop with an API and a key it can open."""
    return {
        shop.namespace
        for shop in [shops.default_shop(), *shops.directory.active()]
        if not shop.key_unopenable and shop.api_url and shop.api_key
    }


def replica_status(now: datetime) -> dict[str, object]:
    stale_after = settings.REPLICA_STALE_SECONDS
    found = queries.staleness(replicated_namespaces(), timedelta(seconds=stale_after), now)
    oldest = found.oldest_full_pass
    return {
        "merchants": found.merchants,
        "stale_after_seconds": stale_after,
        "stale": found.stale,  # the never synced among them
        "never_synced": found.never_synced,
        "oldest_full_pass_seconds_ago": (
            None if oldest is None else round((now - oldest).total_seconds(), 1)
        ),
        "sync_calls": found.sync_calls,
    }


@require_safe
@never_cache
@budget.catalog_view
def healthz(request: HttpRequest) -> JsonResponse:
    """200 even when the API is down or the replica is stale: pages serve saved data then, so
    the process itself is healthy."""
    mode = "sandbox" if settings.SANDBOX_MODE else "live"
    # A merchant whose API key this server cannot open has no working pages: not healthy.
    # Named by slug only; nothing of any key is said.
    try:
        unopenable = shops.directory.unopenable()
        replica = replica_status(timezone.now())
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
        named = {k: v for k, v in problems.items() if v}
        return JsonResponse(
            {"status": "failing", "mode": mode, **named, "replica": replica}, status=503
        )
    # A stale replica stays a 200, "degraded": every instance reads the same replica (one
    # database, one sync worker), so a load balancer pulling instances for it would pull them
    # all, and take down pages that still serve the saved catalog with a notice.
    status = "degraded" if replica["stale"] else "ok"
    return JsonResponse({"status": status, "mode": mode, "api": api_status(), "replica": replica})
