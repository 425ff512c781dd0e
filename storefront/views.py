from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from guestmanager import errors, process_stats

from .gm import get_client


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness plus whether the API answers. 200 either way: the page serves stale data
    when the API is down, so the process itself is healthy."""
    api: dict[str, object] = {"url_configured": bool(settings.GM_API_URL)}
    try:
        get_client().company()
        api["ok"] = True
    except errors.GuestManagerError as exc:
        api.update(ok=False, error=exc.__class__.__name__, status=exc.status)
    return JsonResponse({"status": "ok", "mode": "sandbox" if settings.SANDBOX_MODE else "live", "api": api})


@require_GET
@never_cache
def metrics(request: HttpRequest) -> JsonResponse:
    """Upstream call counts of this process (read by the benchmarks)."""
    return JsonResponse({"upstream": process_stats.snapshot()})


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/home.html")
