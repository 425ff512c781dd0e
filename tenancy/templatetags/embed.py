"""``{% embed_event "checkout:step" state="payment" %}``: a hidden marker the frame script
(static/storefront/embed-frame.js) posts to the host page once, as a DOM event there; and
``{% autofocus %}``, autofocus that works framed."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.template.context import Context
from django.utils.functional import Promise
from django.utils.html import format_html

register = template.Library()


def _json(value: object) -> object:
    """Money as a JSON number (its cents survive: a float's repr is its shortest decimal),
    translated text as its string."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Promise):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@register.simple_tag(takes_context=True)
def embed_event(context: Context, event_type: str, **detail: Any) -> str:
    if context.get("embed") is None:
        return ""
    body = json.dumps(detail, default=_json)
    return format_html(
        '<div hidden data-embed-event="{}" data-embed-detail="{}"></div>', event_type, body
    )


@register.simple_tag(takes_context=True)
def autofocus(context: Context) -> str:
    """``autofocus`` on full pages. In a frame, a mark embed-frame.js acts on instead:
    browsers refuse autofocus in a frame from another site, with a console line each time."""
    return " data-autofocus" if context.get("embed") is not None else " autofocus"
