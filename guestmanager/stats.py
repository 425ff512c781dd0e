"""Counts upstream calls per process, for benchmarks and the metrics endpoint."""

from __future__ import annotations

import threading
from collections import Counter


class UpstreamStats:
    """Thread-safe counters of upstream calls, by method and path template."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._seconds = 0.0

    def record(self, method: str, path_template: str, seconds: float) -> None:
        with self._lock:
            self._calls[f"{method} {path_template}"] += 1
            self._seconds += seconds

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
