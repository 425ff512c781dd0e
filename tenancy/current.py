"""The merchant a request (or a job started by one) is for: ``request.tenant``, and the same
tenant as ``current()`` for code that has no request.

A ``Tenant`` is made by ``TenantMiddleware`` and owns the request's script prefix: the
merchant's path (``/m/<slug>/``, or nothing on its own domain) and, for a framed page, the
embed part with the session reference its links carry (``…/embed/s/<token>/``). Every
``reverse()`` and ``{% url %}`` then keeps the buyer where they are.

Work that outlives the request (a cache refresh, a resend) runs with the tenant it was
started for: start it with ``in_background``, which copies this context into the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar, Token, copy_context
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import set_script_prefix
from django_htmx.middleware import HtmxDetails

from .shop import Shop, default_shop


@dataclass
class Embed:
    """A framed page: which host page (origin) and frame it serves, and its session
    reference (``token``), which every link of the frame carries."""

    base_prefix: str  # the script prefix up to and including "embed/"
    parent_origin: str = ""
    frame: str = ""
    token: str = ""
    # The reference the request came with (None: the frame's first request, with none yet).
    token_in_url: str | None = None
    unstored: bool = False  # the session the reference names is not stored yet
    theme: str = ""  # the host page's data-theme, carried in the reference ("": the merchant's)

    @property
    def prefix(self) -> str:
        return f"{self.base_prefix}s/{self.token}/" if self.token else self.base_prefix

    def entry_query(self) -> str:
        """How a new session starts in this frame: ``?origin=…&frame=…[&theme=…]``."""
        query = {"origin": self.parent_origin, "frame": self.frame}
        if self.theme:
            query["theme"] = self.theme
        return urlencode(query)


@dataclass
class Tenant:
    shop: Shop
    prefix: str  # the merchant's pages start here (the script prefix without any embed part)
    embed: Embed | None = None
    language: str = ""  # the language the URL names (part of ``prefix``), if any
    _previous_prefix: str = "/"

    @property
    def merchant_prefix(self) -> str:
        """The merchant's pages in no particular language (``prefix`` without the URL's)."""
        return self.prefix.removesuffix(f"{self.language}/") if self.language else self.prefix

    @property
    def script_prefix(self) -> str:
        return self.embed.prefix if self.embed is not None else self.prefix

    def site_path(self, url_path: str) -> str:
        """A path of these pages (as ``reverse()`` gives it) on the merchant's full site: a
        framed page's own URLs carry its session's reference, and never leave the frame."""
        return self.prefix + url_path.removeprefix(self.script_prefix)

    def enter(self, previous_prefix: str) -> Token[Tenant | None]:
        """Serve a request: its URLs carry this tenant's prefix, and ``current()`` is it."""
        self._previous_prefix = previous_prefix
        set_script_prefix(self.script_prefix)
        return _current.set(self)

    def leave(self, token: Token[Tenant | None]) -> None:
        _current.reset(token)
        set_script_prefix(self._previous_prefix)  # a thread's next request starts afresh

    def carry_embed_token(self, token: str) -> None:
        """From here on the frame's links carry this session reference."""
        if self.embed is None:
            raise ValueError("only a framed page carries a session reference")
        self.embed.token = token
        set_script_prefix(self.script_prefix)


class TenantRequest(HttpRequest):
    """A request as the storefront's views receive it (for type checking)."""

    tenant: Tenant
    htmx: HtmxDetails


def tenant_of(request: HttpRequest) -> Tenant:
    """The tenant ``TenantMiddleware`` gave ``request``, where Django hands over a plain
    ``HttpRequest`` (the middleware hooks)."""
    tenant = getattr(request, "tenant", None)
    if not isinstance(tenant, Tenant):
        raise AttributeError("the request has no tenant: TenantMiddleware has not run")
    return tenant


_current: ContextVar[Tenant | None] = ContextVar("tenant", default=None)


def current_tenant() -> Tenant | None:
    return _current.get()


def current() -> Shop:
    """The merchant being served (the default one outside any request)."""
    tenant = _current.get()
    return tenant.shop if tenant is not None else default_shop()


def is_framed() -> bool:
    tenant = _current.get()
    return tenant is not None and tenant.embed is not None


def in_background(job: Callable[[], Any], *, name: str) -> threading.Thread:
    """Run ``job`` on a new daemon thread with this context (the tenant, the upstream
    priority): background work serves the merchant it was started for."""
    context = copy_context()
    thread = threading.Thread(target=context.run, args=(job,), name=name, daemon=True)
    thread.start()
    return thread


def bound_to_context(job: Callable[[], Any]) -> Callable[[], Any]:
    """``job`` made to run with this context wherever it is called (a worker pool)."""
    context = copy_context()
    return lambda: context.run(job)
