"""The emulator's live knobs: rate limit, injected latency and faults. Start from settings;
the control endpoints change them for tests and benchmarks."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings


@dataclass
class Schedule:
    """On for ``length_seconds`` at the start of every ``every_seconds`` from when it was set
    (``every_seconds`` 0: on all the time)."""

    every_seconds: float = 0.0
    length_seconds: float = 0.0
    retry_after: int = 1  # for bursts of 429
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def parse(cls, value: Any) -> Schedule | None:
        """``true`` (always on), ``false``/``null`` (off) or {every_seconds, length_seconds,
        retry_after}; ValueError otherwise."""
        if value is True:
            return cls()
        if value in (False, None):
            return None
        if not isinstance(value, dict):
            raise ValueError("a schedule is true, false or {every_seconds, length_seconds}")
        every, length = float(value.get("every_seconds", 0)), float(value.get("length_seconds", 0))
        retry_after = int(value.get("retry_after", 1))
        if every < 0 or length < 0 or retry_after < 0 or (every and not length):
            raise ValueError("schedule values must be positive numbers")
        return cls(every, length, retry_after)

    def active(self) -> bool:
        if not self.every_seconds:
            return True
        return (time.monotonic() - self.started) % self.every_seconds < self.length_seconds

    def as_json(self) -> dict[str, float]:
        return {
            "every_seconds": self.every_seconds,
            "length_seconds": self.length_seconds,
            "retry_after": self.retry_after,
        }


@dataclass
class Faults:
    rate_limit: int
    rate_window: float
    latency_ms: float
    get_error_rate: float
    # Writes are applied, then the answer is delayed: "it worked but the reply got lost".
    write_reply_delay_ms: float = 0.0
    # Writes wait this long before they are applied: a client that gives up first does not
    # know yet whether they will be.
    write_apply_delay_ms: float = 0.0
    # Every API request is answered 429 with this Retry-After while the schedule is on.
    burst_429: Schedule | None = None
    # This share of API requests waits spike_ms more.
    spike_ms: float = 0.0
    spike_rate: float = 0.0
    # This share of payment submissions is applied, then the reply is lost: the connection
    # closes without an answer ("drop") or a bare 504 comes back ("504").
    payment_reply_lost: float = 0.0
    payment_reply_lost_as: str = "drop"
    # API connections close without an answer while the schedule is on.
    unreachable: Schedule | None = None

    SCHEDULES: ClassVar[tuple[str, ...]] = ("burst_429", "unreachable")
    NUMBERS: ClassVar[tuple[str, ...]] = (
        "rate_limit",
        "rate_window",
        "latency_ms",
        "get_error_rate",
        "write_reply_delay_ms",
        "write_apply_delay_ms",
        "spike_ms",
        "spike_rate",
        "payment_reply_lost",
    )

    @classmethod
    def from_settings(cls) -> Faults:
        cfg = settings.SANDBOX
        return cls(
            rate_limit=cfg["RATE_LIMIT"],
            rate_window=cfg["RATE_WINDOW"],
            latency_ms=cfg["LATENCY_MS"],
            get_error_rate=cfg["GET_ERROR_RATE"],
        )

    def update(self, data: dict[str, Any]) -> None:
        """Apply the fields given; ValueError (nothing changed) when one is malformed."""
        changes: dict[str, Any] = {}
        for key in self.NUMBERS:
            if key in data:
                changes[key] = type(getattr(self, key))(data[key])
        for key in self.SCHEDULES:
            if key in data:
                changes[key] = Schedule.parse(data[key])
        if "payment_reply_lost_as" in data:
            if data["payment_reply_lost_as"] not in ("drop", "504"):
                raise ValueError("payment_reply_lost_as is 'drop' or '504'")
            changes["payment_reply_lost_as"] = data["payment_reply_lost_as"]
        for key, value in changes.items():
            setattr(self, key, value)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {key: getattr(self, key) for key in self.NUMBERS}
        for key in self.SCHEDULES:
            schedule = getattr(self, key)
            data[key] = schedule.as_json() if schedule else None
        data["payment_reply_lost_as"] = self.payment_reply_lost_as
        return data

    def extra_latency(self) -> float:
        """Seconds to hold this request: the steady latency plus any spike."""
        spike = self.spike_ms if self.spike_rate and random.random() < self.spike_rate else 0
        return (self.latency_ms + spike) / 1000

    def loses_payment_reply(self) -> bool:
        return bool(self.payment_reply_lost) and random.random() < self.payment_reply_lost


@dataclass
class RateLimiter:
    """Sliding-window limit per client IP."""

    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, ip: str, limit: int, window: float) -> float | None:
        """Record a hit; return seconds to wait if over the limit, else None (a limit of 0
        or less is no limit)."""
        if limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(ip, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.001, hits[0] + window - now)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


@dataclass
class RequestLog:
    """Counts API requests by method and route, for benchmarks."""

    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Tally:
    """Counts by name (e.g. 429s answered, per route), for tests and benchmarks."""

    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class PaymentSubmissions:
    """Duplicate payment submissions per order: one sent while another submission for the
    same order is being handled, or while the order has a payment processing or completed.
    A storefront must never send one (a resubmission after a declined payment is not one)."""

    _in_flight: Counter[str] = field(default_factory=Counter)
    _duplicates: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def submitting(self, order_id: str, has_live_payment: bool) -> Iterator[None]:
        with self._lock:
            if has_live_payment or self._in_flight[order_id]:
                self._duplicates[order_id] += 1
            self._in_flight[order_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[order_id] -= 1
                if not self._in_flight[order_id]:
                    del self._in_flight[order_id]

    def duplicates(self) -> dict[str, int]:
        with self._lock:
            return dict(self._duplicates)

    def reset(self) -> None:
        with self._lock:
            self._duplicates.clear()


faults = Faults.from_settings()
limiter = RateLimiter()
requests = RequestLog()
answered_429 = Tally()  # "limited <route>" (the rate limit) or "injected <route>" (bursts)
dropped = Tally()  # "unreachable <route>", "payment reply lost"
payments = PaymentSubmissions()
