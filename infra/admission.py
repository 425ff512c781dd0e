"""Admission control: at most ``CPU_SLOTS`` request threads of a process run at once.

Python runs one thread at a time, so many threads doing CPU work at once only stretch every
request (cached pages queue behind renders, and each hand-over of the interpreter can cost
milliseconds). Checkout requests, though, spend most of their time waiting on the API, and
need many threads for that. So a worker keeps many threads, and each request holds one of a
few *slots* while it works, giving the slot up while it waits on the API (or sleeps before a
retry, or waits for another request to load shared data) and queueing for one again after.
``CPU_SLOTS=0`` turns this off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse

_slots: threading.Semaphore | None = None
_slots_lock = threading.Lock()
_held = threading.local()

# What queue times are measured with, and how a request waits without its slot (``sleep``):
# tests put their own clock here.
clock: Callable[[], float] = time.perf_counter
pause: Callable[[float], None] = time.sleep


def _semaphore() -> threading.Semaphore | None:
    global _slots
    if _slots is None and settings.CPU_SLOTS > 0:
        with _slots_lock:
            if _slots is None:
                _slots = threading.BoundedSemaphore(settings.CPU_SLOTS)
    return _slots


def reset_queue_time() -> None:
    _held.queued = _held.queued_in_calls = 0.0


def queue_time() -> tuple[float, float]:
    """Seconds this request waited for a slot: in all, and of that after API calls (which
    the call's own timing includes)."""
    return getattr(_held, "queued", 0.0), getattr(_held, "queued_in_calls", 0.0)


def _acquire(slots: threading.Semaphore, *, after_call: bool = False) -> None:
    started = clock()
    slots.acquire()
    waited = clock() - started
    _held.queued = getattr(_held, "queued", 0.0) + waited
    if after_call:
        _held.queued_in_calls = getattr(_held, "queued_in_calls", 0.0) + waited


@contextmanager
def cpu_slot() -> Iterator[None]:
    slots = _semaphore()
    if slots is None or getattr(_held, "slot", False):
        yield
        return
    _acquire(slots)
    _held.slot = True
    try:
        yield
    finally:
        _held.slot = False
        slots.release()


@contextmanager
def slot_released(*, in_call: bool = False) -> Iterator[None]:
    """Give this thread's slot to another request while it waits."""
    slots = _slots
    if slots is None or not getattr(_held, "slot", False):
        yield
        return
    _held.slot = False
    slots.release()
    try:
        yield
    finally:
        _acquire(slots, after_call=in_call)
        _held.slot = True


def sleep(seconds: float) -> None:
    with slot_released():
        pause(seconds)


class SlotReleasingTransport(httpx.BaseTransport):
    """An httpx transport that gives up the slot while the API answers."""

    def __init__(self, inner: httpx.BaseTransport):
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with slot_released(in_call=True):
            response = self._inner.handle_request(request)
            response.read()  # the body is part of the wait
        return response

    def close(self) -> None:
        self._inner.close()


class CpuSlotMiddleware:
    """Near the top of the stack, inside the timing middleware (so waiting for a slot counts
    as the storefront's time). Paths that stand in for a remote service (the sandbox's API, in
    sandbox mode: ``ADMISSION_EXEMPT_PATHS``) take no slot."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(tuple(settings.ADMISSION_EXEMPT_PATHS)):
            return self.get_response(request)
        with cpu_slot():
            return self.get_response(request)
