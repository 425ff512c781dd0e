from __future__ import annotations

import functools
import itertools
from dataclasses import replace
from datetime import date
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from guestmanager import errors
from infra import swr
from infra.budget import catalog_view
from infra.pagecache import shared_page
from replica import versions
from tenancy import embed
from tenancy.current import TenantRequest, current

from . import cards, reads
from .forms import EventFilterForm
from .sanitize import clean_html, plain_text


def _categories() -> list[dict[str, Any]]:
    try:
        categories: list[dict[str, Any]] = reads.categories().value
    except swr.Unavailable:
        return []
    return categories


@require_safe
@shared_page(vary=["HX-Request"])  # a "Load more" page is a fragment for htmx
@catalog_view
def event_list(request: TenantRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None, categories=_categories())
    query = _list_query(form, request.GET.get("cursor", "")[:500])
    status, degraded, unavailable, bad_cursor = 200, False, False, False
    cached, rendered = _rendered_cards(request, query)
    if cached is not None and rendered is not None:
        degraded = cached.degraded
    else:
        try:
            cached = reads.events_page(query)
            degraded = cached.degraded
        except swr.Unavailable as exc:
            cached, unavailable, status = None, True, 503
            if query.cursor and _is_bad_request(exc.cause):
                # The cursor is opaque: one we did not hand out (or that the API no longer
                # accepts) is the buyer's bad input, so answer with the list from the start.
                query, bad_cursor = replace(query, cursor=""), True
                cached, degraded, unavailable, status = _first_page(query)
    # The form's own fields only: a frame's first URL also carries the embed's parameters
    # (origin, frame, theme…), which would start a new embed session from every link.
    filters = {
        k: v for k, v in request.GET.items() if k in form.fields and isinstance(v, str) and v
    }
    context = {
        "form": form,
        "degraded": degraded,
        "unavailable": unavailable,
        "bad_cursor": bad_cursor,
        "filtered": bool(filters),
        "is_more": bool(query.cursor),
    }
    if rendered is None:
        rendered = _event_list_html(request, query, cached, filters, context)
    context["page_html"] = rendered
    if request.htmx and query.cursor:
        response = HttpResponse(context["page_html"], status=status)
    else:
        response = render(request, "catalog/events.html", context, status=status)
    return _shows(response, cached) if cached is not None else response


def _shows(response: HttpResponse, cached: swr.Cached) -> HttpResponse:
    """Mark a page as showing the replica version ``cached`` was read from: a process keeps
    it in memory (``infra.pagecache``) only while that version is the merchant's."""
    namespace = current().namespace
    version = (int(cached.fetched_at), cached.degraded)
    versions.saw(namespace, version)
    response.is_current = functools.partial(_still_shown, namespace, version)  # type: ignore[attr-defined]
    return response


def _still_shown(namespace: str, version: versions.Version) -> bool:
    return versions.current(namespace) == version


def _list_query(form: EventFilterForm, cursor: str) -> reads.ListQuery:
    """The filters that passed validation: one bad field does not drop the others."""
    data: dict[str, Any] = {}
    if form.is_bound:
        form.full_clean()  # leaves the fields that failed out of cleaned_data
        data = form.cleaned_data
    where = reads.EventFilter(
        search=(data.get("q") or "").strip(),
        category=data.get("category"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )
    return reads.ListQuery(where, cursor)


def _is_bad_request(exc: errors.GuestManagerError) -> bool:
    """A 4xx the request itself caused (not auth, not rate limiting)."""
    if isinstance(exc, errors.RateLimitExceeded | errors.Unauthorized | errors.Forbidden):
        return False
    return exc.status is not None and 400 <= exc.status < 500


def _first_page(query: reads.ListQuery) -> tuple[Any, bool, bool, int]:
    """(cached, degraded, unavailable, status) for the list's first page after a bad cursor."""
    try:
        cached = reads.events_page(query)
    except swr.Unavailable:
        return None, False, True, 503
    return cached, cached.degraded, False, 400


def _shared_fragments(request: TenantRequest) -> tuple[str, ...] | None:
    """What a rendered fragment's links depend on (host and script prefix: the merchant's
    domain or /m/<slug>/), or None when they are this buyer's own: embed pages carry the
    buyer's session reference in every link, so they are never shared."""
    if request.tenant.embed is not None:
        return None
    return (request.get_host(), get_script_prefix())


def _cards_key(request: TenantRequest, query: reads.ListQuery, cached: swr.Cached) -> str | None:
    """Where one page of results rendered from ``cached``'s replica version is kept, or None
    when it is not shared (``_shared_fragments``)."""
    shared = _shared_fragments(request)
    if shared is None:
        return None
    return cached.fragment_key(
        reads.events_key(query), get_language(), request.tenant.shop.currency, *shared
    )


def _rendered_cards(
    request: TenantRequest, query: reads.ListQuery
) -> tuple[swr.Cached | None, str | None]:
    """The replica's version (as a ``Cached`` without a value) and the cards of this page
    already rendered from it, if any process has: then no rows are read or decoded."""
    try:
        synced = reads.replica_version()
    except reads.NotSynced:
        return None, None
    key = _cards_key(request, query, synced)
    return synced, cache.get(key) if key else None


def _event_list_html(
    request: TenantRequest,
    query: reads.ListQuery,
    cached: swr.Cached | None,
    filters: dict[str, str],
    context: dict[str, Any],
) -> str:
    """The cards for one page of results, rendered once per refresh of the data and then
    served from the cache: rendering is most of a page view's cost."""
    key = _cards_key(request, query, cached) if cached is not None else None
    if key:
        html: str | None = cache.get(key)
        if html is not None:
            return html
    events = cached.value["events"] if cached else []
    next_cursor = cached.value["next_cursor"] if cached else None
    found = [_list_card(e) for e in events if cards.listable(e)]
    # By day, then in the API's order: a recurring event is listed at its next date, which
    # the API's order (by its first date) does not follow.
    found.sort(key=lambda c: c.day or date.min)
    html = render_to_string(
        "catalog/events.html#page",
        {
            **context,
            "days": [
                (day, list(group)) for day, group in itertools.groupby(found, lambda c: c.day)
            ],
            "next_url": f"{reverse('home')}?{urlencode({**filters, 'cursor': next_cursor})}"
            if next_cursor
            else None,
        },
        request,
    )
    if key:
        cache.set(key, html, timeout=int(settings.CATALOG_TTL + settings.CATALOG_STALE))
    return html


def _list_card(event: dict[str, Any]) -> cards.EventCard:
    """A recurring event's card shows its next dates, and their prices and availability."""
    dates: list[dict[str, Any]] = []
    if event.get("type") == "recurring":
        try:
            dates = reads.child_dates(event["id"]).value
        except swr.Unavailable:
            dates = []
    return cards.card(event, current().currency, dates=dates)


def event_url(event: dict[str, Any]) -> str:
    return reverse("event", args=[event["id"], event.get("slug") or "event"])


@require_safe
@shared_page
@catalog_view
def event_detail(request: TenantRequest, event_id: int, slug: str = "") -> HttpResponse:
    return render_event_page(request, event_id, slug=slug or "", chosen=_preselected(request))


def _preselected(request: TenantRequest) -> dict[int, int] | None:
    """In a frame, the quantities the host page chose (``data-items``, ``variant:qty,…``);
    a type this event does not offer, or a quantity it cannot be bought in, shows as 0."""
    if request.tenant.embed is None:
        return None
    items = embed.prefill(request).get("items", "")
    chosen = {}
    for item in filter(None, items.split(",")):
        variant, _, quantity = item.partition(":")
        chosen[int(variant)] = int(quantity)
    return chosen


def render_event_page(
    request: TenantRequest,
    event_id: int,
    *,
    slug: str | None = None,
    errors_by_variant: dict[int, str] | None = None,
    chosen: dict[int, int] | None = None,
    form_error: str | None = None,
    form_note: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The event page; the add-to-order view re-renders it with errors beside the
    registration types (or a note asking to confirm) and the buyer's chosen quantities kept.

    Without those it is the same page for everyone (its form takes the CSRF token from the
    cookie as it is sent), so it is rendered once per refresh of the event's data."""
    try:
        cached = reads.event_detail(event_id)
    except swr.Unavailable as exc:
        if isinstance(exc.cause, errors.NotFound):
            raise Http404("No such event") from exc
        return render(request, "unavailable.html", status=503)
    event = cached.value
    if slug is not None and slug != (event.get("slug") or "event"):
        return redirect(event_url(event), permanent=True)
    if errors_by_variant or chosen or form_error or form_note:
        context = _event_context(request, cached, event_id)
        context.update(
            errors=errors_by_variant or {},
            chosen=chosen or {},
            form_error=form_error,
            form_note=form_note,
        )
        return render(request, "catalog/event.html", context, status=status)
    shared = _shared_fragments(request)
    if shared is None:
        context = _event_context(request, cached, event_id)
        return _shows(render(request, "catalog/event.html", context, status=status), cached)
    key = cached.fragment_key(
        reads.event_key(event_id),
        get_language(),
        request.tenant.shop.currency,
        cached.degraded,
        *shared,
    )
    html = cache.get(key)
    if html is None:
        context = _event_context(request, cached, event_id)
        context["token_from_cookie"] = True
        html = render_to_string("catalog/event.html", context, request)
        cache.set(key, html, timeout=int(settings.CATALOG_TTL + settings.CATALOG_STALE))
    return _shows(HttpResponse(html, status=status), cached)


def _event_context(request: TenantRequest, cached: swr.Cached, event_id: int) -> dict[str, Any]:
    event = cached.value
    currency = current().currency
    sessions = [
        {
            "card": cards.card(s, currency),
            "types": [cards.type_option(rt, currency) for rt in s.get("registration_types") or []],
        }
        for s in event.get("sessions") or []
        if event.get("type") != "recurring"  # its dates are offered below as links instead
    ]
    upcoming: list[dict[str, Any]] = []
    if event.get("type") == "recurring":
        try:
            upcoming = reads.child_dates(event_id, limit=24).value
        except swr.Unavailable:
            upcoming = []
    dates = [(cards.card(d, currency), event_url(d)) for d in upcoming]
    types = [cards.type_option(rt, currency) for rt in event.get("registration_types") or []]
    session_types = [t for s in sessions for t in cast(list[cards.TypeOption], s["types"])]
    setting = (event.get("list") or {}).get("setting") or {}
    venue = event.get("venue") or {}
    context = {
        "event": event,
        "summary": cards.card(event, currency, dates=upcoming),
        "types": types,
        "add_label": cards.add_label([*types, *session_types]),
        "sessions": sessions,
        "dates": dates,
        "description": clean_html(setting.get("description") or ""),
        "teaser": plain_text(setting.get("description") or "", 160),
        "venue": venue,
        "zone": cards.zone_label(event.get("start"), venue),
        "address": venue.get("address"),
        "map_url": _map_url(venue),
        "degraded": cached.degraded,
        "currency": currency,
        "canonical": request.build_absolute_uri(request.tenant.site_path(event_url(event))),
        "errors": {},
        "chosen": {},
        "form_error": None,
    }
    context["jsonld"] = _jsonld(context)
    return context


def _map_url(venue: dict[str, Any]) -> str | None:
    address = venue.get("address") or {}
    parts = [
        venue.get("name"),
        address.get("address1"),
        address.get("city"),
        address.get("state_code"),
        address.get("country_name"),
    ]
    text = ", ".join(p for p in parts if p)
    return f"https://www.openstreetmap.org/search?{urlencode({'query': text})}" if text else None


SCHEMA_AVAILABILITY = {
    "on_sale": "https://schema.org/InStock",
    "few_left": "https://schema.org/LimitedAvailability",
    "sold_out": "https://schema.org/SoldOut",
    "not_on_sale": "https://schema.org/PreOrder",
    "reserve": "https://schema.org/PreOrder",
    "request": "https://schema.org/SoldOut",
    "paused": "https://schema.org/OutOfStock",
}


def _jsonld(ctx: dict[str, Any]) -> dict[str, Any]:
    event, venue, address = ctx["event"], ctx["venue"], ctx["address"] or {}
    offers = []
    for option in ctx["types"] + [t for s in ctx["sessions"] for t in s["types"]]:
        if option.price:
            offers.append(
                {
                    "@type": "Offer",
                    "name": option.name,
                    "price": str(option.price.amount),
                    "priceCurrency": option.price.currency,
                    "availability": SCHEMA_AVAILABILITY.get(option.state, ""),
                    "url": ctx["canonical"],
                }
            )
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event["name"],
        "startDate": (event.get("start") or {}).get("local"),
        "endDate": (event.get("end") or {}).get("local"),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "description": ctx["teaser"],
        "offers": offers,
    }
    if ctx["summary"].image:
        data["image"] = [ctx["summary"].image]
    if venue:
        data["location"] = {
            "@type": "Place",
            "name": venue.get("name"),
            "address": {
                "@type": "PostalAddress",
                "streetAddress": address.get("address1"),
                "addressLocality": address.get("city"),
                "postalCode": address.get("zipcode"),
                "addressRegion": address.get("state_code"),
                "addressCountry": address.get("country_code"),
            },
        }
    return data
