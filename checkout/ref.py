"""A reference to one order: its id and the ``guest_token`` that authorises calls on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderRef:
    id: int
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"<OrderRef {self.id}>"
