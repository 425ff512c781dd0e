from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(cents: int, currency: str) -> dict[str, object]:
    """The API's money object. Negative amounts are formatted "$-3.28", as the API does."""
    dec = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    symbol = SYMBOLS.get(currency, "")
    sign = "-" if cents < 0 else ""
    formatted = f"{symbol}{sign}{abs(dec):,.2f}" if symbol else f"{sign}{abs(dec):,.2f} {currency}"
    return {"decimal": _api_decimal(dec), "amount": cents, "formatted": formatted}


def price(cents: int, currency: str, default: bool) -> dict[str, object]:
    return {**money(cents, currency), "currency": currency, "default": default}


def _api_decimal(value: Decimal) -> str:
    """The API writes decimals like Ruby's BigDecimal#to_s: "32.9", "0.0", "-6.0"."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def percent_of(cents: int, percent: Decimal) -> int:
    return int((Decimal(cents) * percent / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def unit_fee(unit_cents: int, tickets: int, flat_cents: int, percent: Decimal) -> int:
    """A purchase unit's service fee: the flat amount for each of its ``tickets`` tickets plus
    the percentage of the unit price, rounded once, half up, to the cent (a "table of 4" at
    $145.00 with $1.00 + 3% pays $4.00 + $4.35, not four rounded $2.09)."""
    share = Decimal(unit_cents) * Decimal(percent) / 100
    return flat_cents * max(1, tickets) + int(share.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
