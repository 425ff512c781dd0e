from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def mmss(seconds: int) -> str:
    """Seconds as minutes:seconds, the way the countdown shows them."""
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"
