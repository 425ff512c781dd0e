"""A pinned clock for the whole test run: ``pytest --clock=2026-12-31T23:30:00Z`` (or
``TEST_CLOCK=...``) moves this process's wall clock to that moment, and every Python process
the tests start (the sandbox, localstripe, storefront servers, the demo's children, the web
server after its exec) moves by the same offset as it starts, so all of them agree on "now".
Clocks keep ticking; monotonic clocks (timeouts, rate limits) are left alone. Browser
contexts get the same time through ``pin_browser``.

Children are shifted by ``clockshift/sitecustomize.py``: ``shifted_env`` puts its folder on
``PYTHONPATH`` and the offset in seconds in ``CLOCK_SHIFT_SECONDS``; both pass on through
``os.environ`` to every process started from here, and from those to theirs.

``-m dates`` selects the tests whose outcome can depend on the date (``DATE_SENSITIVE``, or
marked ``@pytest.mark.dates``); ``make test-clocks`` runs them once per moment in its
``CLOCKS``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

SHIFT_DIR = Path(__file__).resolve().parent / "clockshift"
SHIFT_VAR = "CLOCK_SHIFT_SECONDS"
CLOCK_VAR = "TEST_CLOCK"

# Files (or single tests) whose data comes from the seed (generated relative to now, at local
# hours in the venues' time zones) or that compute dates themselves.
DATE_SENSITIVE = (
    "tests/test_clock.py",
    "tests/test_catalog_pages.py",
    "tests/test_catalog_stale.py",
    "tests/test_checkout_pages.py",
    "tests/test_checkout_money.py",
    "tests/test_contract_catalog.py",
    "tests/test_contract_checkout.py",
    "tests/test_contract_operations.py",
    "tests/test_event_import.py",
    "tests/test_storefront_flow.py",
    "tests/test_embed_sessions.py",
    "tests/test_ticket_resend.py",
    # In Chromium, whose clock follows this process's (pin_browser).
    "tests/test_browser_checkout.py::test_countdown_says_the_time_really_left_and_when_the_hold_ends",
    "tests/test_browser_catalog.py::test_parent_sessions_and_recurring_dates",
    "tests/test_browser_catalog.py::test_desktop_list_uses_the_width_and_imageless_cards_get_a_date_block",
    "tests/test_browser_catalog.py::test_a_date_range_error_keeps_the_filter_row_aligned",
)


@dataclass(frozen=True)
class Pin:
    at: datetime
    offset: float  # seconds from the real clock


_pin: Pin | None = None
_traveller: time_machine.travel | None = None
_saved_env = pytest.StashKey[dict[str, str | None]]()


def parse(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--clock: not an ISO 8601 moment: {value!r}") from exc
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--clock needs a UTC offset (e.g. Z): {value!r}")
    return moment.astimezone(UTC)


def shifted_env(offset: float, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for a child whose clock runs ``offset`` seconds
    ahead of the real one (behind if negative)."""
    out = dict(os.environ if env is None else env)
    paths = [p for p in out.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SHIFT_DIR)]
    out["PYTHONPATH"] = os.pathsep.join([str(SHIFT_DIR), *paths])
    out[SHIFT_VAR] = repr(offset)
    return out


def pinned() -> Pin | None:
    """The moment this run was pinned to, or None when it runs on the real clock."""
    return _pin


def pin_browser(context: Any) -> None:
    """Give a Playwright browser context this process's time (ticking) when pinned."""
    if _pin is not None:
        context.clock.set_system_time(datetime.fromtimestamp(time.time(), UTC))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default=os.environ.get(CLOCK_VAR) or None,
        metavar="MOMENT",
        help=f"run with every process's clock moved to this ISO moment ({CLOCK_VAR})",
    )


def pytest_configure(config: pytest.Config) -> None:
    global _pin, _traveller
    config.addinivalue_line(
        "markers", "dates: depends on the date; runs once per pinned clock (make test-clocks)"
    )
    value = config.getoption("clock")
    if not value:
        return
    moment = parse(value)
    hatch = time_machine.escape_hatch
    real = hatch.time.time() if hatch.is_travelling() else time.time()
    offset = moment.timestamp() - real
    _traveller = time_machine.travel(moment, tick=True)
    _traveller.start()
    time.time()  # ticking starts at the first reading
    _pin = Pin(moment, offset)
    config.stash[_saved_env] = {k: os.environ.get(k) for k in ("PYTHONPATH", SHIFT_VAR)}
    os.environ.update(shifted_env(offset))


def pytest_unconfigure(config: pytest.Config) -> None:
    global _pin, _traveller
    if _traveller is None:
        return
    _traveller.stop()
    _traveller = _pin = None
    for name, value in config.stash[_saved_env].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_report_header(config: pytest.Config) -> str | None:
    if _pin is None:
        return None
    return f"clock: pinned to {_pin.at.isoformat()} ({_pin.offset:+.0f} s), children too"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    prefixes = tuple(p + sep for p in DATE_SENSITIVE for sep in ("::", "["))
    for item in items:
        if item.nodeid in DATE_SENSITIVE or item.nodeid.startswith(prefixes):
            item.add_marker(pytest.mark.dates)
