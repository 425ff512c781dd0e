"""``{% embed_event "checkout:step" state="payment" %}``: a hidden marker the frame script
(static/storefront/embed-frame.js) posts to the host page once, as a DOM event there."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.template.context import Context
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def embed_event(context: Context, event_type: str, **detail: Any) -> str:
    if context.get("embed") is None:
        return ""
    body = json.dumps(detail, default=lambda v: str(v) if isinstance(v, Decimal) else None)
    return format_html(
        '<div hidden data-embed-event="{}" data-embed-detail="{}"></div>', event_type, body
    )
