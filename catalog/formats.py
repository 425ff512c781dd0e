"""How the storefront writes money and dates, in the active locale's formats. The template
filters of the same names (``{% load storefront %}``) call these."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from django.utils.formats import date_format, number_format, time_format
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _


def money(value: Any, currency: str = "") -> str:
    """A price in the active locale's number format: Free for zero."""
    if value is None:
        return ""
    if hasattr(value, "amount") and hasattr(value, "currency"):
        amount, currency = Decimal(value.amount), value.currency
    elif isinstance(value, dict):
        amount = Decimal(str(value.get("decimal", "0")))
    else:
        amount = Decimal(str(value))
    if amount == 0:
        return _("Free")
    return cents_text(amount, currency)


def money_exact(value: Any, currency: str = "") -> str:
    """Like ``money`` but zero stays a number (for totals)."""
    if isinstance(value, dict):
        return cents_text(Decimal(str(value.get("decimal", "0"))), currency)
    return cents_text(Decimal(str(value or 0)), currency)


def cents_text(amount: Decimal, currency: str) -> str:
    """``amount`` of ``currency`` as the active language writes it (CLDR, through Babel):
    "$48.36", "48,36 $", "48,36 $US"; the minus sign is a true one."""
    sign = "−" if amount < 0 else ""
    if len(currency) != 3 or not currency.isalpha():
        return sign + number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
    locale = to_locale(get_language() or "en")
    return sign + format_currency(abs(amount), currency.upper(), locale=locale)


def cents(value: int, currency: str) -> str:
    return cents_text(Decimal(value) / 100, currency)


# Catalog dates are written one way, in the active locale's formats ("Wednesday, Dec. 2, 2026,
# 7 p.m."; "Mittwoch, 2. Dezember 2026, 19:00"): never numeric, which reads as ISO or is
# ambiguous between locales.


def day_label(value: date | None) -> str:
    if value is None:
        return ""
    return f"{date_format(value, 'l')}, {date_format(value, 'DATE_FORMAT')}"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{day_label(value)}, {time_format(value, 'TIME_FORMAT')}"
