"""A checkout step while the API's quota is paused (a 429's Retry-After): the buyer is told
how long to wait, beside the step they were on, with what they typed kept."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from checkout import session
from infra import budget
from infra import upstream as gm_module

from .web import BUYER_STEP, Shopper

PAUSE = 40


@pytest.fixture
def shopper(client, storefront_settings, gm, monkeypatch):
    gm_module._clients.clear()
    storefront_settings.UPSTREAM_BUDGET_PER_MINUTE = 600
    storefront_settings.UPSTREAM_SYNC_RESERVE = 0
    storefront_settings.UPSTREAM_BUDGET_BURST = 20
    _unpaused(storefront_settings)
    # As if the buyer took longer than a recent payload is kept: every step reads the order.
    monkeypatch.setattr(session, "SNAPSHOT_SECONDS", 0)
    yield Shopper(client, gm)
    _unpaused(storefront_settings)
    gm_module._clients.clear()


def _unpaused(settings) -> None:
    """The budget as new, in whichever store it is kept (this process, or Redis)."""
    budget.local.reset()
    key = budget.for_api(settings.GM_API_URL, settings.GM_API_KEY).key
    cache.delete_many([f"{key}:tat", f"{key}:paused"])


def _paused(settings) -> None:
    """The API answered 429 with a Retry-After of PAUSE seconds."""
    budget.for_api(settings.GM_API_URL, settings.GM_API_KEY).pause(PAUSE)


def _said_wait(html: str) -> int:
    found = re.search(r"We’re very busy right now\. Please wait (\d+) seconds", html)
    assert found, html
    return int(found.group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_a_step_during_a_pause_keeps_the_form_and_says_the_real_wait(
    shopper, storefront_settings, htmx
):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url = shopper.order_url()
    assert b'name="first_name"' in shopper.web.get(url).content
    _paused(storefront_settings)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = shopper.post(url, BUYER_STEP, **extra)
    assert response.status_code == 503
    assert 0 < int(response["Retry-After"]) <= PAUSE
    html = response.content.decode()
    assert PAUSE - 10 <= _said_wait(html) <= PAUSE
    assert 'value="Ada"' in html and 'value="ada@example.com"' in html
    assert 'name="step" value="cart"' in html  # the same step, to send again
    assert "We can’t load this right now" not in html
    if htmx:  # the step's area only: no second header or footer
        assert 'id="checkout"' in html and "site-header" not in html and "site-footer" not in html
    # Once the pause is over, the same form goes through.
    _unpaused(storefront_settings)
    assert shopper.post(url, BUYER_STEP).status_code == 302


@pytest.mark.django_db
def test_opening_a_step_during_a_pause_says_the_wait_beside_the_order(shopper, storefront_settings):
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url = shopper.order_url()
    assert shopper.web.get(url).status_code == 200
    _paused(storefront_settings)
    response = shopper.web.get(url)
    assert response.status_code == 503
    html = response.content.decode()
    assert PAUSE - 10 <= _said_wait(html) <= PAUSE
    assert 'name="first_name"' in html


def test_the_busy_notice_says_the_wait_it_was_given():
    from checkout import outcomes

    assert "wait 31 seconds" in outcomes.busy(30.2).message
    assert "wait a few seconds" in outcomes.busy(None).message
    assert "wait 1 second " in outcomes.busy(0.4).message


@pytest.mark.django_db
def test_without_a_copy_of_the_order_the_step_area_says_the_wait_and_offers_a_retry(
    shopper, storefront_settings, monkeypatch
):
    monkeypatch.setattr(session, "LAST_KNOWN_SECONDS", 0)
    shopper.add("Quick Ticket Night", {"Standard": 1})
    url = shopper.order_url()
    assert shopper.web.get(url).status_code == 200
    _paused(storefront_settings)
    response = shopper.post(url, BUYER_STEP, HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    html = response.content.decode()
    assert PAUSE - 10 <= _said_wait(html) <= PAUSE
    assert 'id="checkout"' in html and "site-header" not in html
    assert f'href="{url}"' in html  # try again


@pytest.mark.django_db
def test_the_cart_during_a_pause_shows_the_order_and_the_wait(shopper, storefront_settings):
    shopper.add("Quick Ticket Night", {"Standard": 2})
    assert b"Quick Ticket Night" in shopper.web.get("/cart/").content
    _paused(storefront_settings)
    response = shopper.web.get("/cart/")
    html = response.content.decode()
    assert PAUSE - 10 <= _said_wait(html) <= PAUSE
    assert "Your order is empty" not in html and "Quick Ticket Night" in html
