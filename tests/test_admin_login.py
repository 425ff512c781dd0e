"""The admin's sign-in: failed tries are limited by address and by username with waits that
grow (on a pinned clock: nothing here sleeps), and the admin can be kept to its own hosts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"
ADDRESS_A, ADDRESS_B, ADDRESS_C = "198.51.100.7", "203.0.113.9", "192.0.2.44"


@pytest.fixture
def admins(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # quick
    settings.ADMIN_LOGIN_FAILURES = settings.AXES_FAILURE_LIMIT = 3
    settings.ADMIN_LOGIN_DELAY = 60
    settings.ADMIN_LOGIN_MAX_DELAY = 3600
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    User.objects.create_superuser("ops", "ops@example.com", PASSWORD)


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2031, 5, 6, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def sign_in(username: str, password: str, address: str = ADDRESS_A, **extra):
    """One try from a fresh browser: (status, signed in)."""
    web = Client(REMOTE_ADDR=address, **extra)
    response = web.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, "_auth_user_id" in web.session


def test_the_nth_wrong_password_starts_a_wait_that_refuses_even_the_right_one(admins, clock):
    for _ in range(2):
        response, signed_in = sign_in("admin", "wrong")
        assert response.status_code == 200 and not signed_in
    third, _ = sign_in("admin", "wrong")
    assert third.status_code == 429 and third["Retry-After"] == "60"
    refused, signed_in = sign_in("admin", PASSWORD)
    assert refused.status_code == 429 and not signed_in
    page = refused.content.decode()
    assert 'role="alert"' in page and "Please wait about 1 minute" in page
    assert 'value="admin"' in page  # the username is kept in the form
    assert PASSWORD not in page
    clock.shift(59)
    assert sign_in("admin", PASSWORD)[0].status_code == 429
    clock.shift(1)
    response, signed_in = sign_in("admin", PASSWORD)
    assert response.status_code == 302 and signed_in


def test_waits_double_with_each_further_failure(admins, clock):
    for _ in range(3):
        sign_in("admin", "wrong")
    waits = []
    for _ in range(4):
        sign_in("admin", "wrong")  # refused unchecked: it does not lengthen the wait
        response, _ = sign_in("admin", PASSWORD)
        wait = int(response["Retry-After"])
        waits.append(wait)
        clock.shift(wait)
        response, _ = sign_in("admin", "wrong")  # checked again, and wrong
        assert response.status_code == 429
    assert waits == [60, 120, 240, 480]
    clock.shift(960 - 1)
    assert sign_in("admin", PASSWORD)[0].status_code == 429
    clock.shift(1)
    assert sign_in("admin", PASSWORD)[1]


def test_the_wait_stops_growing_at_the_longest(admins, clock, settings):
    settings.ADMIN_LOGIN_MAX_DELAY = 200
    for wait in (0, 0, 0, 60, 120, 200, 200):
        clock.shift(wait)
        sign_in("admin", "wrong")
    assert sign_in("admin", PASSWORD)[0]["Retry-After"] == "200"


def test_one_address_trying_many_usernames_is_limited(admins, clock):
    for username in ("admin", "ops", "root"):
        sign_in(username, "wrong", ADDRESS_A)
    # A username not tried yet, with its right password, from that address: refused.
    response, signed_in = sign_in("ops", PASSWORD, ADDRESS_A)
    assert response.status_code == 429 and not signed_in
    # From another address, the same accounts are fine.
    assert sign_in("ops", PASSWORD, ADDRESS_B)[1]
    assert sign_in("admin", PASSWORD, ADDRESS_B)[1]


def test_one_username_tried_from_many_addresses_is_limited(admins, clock):
    for address in (ADDRESS_A, ADDRESS_B, "192.0.2.1"):
        sign_in("admin", "wrong", address)
    response, signed_in = sign_in("admin", PASSWORD, ADDRESS_C)
    assert response.status_code == 429 and not signed_in
    # Other accounts are not held up, even from those addresses.
    assert sign_in("ops", PASSWORD, ADDRESS_A)[1]
    clock.shift(60)
    assert sign_in("admin", PASSWORD, ADDRESS_C)[1]


def test_a_forwarded_for_header_buys_no_new_address(admins, clock, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(3):
        sign_in(f"user{n}", "wrong", ADDRESS_A, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response, _ = sign_in("ops", PASSWORD, ADDRESS_A, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_behind_trusted_proxies_each_client_counts_apart(admins, clock, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for n in range(3):
        sign_in(f"user{n}", "wrong", proxy, HTTP_X_FORWARDED_FOR=ADDRESS_A)
    assert sign_in("ops", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ADDRESS_A)[0].status_code == 429
    assert sign_in("ops", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ADDRESS_B)[1]


def test_a_sign_in_clears_its_own_failures_only(admins, clock):
    sign_in("admin", "wrong", ADDRESS_A)
    sign_in("admin", "wrong", ADDRESS_B)
    assert sign_in("admin", PASSWORD, ADDRESS_A)[1]
    # The other address's failure at this username still counts: two more start a wait.
    sign_in("admin", "wrong", ADDRESS_B)
    sign_in("admin", "wrong", ADDRESS_C)
    assert sign_in("admin", PASSWORD, ADDRESS_A)[0].status_code == 429


def test_failures_leave_no_password_or_address_in_the_log(admins, clock, caplog):
    with caplog.at_level(logging.INFO):
        for _ in range(4):
            sign_in("admin", "hunter2-wrong")
    assert "login failure" in caplog.text  # logged, and masked
    assert "hunter2-wrong" not in caplog.text and ADDRESS_A not in caplog.text


# --- the admin's hosts --------------------------------------------------------------------


def test_the_admin_answers_on_its_own_hosts_only(admins, settings):
    settings.ADMIN_HOSTS = ["admin.example.test"]
    shop_host = Client(HTTP_HOST="tickets.example.test")
    for path in ("/admin/", "/admin/login/", "/admin/tenancy/merchant/"):
        page = shop_host.get(path)
        assert page.status_code == 404, path
        assert page["X-Frame-Options"] == "DENY"
    refused = shop_host.post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 404 and "_auth_user_id" not in shop_host.session
    assert shop_host.get("/healthz").status_code == 200  # the rest is served as before
    admin_host = Client(HTTP_HOST="admin.example.test:8443")
    assert admin_host.get("/admin/login/").status_code == 200
    signed_in = admin_host.post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert signed_in.status_code == 302 and admin_host.get("/admin/").status_code == 200


def test_without_admin_hosts_the_admin_answers_on_the_deployments_hosts(admins, settings):
    settings.ADMIN_HOSTS = []
    assert Client(HTTP_HOST="tickets.example.test").get("/admin/login/").status_code == 200


def test_a_sign_in_without_a_usable_address_is_still_answered(admins, clock):
    for _ in range(3):
        assert sign_in("admin", "wrong", address="")[0].status_code in (200, 429)
    assert sign_in("admin", PASSWORD, address="")[0].status_code == 429
