"""The host page's attributes on the real storefront, across origins in Chromium: a
placeholder a single-page site adds later, with ``data-items`` chosen in the frame's event
page, ``data-coupon`` applied when the order is made, and the merchant's logo in the frame."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import event_named, variant
from .test_browser_embed import (  # noqa: F401 (fixtures)
    contexts,
    host,
    one_request_at_a_time,
    shop,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVENT = "Sandbox Showcase"


def test_items_and_coupon_from_the_host_page_reach_the_order(host, gm):  # noqa: F811
    page = host.page
    event = event_named(gm, EVENT)
    ga = variant(gm, EVENT, "General admission")
    page.evaluate(
        """([event, items]) => {
            const view = document.createElement('section');
            view.id = 'later';
            const div = document.createElement('div');
            Object.assign(div.dataset, {storefront: '', merchant: 'harbour', event,
                items, coupon: 'SAVE10', title: 'Showcase'});
            view.appendChild(div);
            document.querySelector('main').appendChild(view);
        }""",
        [str(event["id"]), f"{ga}:3"],
    )
    host.wait_event("storefront:ready", "later")
    frame = host.frame("#later iframe")
    select = frame.locator(f"#qty-{ga}")
    expect(select).to_have_value("3")
    logo = frame.locator("header.embed-header img.embed-logo")
    expect(logo).to_be_visible()
    assert logo.get_attribute("alt") == "Harbour Lights"

    frame.get_by_role("button", name="Add to order").click()
    host.wait_event("cart:updated", "later", "d.count === 3")
    expect(frame.get_by_text("Promo code SAVE10 applied.")).to_be_visible()
    assert host.errors == []
