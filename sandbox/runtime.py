"""The emulator's live knobs: rate limit, injected latency and faults. Start from settings;
the control endpoints change them for tests and benchmarks."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class Faults:
    rate_limit: int
    rate_window: float
    latency_ms: float
    get_error_rate: float
    # Writes are applied, then the answer is delayed: "it worked but the reply got lost".
    write_reply_delay_ms: float = 0.0

    @classmethod
    def from_settings(cls) -> Faults:
        cfg = settings.SANDBOX
        return cls(
            rate_limit=cfg["RATE_LIMIT"],
            rate_window=cfg["RATE_WINDOW"],
            latency_ms=cfg["LATENCY_MS"],
            get_error_rate=cfg["GET_ERROR_RATE"],
        )


@dataclass
class RateLimiter:
    """Sliding-window limit per client IP."""

    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, ip: str, limit: int, window: float) -> float | None:
        """Record a hit; return seconds to wait if over the limit, else None."""
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


faults = Faults.from_settings()
limiter = RateLimiter()
requests = RequestLog()
