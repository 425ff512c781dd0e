"""Light typed views over API payloads. The raw dict always stays reachable as ``.raw``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast


@dataclass(frozen=True)
class Money:
    """The API's money object: ``{"decimal": "32.9", "amount": 3290, "formatted": "$32.90"}``."""

    amount: int
    decimal: Decimal
    formatted: str
    currency: str = ""

    @classmethod
    def parse(cls, value: Any, currency: str = "") -> Money:
        if isinstance(value, dict):
            amount = int(value.get("amount") or 0)
            dec = Decimal(str(value.get("decimal", amount / 100)))
            return cls(
                amount=amount,
                decimal=dec,
                formatted=str(value.get("formatted") or dec),
                currency=str(value.get("currency") or currency),
            )
        # Older payloads carry a bare decimal string.
        dec = Decimal(str(value or "0"))
        return cls(amount=int(dec * 100), decimal=dec, formatted=str(dec), currency=currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return self.formatted


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Page:
    """One page of a collection. ``next_cursor`` for cursor pagination (events, tickets),
    ``next_number`` for the older page-number pagination."""

    data: list[dict[str, Any]]
    meta: dict[str, Any]

    @property
    def next_cursor(self) -> str | None:
        return (self.meta.get("page") or {}).get("next_cursor") or None

    @property
    def next_number(self) -> int | None:
        return (self.meta.get("page") or {}).get("next") or None

    @property
    def is_last(self) -> bool:
        page = self.meta.get("page") or {}
        if "last" in page and isinstance(page["last"], bool):
            return page["last"]
        return not (self.next_cursor or self.next_number)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Operation:
    """An event operation (see the operations announcement): only ``completed`` and
    ``failed`` are terminal; ``progress`` may be null; phases are a tree of work units."""

    raw: dict[str, Any]
    event_id: int | str

    TERMINAL = frozenset({"completed", "failed"})

    @property
    def id(self) -> int:
        return cast(int, self.raw["id"])

    @property
    def status(self) -> str:
        return cast(str, self.raw.get("status", ""))

    @property
    def action(self) -> str:
        return cast(str, self.raw.get("action", ""))

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def percent(self) -> int | None:
        progress = self.raw.get("progress")
        return progress.get("percent") if isinstance(progress, dict) else None

    @property
    def phases(self) -> list[dict[str, Any]]:
        return list(self.raw.get("phases") or [])

    def phase(self, name: str) -> dict[str, Any] | None:
        return _find_phase(self.phases, name)

    def phase_completed(self, name: str) -> bool:
        node = self.phase(name)
        return bool(node and node.get("status") == "completed")

    @property
    def error(self) -> dict[str, Any] | None:
        return self.raw.get("error")

    @property
    def current_phase(self) -> dict[str, Any] | None:
        """The phase being worked on: the first running one, else the first not done."""
        leaves = _leaves(self.phases)
        running = [p for p in leaves if p.get("status") == "running"]
        waiting = [p for p in leaves if p.get("status") not in ("completed", "failed")]
        found = running or waiting
        return found[0] if found else None

    @property
    def failure(self) -> tuple[str, str, str]:
        """(phase, code, message) of a failed operation: the operation's error names the
        phase it started in; an error without one falls back to the failed phase node."""
        error = dict(self.error or {})
        node = next((p for p in _leaves(self.phases) if p.get("status") == "failed"), None)
        node_error = (node or {}).get("error") or {}
        phase = error.get("phase") or (node or {}).get("name") or ""
        code = error.get("code") or node_error.get("code") or ""
        message = error.get("message") or node_error.get("message") or self.raw.get("message")
        return str(phase), str(code), str(message or "")


def _leaves(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phases in order, a node with sub-phases replaced by them."""
    found: list[dict[str, Any]] = []
    for node in nodes:
        children = node.get("phases") or []
        found += _leaves(children) if children else [node]
    return found


def _find_phase(nodes: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for node in nodes:
        if node.get("name") == name:
            return node
        found = _find_phase(node.get("phases") or [], name)
        if found:
            return found
    return None
