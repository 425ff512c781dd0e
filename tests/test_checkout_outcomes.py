"""Every API error type, as the buyer meets it: real refusals from the sandbox where the
storefront can provoke them, and the one mapping (``checkout.outcomes``) for all of them."""

from __future__ import annotations

import logging

import pytest

from checkout import outcomes
from guestmanager import errors
from infra import upstream as gm_module

from .conftest import READ_KEY
from .helpers import load_replica
from .web import Shopper, address_form

BUYER_FACING = {
    errors.CheckoutNotAllowed: 409,
    errors.InvalidState: 409,
    errors.CannotModify: 409,
    errors.NotFound: 404,
    errors.Uneditable: 409,
    errors.RateLimitExceeded: 503,
    errors.ValidationError: 422,
    errors.TransportError: 503,
    errors.ServerError: 503,
    errors.UnexpectedResponse: 503,
    errors.InvalidPathParameter: 400,
}
OUR_FAULT = [
    errors.Unauthorized,
    errors.Forbidden,
    errors.RoutingError,
    errors.ParameterMissing,
    errors.UnpermittedParameters,
    errors.GuestCheckoutRequired,
]


def test_every_documented_error_type_has_an_outcome():
    covered = set(BUYER_FACING) | set(OUR_FAULT)
    assert set(errors.ERROR_TYPES.values()) <= covered


@pytest.mark.parametrize("cls", list(BUYER_FACING))
def test_buyer_facing_errors(cls):
    base = {"attribute": "base", "label": "Base", "code": "x", "message": "VIP is sold out."}
    body = {
        "type": getattr(cls, "error_type", ""),
        "message": "VIP is sold out.",
        "errors": {"attributes": [base]},
        "detail": {"errors": {"attributes": [base]}},
    }
    outcome = outcomes.for_error(cls("VIP is sold out.", status=400, body=body))
    assert outcome.status == BUYER_FACING[cls]
    assert outcome.message and "Base " not in outcome.message


@pytest.mark.parametrize("cls", OUR_FAULT)
def test_our_faults_say_sales_are_unavailable_and_log_only_the_type(cls, caplog):
    secret = "guest_token=abc123 key sk_live_secret"
    exc = cls(secret, status=400, body={"message": secret}, path="/orders/{id}")
    with caplog.at_level(logging.ERROR, logger="checkout"):
        outcome = outcomes.for_error(exc)
    assert outcome.status == 503 and "unavailable" in outcome.message
    assert secret not in outcome.message and "abc123" not in caplog.text
    assert cls.__name__ in caplog.text


def test_stock_gone_offers_a_new_order_and_names_what_is_gone():
    body = {
        "type": "checkout_not_allowed",
        "detail": {
            "errors": {
                "attributes": [
                    {
                        "attribute": "base",
                        "label": "Base",
                        "code": "invalid_inventory",
                        "message": "General Admission missing inventory.",
                    }
                ]
            }
        },
    }
    exc = errors.CheckoutNotAllowed("", status=400, body=body)
    lines = [{"name": "General Admission"}, {"name": "VIP"}]
    outcome = outcomes.for_error(exc, {"line_items": lines})
    assert outcome.start_over and outcome.reload and not outcome.nothing_left
    assert "no longer available: General Admission." in outcome.message
    assert "missing inventory" not in outcome.message and "Base" not in outcome.message
    alone = outcomes.for_error(exc, {"line_items": lines[:1]})
    assert alone.nothing_left and not alone.start_over
    assert "missing inventory" not in outcomes.for_error(exc).message


@pytest.fixture
def shopper(client, storefront_settings, gm):
    gm_module._clients.clear()
    yield Shopper(client, gm)
    gm_module._clients.clear()


@pytest.mark.django_db
def test_a_key_that_cannot_write_keeps_the_choice_and_says_sales_are_off(
    shopper, storefront_settings, sandbox
):
    from tenancy.shop import default_shop

    shopper.event_page("Quick Ticket Night")
    storefront_settings.GM_API_KEY = READ_KEY  # reads work, writes are forbidden (403)
    load_replica(sandbox, default_shop())  # the sync reads with it too
    response = shopper.add("Quick Ticket Night", {"Standard": 2})
    assert response.status_code == 503
    html = response.content.decode()
    assert "Ticket sales are unavailable right now" in html
    assert '<option value="2" selected>' in html


@pytest.mark.django_db
def test_a_wrong_key_is_not_the_buyers_fault(shopper, storefront_settings):
    shopper.event_page("Quick Ticket Night")
    storefront_settings.GM_API_KEY = "not-a-key"  # 401 from the API: nothing loads
    response = shopper.add("Quick Ticket Night", {"Standard": 1})
    assert response.status_code == 503
    assert "We can’t load this right now" in response.content.decode()


@pytest.mark.django_db
def test_the_apis_rate_limit_keeps_what_was_typed(shopper, sandbox):
    url = shopper.checkout_to_address("Quick Ticket Night", "Standard")
    page = shopper.web.get(url).content.decode()
    form = address_form(page, shopper.token)
    sandbox.faults(rate_limit=1, rate_window=30)
    try:
        sandbox.client().list_countries()  # uses up the window for this address
        response = shopper.web.post(url, form)
    finally:
        sandbox.faults(reset=True)
    assert response.status_code == 503
    html = response.content.decode()
    assert "We’re very busy right now" in html and 'value="1 Main St"' in html
