"""The admin on its own hosts (``ADMIN_HOSTS``): a deployment can keep it off the hosts its
shops are served on. Unset, the admin answers on every host but merchants' own domains."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve


class AdminHostMiddleware:
    """Answers 404 for the admin's pages on any other host. Inside the framing policies, so
    that 404 refuses framing like any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.ADMIN_HOSTS and _is_admin(request) and not _on_admin_host(request):
            raise Http404("No such page")
        return self.get_response(request)


def _on_admin_host(request: HttpRequest) -> bool:
    try:
        host = request.get_host()
    except DisallowedHost:
        return False
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ADMIN_HOSTS)


def _is_admin(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return "admin" in match.namespaces
