"""Guest Manager public API (v2) client. Pure Python + httpx; no Django."""

from . import errors
from .client import GuestManagerClient, backoff_schedule, flatten_params
from .stats import UpstreamStats, process_stats
from .types import Money, Operation, Page, parse_datetime

__all__ = [
    "GuestManagerClient",
    "Money",
    "Operation",
    "Page",
    "UpstreamStats",
    "backoff_schedule",
    "errors",
    "flatten_params",
    "parse_datetime",
    "process_stats",
]
