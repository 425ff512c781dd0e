"""Counts upstream calls per process, for benchmarks and the metrics endpoint."""

from __future__ import annotations

import threading
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class CallTimer:
    """Upstream calls made while serving one request (see ``timing``)."""

    calls: int = 0
    seconds: float = 0.0
    endpoints: list[str] = field(default_factory=list)


# Set by a caller (e.g. per web request) to learn what that unit of work cost upstream.
timing: ContextVar[CallTimer | None] = ContextVar("guestmanager_timing", default=None)


class UpstreamStats:
    """Thread-safe counters of upstream calls, by method and path template."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._seconds = 0.0

    def record(self, method: str, path_template: str, seconds: float) -> None:
        name = f"{method} {path_template}"
        with self._lock:
            self._calls[name] += 1
            self._seconds += seconds
        timer = timing.get()
        if timer is not None:
            timer.calls += 1
            timer.seconds += seconds
            timer.endpoints.append(name)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "total": sum(self._calls.values()),
                "seconds": round(self._seconds, 6),
                "by_endpoint": dict(self._calls),
            }

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._seconds = 0.0


# One per process: the benchmarks and /metrics read it; every client records into it
# unless given its own.
process_stats = UpstreamStats()
