"""The offline Stripe the demo and the tests pay with takes cards as buyers type them."""

from __future__ import annotations

import httpx
from django.conf import settings


def test_a_card_number_typed_in_groups_is_taken(sandbox, stripe_url):
    assert sandbox.card_token("4242 4242 4242 4242").startswith("tok_")
    method = httpx.post(
        f"{stripe_url}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4000-0000-0000-0002",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        headers={"Authorization": f"Bearer {settings.SANDBOX['STRIPE_SECRET_KEY']}"},
        timeout=10,
    )
    assert method.status_code == 200, method.text
    assert method.json()["card"]["last4"] == "0002"
