"""The storefront's template filters: money and dates (``catalog.formats``), JSON-LD, and
lookups templates cannot write themselves."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog import formats

register = template.Library()

# What Django's json_script escapes: nothing in the data can close the <script> element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}

register.filter("money", formats.money)
register.filter("money_exact", formats.money_exact)
register.filter("cents", formats.cents)
register.filter("day_label", formats.day_label)
register.filter("when", formats.when)


@register.filter
def jsonld(data: Any) -> SafeString:
    """Serialise for a <script type="application/ld+json"> block, escaped against breakout."""
    return mark_safe(json.dumps(data, default=str).translate(_JSON_SCRIPT_ESCAPES))  # noqa: S308


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if not mapping:
        return None
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def get_field(form: Any, name: str) -> Any:
    return form[name]
