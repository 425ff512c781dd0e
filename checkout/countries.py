"""Countries as the API lists them (``GET /countries``: id, English name, ISO code, phone
prefix), named and ordered for the page's language."""

from __future__ import annotations

import unicodedata
from typing import Any

from babel import Locale
from django.utils.translation import get_language, to_locale


def country_choices(countries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The API's countries named in the page's language (CLDR's names, through Babel, by the
    ISO code each carries; the API's English name where it has none), in that language's
    alphabetical order."""
    names = Locale.parse(to_locale(get_language() or "en")).territories
    named = [(str(c["id"]), names.get(str(c.get("code") or ""), c["name"])) for c in countries]
    return sorted(named, key=lambda choice: _sort_key(choice[1]))


def _sort_key(name: str) -> str:
    # Accents sort with their letter ("Österreich" among the O's).
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)
    ).casefold()
