"""Admission control (infra/admission.py): a request waiting on the API gives its slot to
others, and the time a request queues for a slot is counted on the admission clock."""

from __future__ import annotations

import re
import threading

import httpx
import pytest

from infra import admission

from .helpers import PATIENCE, FakeClock, event_named, variant


def csrf(client: httpx.Client, response: httpx.Response) -> str:
    """The CSRF cookie's token, fetched as the site's script does on a shared page."""
    meta = r'name="csrf-cookie" content="([^"]+)" data-url="([^"]+)"'
    name, url = re.search(meta, response.text).groups()
    if name not in client.cookies:
        assert client.get(url).status_code == 204
    return client.cookies[name]


@pytest.mark.django_db(transaction=True)
def test_a_request_waiting_on_the_api_lets_another_request_work(
    live_server, storefront_settings, sandbox, gm, monkeypatch
):
    monkeypatch.setattr(admission, "_slots", threading.BoundedSemaphore(1))
    cached_page = f"{live_server.url}/?q=gala"
    assert httpx.get(cached_page, timeout=30).status_code == 200
    event = event_named(gm, "Quick Ticket Night")
    buyer = httpx.Client(base_url=live_server.url, timeout=2 * PATIENCE)
    token = csrf(buyer, buyer.get(f"/events/{event['id']}/{event['slug']}/"))
    in_call, other_served = threading.Event(), threading.Event()
    held: list[bool] = []
    send = httpx.HTTPTransport.handle_request

    def slow_api(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        """The sandbox really answers; the answer reaches the storefront only once the other
        request has been served (or ``PATIENCE`` has passed)."""
        response = send(self, request)
        if str(request.url).startswith(sandbox.api_url) and request.method == "POST":
            in_call.set()
            held.append(other_served.wait(PATIENCE))
        return response

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", slow_api)
    waiting: dict[str, httpx.Response] = {}
    adding = {
        "csrfmiddlewaretoken": token,
        "event": str(event["id"]),
        f"qty-{variant(gm, 'Quick Ticket Night', 'Standard')}": "1",
    }
    needs_the_api = threading.Thread(  # adding tickets makes an order: an API call
        target=lambda: waiting.update(response=buyer.post("/order/add", data=adding))
    )
    needs_the_api.start()
    try:
        assert in_call.wait(PATIENCE), "the add never reached the API"
        # The only slot's holder is waiting on the API: this request must get it.
        assert httpx.get(cached_page, timeout=2 * PATIENCE).status_code == 200
    finally:
        other_served.set()
        needs_the_api.join()
        buyer.close()
    assert held and all(held), "the cached page waited for the request that was on the API"
    assert waiting["response"].status_code == 302


@pytest.fixture
def one_slot(monkeypatch) -> tuple[FakeClock, threading.Event]:
    """One slot, on a fake admission clock; the event is set once a request queues for it."""
    clock, queued = FakeClock(), threading.Event()

    class Slots(threading.BoundedSemaphore):
        def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
            if super().acquire(blocking=False):
                return True
            queued.set()
            return super().acquire(blocking, timeout)

    monkeypatch.setattr(admission, "clock", clock)
    monkeypatch.setattr(admission, "pause", clock.sleep)
    monkeypatch.setattr(admission, "_slots", Slots(1))
    return clock, queued


def test_queue_time_is_the_wait_for_a_slot_on_the_admission_clock(one_slot):
    clock, queued = one_slot
    waited: list[tuple[float, float]] = []

    def request() -> None:
        admission.reset_queue_time()
        with admission.cpu_slot():
            waited.append(admission.queue_time())

    with admission.cpu_slot():
        other = threading.Thread(target=request)
        other.start()
        assert queued.wait(PATIENCE)
        clock.advance(2.5)  # the holder works on while the other queues
    other.join(PATIENCE)
    assert waited == [(2.5, 0.0)]


def test_a_sleeping_request_gives_its_slot_away(one_slot, monkeypatch):
    clock, _queued = one_slot
    free_while_asleep: list[bool] = []

    def pause(seconds: float) -> None:
        free = admission._slots.acquire(blocking=False)
        if free:
            admission._slots.release()
        free_while_asleep.append(free)
        clock.sleep(seconds)

    monkeypatch.setattr(admission, "pause", pause)
    with admission.cpu_slot():
        admission.sleep(1.5)  # a retry's wait
        assert not admission._slots.acquire(blocking=False)  # the slot is its own again
    assert free_while_asleep == [True] and clock.slept == [1.5]
