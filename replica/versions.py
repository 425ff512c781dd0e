"""Each merchant's replica version as this process last read it.

Whole pages kept in memory (``infra.pagecache``) are served only while the replica version
they were rendered from is still the merchant's. Reading it for every request would cost
more than serving the page, so a process reads it again at most every
``REPLICA_VERSION_CHECK_SECONDS`` per merchant; a page rendered from a newer version than the
one last read tells this process at once (``saw``).

A version here is ``(number, stale)``: the replica's version number, and whether its last full
pass is older than ``REPLICA_STALE_SECONDS`` (pages then say their listings are saved ones).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .models import SyncState

type Version = tuple[int, bool]

# Tests put their own clock here.
clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Known:
    version: Version | None  # None: the merchant's catalog has not been copied yet
    read_at: float


_known: dict[str, Known] = {}
_lock = threading.Lock()


def is_stale(last_full_at: datetime) -> bool:
    age = (timezone.now() - last_full_at).total_seconds()
    return age > settings.REPLICA_STALE_SECONDS


def read(namespace: str) -> Version | None:
    """The merchant's version from the database (one small query)."""
    row = (
        SyncState.objects.filter(merchant=namespace).values_list("version", "last_full_at").first()
    )
    if row is None or row[1] is None:
        return None
    return int(row[0]), is_stale(row[1])


def current(namespace: str) -> Version | None:
    """The merchant's version, read again when the last reading is too old."""
    now = clock()
    known = _known.get(namespace)
    if known is not None and now - known.read_at < settings.REPLICA_VERSION_CHECK_SECONDS:
        return known.version
    version = read(namespace)
    with _lock:
        _known[namespace] = Known(version, now)
    return version


def saw(namespace: str, version: Version) -> None:
    """A page was rendered from ``version``: if it is newer than the one last read, it is
    the merchant's now (the next check reads the database again as usual)."""
    with _lock:
        known = _known.get(namespace)
        if known is not None and known.version is not None and known.version[0] < version[0]:
            _known[namespace] = Known(version, known.read_at)


def forget(namespace: str | None = None) -> None:
    """Read the version again next time: ``namespace``'s (its rows changed in this process),
    or every merchant's."""
    with _lock:
        if namespace is None:
            _known.clear()
        else:
            _known.pop(namespace, None)
