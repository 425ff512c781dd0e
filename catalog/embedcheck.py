"""What the embed script asks before framing: whether this merchant, and this event, can be
shown on the page at ``origin``; if not, which setting to change. ``/embed.v1/check`` answers
in JSON (CORS); the script loads ``/embed.v1/check.js``, which hands the same answer to its
own ``<script>`` element as a ``storefront:check`` event: the host page's CSP then needs only
the ``script-src`` it already has for ``embed.js``, not a ``connect-src``.

Merchants come from the directory the middleware uses, and events from the merchant's catalog
replica the frame reads next anyway: a check costs the API nothing, whatever it names."""

from __future__ import annotations

import json
import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import get_script_prefix
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from guestmanager import errors
from infra import swr
from infra.budget import catalog_view
from tenancy import shop as shops
from tenancy.current import Tenant

from . import reads

VERSION = 1
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,253}\Z")
SLUG_RE = re.compile(r"^[a-z0-9-]{1,50}\Z")
EVENT_RE = re.compile(r"^[0-9]{1,18}\Z")
NOT_SHOWN = "Storefront embed not shown: "

Answer = dict[str, object]


@require_safe
@catalog_view
def embed_check(request: HttpRequest, version: int = VERSION) -> HttpResponse:
    if version != VERSION:
        raise Http404("No such embed script version")
    answer = check(
        request.GET.get("origin", ""), request.GET.get("merchant"), request.GET.get("event")
    )
    if request.path.endswith(".js"):
        response = HttpResponse(_as_script(answer), content_type="text/javascript; charset=utf-8")
    else:
        response = JsonResponse(answer)
        response["Access-Control-Allow-Origin"] = "*"  # public facts, asked without credentials
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    patch_cache_control(response, no_cache=True)  # a setting just fixed shows at once
    return response


def _as_script(answer: Answer) -> str:
    # Escaped as for <script> content, so no value can end the string or the script.
    data = json.dumps(answer).translate(
        {
            ord("<"): "\\u003c",
            ord(">"): "\\u003e",
            ord("&"): "\\u0026",
        }
    )
    return (
        "(function(s){s&&s.dispatchEvent(new CustomEvent('storefront:check',{detail:"
        + data
        + "}))})(document.currentScript);\n"
    )


def refusal(setting: str, message: str) -> Answer:
    return {"ok": False, "setting": setting, "message": NOT_SHOWN + message}


def check(origin: str, slug: str | None, event: str | None) -> Answer:
    if not ORIGIN_RE.match(origin):
        return refusal("page origin", "the page has no web origin (open it over http or https).")
    if slug is None:
        shop = shops.default_shop()
        if not shop.allows_origin(origin):
            return refusal(
                "data-merchant",
                'data-merchant is missing: add data-merchant="<merchant slug>" to the snippet '
                f"(or, for this storefront's own shop, add {origin} to FRAME_ANCESTORS).",
            )
    else:
        found = shops.directory.by_slug(slug) if SLUG_RE.match(slug) else None
        if found is None:
            return refusal(
                "data-merchant",
                f'there is no merchant "{slug[:50]}" here. Check data-merchant: it is the '
                "merchant's slug, as in the storefront's admin.",
            )
        shop = found
        if not shop.allows_origin(origin):
            return refusal(
                "embed origins",
                f"{origin} is not among the embed origins of {shop.name}. Add it in the "
                f"storefront's admin (Merchants, {shop.name}, Embed origins).",
            )
    if event is not None:
        if not EVENT_RE.match(event):
            return refusal("data-event", "invalid data-event.")
        if _event_missing(shop, int(event)):
            return refusal("data-event", f"{shop.name} has no event {event}. Check data-event.")
    return {"ok": True}


def _event_missing(shop: shops.Shop, event_id: int) -> bool:
    tenant = Tenant(shop, shop.path_prefix)
    token = tenant.enter(get_script_prefix())
    try:
        try:
            reads.event_detail(event_id)
        except swr.Unavailable as exc:
            # Not yet synced: the frame says it can't load, itself.
            return isinstance(exc.cause, errors.NotFound)
        return False
    finally:
        tenant.leave(token)
