"""Django's sessions and CSRF, per merchant, with or without cookies.

On full pages each merchant has its own session cookie (its name and path carry the
merchant), and a session is only ever used for the merchant and mode it began in, so one
merchant's session can never open another's orders. A framed page has no cookie: its
session comes from the URL's reference (``tenancy.embed``), and its CSRF secret is kept in
that session.

Django's ``SessionMiddleware`` still loads, saves, expires and sets the cookie; this subclass
only says which cookie (its ``process_request``/``process_response`` hooks), and hands
Django's ``CsrfViewMiddleware`` (inside it) the secret kept in an embed session as if it
were the CSRF cookie.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_SESSION_KEY

from . import embed as embeds
from .current import Tenant, tenant_of

SCOPE_KEY = "_scope"


def cookie_name(tenant: Tenant) -> str:
    slug = tenant.shop.slug
    return settings.SESSION_COOKIE_NAME + (f"-{slug}" if slug else "")


def cookie_path(tenant: Tenant) -> str:
    return tenant.prefix if tenant.shop.slug else settings.SESSION_COOKIE_PATH


def scope(tenant: Tenant) -> str:
    return f"{'embed' if tenant.embed is not None else 'page'}:{tenant.shop.slug}"


class TenantSessionMiddleware(SessionMiddleware):
    # Django's MiddlewareMixin answers with what process_request returns; the stubs say None.
    def process_request(self, request: HttpRequest) -> HttpResponse | None:  # type: ignore[override]
        tenant = tenant_of(request)
        if tenant.embed is not None:
            # Never a first-party cookie's session, nor its deletion, inside a frame.
            request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
            refused = embeds.open_session(request, self.SessionStore)
            # The frame's CSRF secret, as Django's CSRF middleware reads it.
            request.COOKIES.pop(settings.CSRF_COOKIE_NAME, None)
            if secret := request.session.get(CSRF_SESSION_KEY):
                request.COOKIES[settings.CSRF_COOKIE_NAME] = secret
            return refused
        session = self.SessionStore(request.COOKIES.get(cookie_name(tenant)))
        if session.session_key:
            if session.get(SCOPE_KEY, scope(tenant)) != scope(tenant):
                session = self.SessionStore()  # begun for another merchant or mode: start afresh
            # Whose session it is says nothing about the page: only a view that reads it makes
            # the answer the buyer's own (Vary: Cookie, never shared).
            session.accessed = False
        request.session = session
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, embeds.SessionMoved):
            return embeds.moved(request)
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        tenant: Tenant | None = getattr(request, "tenant", None)
        session = getattr(request, "session", None)
        if tenant is None or session is None:
            return response
        if session.modified and not session.is_empty() and SCOPE_KEY not in session:
            session[SCOPE_KEY] = scope(tenant)
        if tenant.embed is not None:
            return self._framed(request, response, tenant)
        # Django's logic, told this merchant's cookie is the session cookie.
        default, name = settings.SESSION_COOKIE_NAME, cookie_name(tenant)
        cookies = request.COOKIES
        request.COOKIES = {k: v for k, v in cookies.items() if k != default}
        if name in cookies:
            request.COOKIES[default] = cookies[name]
        try:
            response = super().process_response(request, response)
        finally:
            request.COOKIES = cookies
        if default in response.cookies:  # set, or deleted: under this merchant's name and path
            morsel = response.cookies.pop(default)
            response.cookies[name] = morsel.value
            response.cookies[name].update({k: v for k, v in morsel.items() if v != ""})
            response.cookies[name]["path"] = cookie_path(tenant)
        return response

    def _framed(self, request: HttpRequest, response: HttpResponse, tenant: Tenant) -> HttpResponse:
        """No cookie leaves a frame: the CSRF secret goes into the session, and the session
        is stored (first under the key its reference names) without setting one."""
        session = request.session
        csrf = response.cookies.pop(settings.CSRF_COOKIE_NAME, None)
        if csrf is not None and session.get(CSRF_SESSION_KEY) != csrf.value:
            session[CSRF_SESSION_KEY] = csrf.value
        assert tenant.embed is not None
        stored_now = tenant.embed.unstored and session.modified and not session.is_empty()
        if stored_now and embeds.SESSION_KEY not in session:
            embeds.claim(request)
        response = super().process_response(request, response)
        response.cookies.pop(settings.SESSION_COOKIE_NAME, None)
        return response
