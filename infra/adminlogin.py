"""Failed admin sign-ins, by address and by username, with waits that grow.

django-axes records each failure (in the database, so every process and instance sees the
same count). After ``ADMIN_LOGIN_FAILURES`` failures from one address, or for one username,
every further try waits ``ADMIN_LOGIN_DELAY`` seconds after the last failure, twice as long
after each further one, at most ``ADMIN_LOGIN_MAX_DELAY``; a try during a wait is refused
unchecked, even with the right password, and not counted (hammering does not lengthen it).
Failures are forgotten a day after the last one, and a sign-in clears those of its own
address and username together.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .clientip import client_ip


def client_address(request: HttpRequest) -> str | None:
    """The client as our own trusted proxies name it (``AXES_CLIENT_IP_CALLABLE``); None
    without a usable address (the database column holds addresses only)."""
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def delay(failures: int) -> float:
    """Seconds to wait after the last of ``failures`` failures."""
    over = failures - settings.ADMIN_LOGIN_FAILURES
    if over < 0:
        return 0.0
    return float(
        min(settings.ADMIN_LOGIN_DELAY * 2 ** min(over, 32), settings.ADMIN_LOGIN_MAX_DELAY)
    )


class GrowingDelayHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """axes' database handler, locked while a wait is running rather than from the Nth
    failure until the failures are forgotten."""

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        return self.wait(request, credentials) > 0

    def wait(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> float:
        """Seconds until this address and this username may try again (0: now)."""
        longest = 0.0
        now = request.axes_attempt_time  # type: ignore[attr-defined]
        for attempts in self.get_user_attempts(request, credentials):
            found = attempts.aggregate(
                failures=Sum("failures_since_start"), last=Max("attempt_time")
            )
            if found["failures"]:
                ends = found["last"] + timedelta(seconds=delay(found["failures"]))
                longest = max(longest, (ends - now).total_seconds())
        return longest

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        # Only this address's tries at this username: a sign-in must not wipe out what an
        # attacker elsewhere built up against the same username, nor this address's tries
        # at other usernames.
        count: int
        count, _deleted = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        ).delete()
        return count


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None,
    credentials: dict[str, Any] | None,
) -> HttpResponse:
    """The sign-in page again, saying how long to wait (``AXES_LOCKOUT_CALLABLE``)."""
    wait = max(1, math.ceil(GrowingDelayHandler().wait(request, credentials)))
    minutes = max(1, math.ceil(wait / 60))
    message = ngettext(
        "Too many failed sign-ins. Please wait about %(minutes)d minute and try again.",
        "Too many failed sign-ins. Please wait about %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}
    username = get_client_username(request, credentials) or ""
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": AdminAuthenticationForm(request, initial={"username": username}),
        "next": LoginView().get_redirect_url(request) if request.method == "POST" else "",
        "lockout_message": message,
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
