"""Which language a page speaks, in this order:

1. a framed page: the host page's ``data-lang`` (kept in the embed session);
2. the language in the URL (``/de/…``, ``/m/<slug>/fr/…``): the footer's switch links there;
3. the merchant's locale, when it has one;
4. the buyer's ``Accept-Language``;
5. English.

The URL's language is part of the script prefix (``TenantMiddleware``), so every link and
redirect keeps it. A page whose language came from ``Accept-Language`` says ``Vary:
Accept-Language``; any other is the same for every browser, so a shared cache keeps one copy.
Django's ``LocaleMiddleware`` is not used: its language cookie would make a shared page differ
by a header no cache can key on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.management.base import BaseCommand, CommandParser
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

from . import embed as embeds
from .current import Tenant

PATH = re.compile(r"^/(?P<code>[a-z]{2})(?P<rest>/.*)?$", re.DOTALL)

PATH_SOURCE, EMBED_SOURCE, MERCHANT_SOURCE, BROWSER_SOURCE = "path", "embed", "merchant", "browser"


def shipped() -> dict[str, str]:
    return dict(settings.LANGUAGES)


def default() -> str:
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def from_path(path: str) -> tuple[str, str | None] | None:
    """``(language, the rest of the path)`` when ``path`` starts with a shipped language
    (the rest is None for ``/de`` alone); None otherwise."""
    match = PATH.match(path)
    if match is None or match["code"] not in shipped():
        return None
    return match["code"], match["rest"]


def from_header(accept_language: str) -> str | None:
    """The first shipped language ``Accept-Language`` asks for (by quality), if any."""
    for tag, _quality in parse_accept_lang_header(accept_language[:500]):
        if tag == "*":
            break
        try:
            return translation.get_supported_language_variant(tag.lower())
        except LookupError:
            continue
    return None


@dataclass(frozen=True)
class Choice:
    code: str
    source: str  # PATH_SOURCE, MERCHANT_SOURCE or BROWSER_SOURCE (which includes the default)


def choose(request: HttpRequest, tenant: Tenant | None) -> Choice:
    if tenant is not None and tenant.language:
        return Choice(tenant.language, PATH_SOURCE)
    locale = tenant.shop.locale if tenant is not None else ""
    if locale in shipped():
        return Choice(locale, MERCHANT_SOURCE)
    found = from_header(request.headers.get("Accept-Language", ""))
    return Choice(found or default(), BROWSER_SOURCE)


class LanguageMiddleware:
    """Activates the page's language (all but a frame's, which ``EmbedLanguageMiddleware``
    reads from its session) before the page cache looks for a copy in it; says which one it
    is in ``Content-Language``, and ``Vary: Accept-Language`` where that header chose it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "tenant", None)
        choice = choose(request, tenant)
        request.LANGUAGE_CODE = choice.code
        request.language_source = choice.source  # type: ignore[attr-defined]
        # The thread speaks it for this request only: work the thread does next (another
        # request's middleware before this one, a test) starts from the default again.
        with translation.override(choice.code, deactivate=True):
            response = self.get_response(request)
        response.setdefault("Content-Language", request.LANGUAGE_CODE)
        if request.language_source == BROWSER_SOURCE:  # type: ignore[attr-defined]
            patch_vary_headers(response, ("Accept-Language",))
        return response


class EmbedLanguageMiddleware:
    """A framed page speaks the host page's language (``data-lang``), kept in its session:
    the host page knows its own. Needs the session, so it runs after the session middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "tenant", None)
        if tenant is not None and tenant.embed is not None:
            code = embeds.prefill(request).get("lang")
            if code in shipped():
                translation.activate(code)
                request.LANGUAGE_CODE = code
                request.language_source = EMBED_SOURCE  # type: ignore[attr-defined]
        return self.get_response(request)


MAX_KEPT_QUERY = 512


def switch_links(request: HttpRequest) -> list[dict[str, object]]:
    """The footer's language links: this page in each shipped language (and, for the head's
    alternates, ``x-default``: the page without a language, whose visitor's browser or
    merchant decides)."""
    tenant: Tenant | None = getattr(request, "tenant", None)
    if tenant is None or tenant.embed is not None:
        return []
    base = tenant.merchant_prefix
    rest = request.path_info.lstrip("/")
    query = request.META.get("QUERY_STRING", "")
    # Longer than any of the site's own links makes (a search, filters, a cursor): not kept,
    # so a page never repeats a hostile address once per language.
    tail = rest + (f"?{query}" if query and len(query) <= MAX_KEPT_QUERY else "")
    try:
        origin = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:  # the refusal's own page: it links nowhere
        return []
    current = translation.get_language()
    links: list[dict[str, object]] = [
        {"code": code, "name": name, "url": f"{base}{code}/{tail}", "current": code == current}
        for code, name in settings.LANGUAGES
    ]
    links.append({"code": "x-default", "name": "", "url": f"{base}{tail}", "current": False})
    for link in links:
        link["absolute"] = f"{origin}{link['url']}"
    return links


def from_environment(environ: Mapping[str, str]) -> str | None:
    """The shipped language the shell's locale names (``LC_ALL``, ``LC_MESSAGES``, ``LANG``,
    as gettext reads them: ``de_DE.UTF-8`` is German), if any."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            tag = value.split(".")[0].split("@")[0].replace("_", "-").lower()
            try:
                return translation.get_supported_language_variant(tag)
            except LookupError:
                return None
    return None


class ShellLanguageCommand(BaseCommand):
    """A command merchants run: its help and what it prints in their shell's language
    (``LANG=de_DE.UTF-8 manage.py import_events …``), English where that is not shipped.
    ``description`` is its help, lazily translated; ``call_command`` keeps the language
    active where it is called."""

    description: Any = ""

    def run_from_argv(self, argv: list[str]) -> None:
        with translation.override(from_environment(os.environ) or default()):
            super().run_from_argv(argv)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        self.help = str(self.description)  # argparse takes plain text, in the language now
        return super().create_parser(prog_name, subcommand, **kwargs)
