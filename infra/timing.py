"""Reports what each response cost upstream in a ``Server-Timing`` header, so browsers'
dev tools and the benchmarks can tell our time from the API's."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from guestmanager.stats import CallTimer, timing

from . import admission


class UpstreamTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timer = CallTimer()
        token = timing.set(timer)
        admission.reset_queue_time()
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            timing.reset(token)
        total_ms = (time.perf_counter() - started) * 1000
        queued, queued_after_calls = admission.queue_time()
        # Waiting for a slot after an API call is ours, not the API's.
        upstream_ms = (timer.seconds - queued_after_calls) * 1000
        response["Server-Timing"] = (
            f'app;dur={total_ms - upstream_ms:.1f};desc="storefront", '
            f'gm;dur={upstream_ms:.1f};desc="Guest Manager API, {timer.calls} calls", '
            f'queue;dur={queued * 1000:.1f};desc="waiting for a worker slot (in app)"'
        )
        return response
