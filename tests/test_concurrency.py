"""Admission control (storefront/concurrency.py): a request waiting on the API gives its
slot to others."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest


@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_on_the_api_lets_another_request_work(
    live_server, storefront_settings, sandbox, monkeypatch
):
    from infra import admission as concurrency

    monkeypatch.setattr(concurrency, "_slots", threading.BoundedSemaphore(1))
    cached_page = f"{live_server.url}/?q=gala"
    assert httpx.get(cached_page, timeout=30).status_code == 200
    sandbox.faults(latency_ms=1500)
    try:
        slow: dict[str, httpx.Response] = {}

        def needs_the_api() -> None:
            url = f"{live_server.url}/?q=slot-{uuid.uuid4().hex[:8]}"
            slow["response"] = httpx.get(url, timeout=30)

        waiting = threading.Thread(target=needs_the_api)
        waiting.start()
        time.sleep(0.3)  # it is now waiting on the API, holding no slot
        fast = httpx.get(cached_page, timeout=30)
        assert fast.status_code == 200
        # It did not wait out the other request's 1.5 s API call for the only slot.
        assert _duration(fast, "queue") < 750
        waiting.join()
        assert slow["response"].status_code == 200
        assert _duration(slow["response"], "gm") >= 1500

    finally:
        sandbox.faults(reset=True)


def _duration(response: httpx.Response, metric: str) -> float:
    return float(response.headers["Server-Timing"].split(f"{metric};dur=")[1].split(";")[0])
