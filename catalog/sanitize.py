"""Third-party HTML (event and registration type descriptions) made safe to embed."""

from __future__ import annotations

import re
from html import unescape

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "span",
    "div",
    "hr",
    "small",
    "sup",
    "sub",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan"}, "th": {"colspan", "scope"}}


def clean_html(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# Where a block starts or ends the words on either side are apart, even with no space between.
BLOCK_EDGE = re.compile(
    r"<(?=/?(?:p|div|li|ul|ol|br|hr|h\d|tr|td|th|table|blockquote)\b)", re.IGNORECASE
)


def plain_text(html: str, limit: int = 200) -> str:
    """The words of ``html`` (for meta descriptions and JSON-LD): tags dropped, blocks kept
    apart, entities decoded (templates escape the result once, where it is used)."""
    cleaned = nh3.clean(BLOCK_EDGE.sub(" <", html or ""), tags=set())
    text = " ".join(unescape(cleaned).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
