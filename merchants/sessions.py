"""Sessions and CSRF per merchant, with or without cookies.

On full pages each merchant has its own session cookie (its name and path carry the
merchant), and a session is only ever used for the merchant and mode it began in, so one
merchant's session can never open another's orders. In embed mode there is no cookie: the
session comes from the URL's signed reference (``embed``), and the CSRF secret is kept in
that session instead of a cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CSRF_SESSION_KEY, CsrfViewMiddleware
from django.shortcuts import render
from django.urls import get_script_prefix, set_script_prefix
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from . import embed as embeds
from .shop import Shop

SCOPE_KEY = "_scope"


def cookie_name(shop: Shop) -> str:
    return settings.SESSION_COOKIE_NAME + (f"-{shop.slug}" if shop.slug else "")


def cookie_path(request: HttpRequest) -> str:
    return get_script_prefix() if request.shop.slug else settings.SESSION_COOKIE_PATH


def scope(request: HttpRequest) -> str:
    return f"{'embed' if request.embed is not None else 'page'}:{request.shop.slug}"


class MerchantSessionMiddleware(SessionMiddleware):
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        super().__init__(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.embed is not None:
            refused = self._open_embed(request)
            if refused is not None:
                return refused
        else:
            request.session = self.SessionStore(request.COOKIES.get(cookie_name(request.shop)))
            self._keep_in_scope(request)
        response = self.get_response(request)
        return self._save(request, response)

    # --- embed ----------------------------------------------------------------------------

    def _open_embed(self, request: HttpRequest) -> HttpResponse | None:
        token = request.embed_token
        if token is None:
            return self._enter(request)
        data = embeds.read(token)
        if data is None or not request.shop.allows_origin(data["o"]):
            return self._ended(request, embeds.read_expired(token))
        request.embed = replace(request.embed, parent_origin=data["o"], frame=data["f"])
        stored = self.SessionStore(data["k"])
        if stored.exists(data["k"]):
            request.session = stored
            if not embeds.still_good(request, request.shop.slug):
                return self._ended(request, data)
        elif embeds.usable_unstored(token, data, request.shop.namespace):
            request.session = embeds.new_session(self.SessionStore, data["k"])
            request.embed_unstored = True
        else:
            return self._ended(request, data)
        request.embed = replace(request.embed, token=token)
        set_script_prefix(request.embed.prefix)
        return None

    def _enter(self, request: HttpRequest) -> HttpResponse | None:
        """A frame's first request: the host page's origin must be one the merchant allows."""
        origin = request.GET.get("origin", "")
        frame = embeds.frame_id(request.GET.get("frame", ""))
        request.session = self.SessionStore()
        if request.path_info == "/ended":
            return None
        if not request.shop.allows_origin(origin) or frame is None:
            return render(request, "merchants/embed_refused.html", status=403)
        request.embed = replace(request.embed, parent_origin=origin, frame=frame)
        request.session = embeds.new_session(self.SessionStore)
        embeds.start(request, request.shop.slug, embeds.prefill_from(request.GET))
        return None

    def _ended(self, request: HttpRequest, data: dict | None) -> HttpResponse:
        """An expired or foreign reference: say so, and offer a fresh start in the same frame."""
        request.session = self.SessionStore()
        query = ""
        if (
            data
            and request.shop.allows_origin(data.get("o", ""))
            and embeds.frame_id(data.get("f", ""))
        ):
            query = "?" + urlencode({"origin": data["o"], "frame": data["f"]})
        url = f"{request.embed.base_prefix}ended{query}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        response = HttpResponseRedirect(url)
        if request.method != "GET":
            response.status_code = 303  # whatever was posted is not repeated there
        return response

    def _store_new(self, request: HttpRequest) -> None:
        """The frame's session, stored for the first time under the key its links carry."""
        if embeds.SESSION_KEY not in request.session:
            embeds.claim(request, request.shop.slug)
        try:
            request.session.save(must_create=True)
        except CreateError:  # a request sent alongside this one stored it first
            request.session.save()

    # --- full pages -------------------------------------------------------------------------

    def _keep_in_scope(self, request: HttpRequest) -> None:
        """A session begun for another merchant or mode is not this one's: start afresh."""
        session = request.session
        if session.session_key and session.get(SCOPE_KEY, scope(request)) != scope(request):
            request.session = self.SessionStore()

    # --- saving -----------------------------------------------------------------------------

    def _save(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None:
            return response
        framed = request.embed is not None
        name = cookie_name(request.shop)
        empty = session.is_empty()
        if not framed and name in request.COOKIES and empty:
            response.delete_cookie(name, path=cookie_path(request))
            patch_vary_headers(response, ("Cookie",))
            return response
        if session.accessed and not framed:
            patch_vary_headers(response, ("Cookie",))
        if not session.modified or empty or response.status_code >= 500:
            return response
        if SCOPE_KEY not in session:
            session[SCOPE_KEY] = scope(request)
        try:
            if framed and getattr(request, "embed_unstored", False):
                self._store_new(request)
            else:
                session.save()
        except UpdateError as exc:
            raise SessionInterrupted(
                "The session was deleted before the request finished."
            ) from exc
        if not framed:
            max_age = session.get_expiry_age()
            response.set_cookie(
                name,
                session.session_key,
                max_age=max_age,
                expires=http_date(time.time() + max_age),
                path=cookie_path(request),
                secure=settings.SESSION_COOKIE_SECURE or None,
                httponly=True,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        return response


class MerchantCsrfMiddleware(CsrfViewMiddleware):
    """CSRF as usual on full pages; in embed mode its secret lives in the embed session, so
    a form is only good for the frame (and session) it was rendered in."""

    def _get_secret(self, request):
        if getattr(request, "embed", None) is None:
            return super()._get_secret(request)
        return request.session.get(CSRF_SESSION_KEY)

    def _set_csrf_cookie(self, request, response):
        if getattr(request, "embed", None) is None:
            return super()._set_csrf_cookie(request, response)
        if request.session.get(CSRF_SESSION_KEY) != request.META["CSRF_COOKIE"]:
            request.session[CSRF_SESSION_KEY] = request.META["CSRF_COOKIE"]
