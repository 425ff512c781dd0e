"""``/metrics``: this process's upstream call counts, for operators and benchmarks only.

With ``METRICS_TOKEN`` set it wants ``Authorization: Bearer <token>``; unset, it answers only
requests from this machine that no proxy relayed. Anyone else gets a 404, as if it did not
exist.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from guestmanager import process_stats

from . import budget
from .clientip import is_loopback


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return is_loopback(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and constant_time_compare(given.strip(), token)


@require_safe
@never_cache
def metrics(request: HttpRequest) -> JsonResponse:
    if not allowed(request):
        raise Http404
    return JsonResponse({"upstream": process_stats.snapshot(), "budget": budget.stats.snapshot()})
