"""Server-rendered flows through the real sandbox, without a browser (the no-JS path)."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse

from .helpers import eventually, variant
from .web import BUYER_STEP, address_form, csrf, payment


@pytest.fixture
def web(client, storefront_settings):
    return client


@pytest.mark.django_db
def test_catalog_list_and_event_page(web, gm):
    page = web.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sandbox Showcase" in html
    assert "Load more events" in html
    showcase = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    detail = web.get(f"/events/{showcase['id']}/", follow=True)
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "application/ld+json" in body and '"@type": "Event"' in body
    assert 'name="qty-' in body


@pytest.mark.django_db
def test_no_js_checkout_to_confirmation(web, gm, sandbox):
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    ga = variant(gm, "Sandbox Showcase", "General admission")
    page = web.get(f"/events/{event['id']}/{event['slug']}/")
    token = csrf(page)
    added = web.post(
        "/order/add", {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{ga}": "2"}
    )
    assert added.status_code == 302 and added["Location"] == "/cart/"
    cart = web.get("/cart/")
    order_id = int(re.search(rb"/orders/(\d+)/", cart.content).group(1))
    assert b"guest_token" not in cart.content

    url = f"/orders/{order_id}/"
    step = web.get(url)
    assert b'name="step" value="cart"' in step.content
    bad = web.post(
        url,
        {"csrfmiddlewaretoken": token, **BUYER_STEP, "last_name": "", "email": "nope"},
    )
    assert bad.status_code == 422
    assert b'value="Ada"' in bad.content  # what was typed stays
    ok = web.post(
        url,
        {"csrfmiddlewaretoken": token, **BUYER_STEP, "phone_number": ""},
    )
    assert ok.status_code == 302
    tickets_page = web.get(url)
    ids = [int(i) for i in re.findall(rb'name="t(\d+)-name"', tickets_page.content)]
    assert len(ids) == 2
    missing = web.post(
        url, {"csrfmiddlewaretoken": token, "step": "tickets", f"t{ids[0]}-name": "Bo"}
    )
    assert missing.status_code == 422
    assert b'value="Bo"' in missing.content
    done = web.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "step": "tickets",
            f"t{ids[0]}-name": "Bo",
            f"t{ids[1]}-keep": "on",
        },
    )
    assert done.status_code == 302
    address_page = web.get(url)
    resp = web.post(url, address_form(address_page.content.decode(), token))
    assert resp.status_code == 302, resp.content[:2000]
    form_page = web.get(url)
    radios = re.findall(rb'name="(a\d+)" value="(\d+)"', form_page.content)
    texts = re.findall(rb'name="(a\d+)" maxlength', form_page.content)
    data = {"csrfmiddlewaretoken": token, "step": "form"}
    for name, value in radios:
        data.setdefault(name.decode(), value.decode())
    for name in texts:
        data[name.decode()] = "No"
    assert web.post(url, data).status_code == 302
    pay_page = web.get(url)
    assert b'id="payment-form"' in pay_page.content
    assert b"pk_test_sandbox" in pay_page.content
    card = sandbox.card_token()
    paid = web.post(
        url,
        {"csrfmiddlewaretoken": token, **payment(card)},
    )
    assert paid.status_code == 302

    def settled() -> HttpResponse | None:
        page = web.get(url)
        return page if b"Processing your payment" not in page.content else None

    page = eventually(settled, "the payment settled")
    assert "You’re going!" in page.content.decode()
    assert b"PDF ticket" in page.content
    ics = web.get(f"/orders/{order_id}/calendar.ics")
    assert ics["Content-Type"] == "text/calendar" and b"BEGIN:VEVENT" in ics.content


@pytest.mark.django_db
def test_add_errors_appear_beside_the_registration_type(web, gm):
    event = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
    vip = variant(gm, "Sandbox Showcase", "VIP")
    page = web.get(f"/events/{event['id']}/{event['slug']}/")
    token = csrf(page)
    response = web.post(
        "/order/add", {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{vip}": "9"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="err-{vip}"' in html and "VIP: choose between 1 and 4." in html
    assert f'aria-describedby="err-{vip}"' in html
    empty = web.post("/order/add", {"csrfmiddlewaretoken": token, "event": event["id"]})
    assert empty.status_code == 422 and "Choose how many tickets" in empty.content.decode()


@pytest.mark.django_db
def test_waitlist_and_reservation_confirmations(web, gm):
    for name, type_name, heading in [
        ("Waitlist Gala", "Waitlist", "You’re on the waitlist"),
        ("Presale Concert", "Reserve a seat", "Your reservation is confirmed"),
    ]:
        holder: dict = {}
        url = _checkout_to(web, gm, holder, name, type_name)
        body, token = web.get(url).content.decode(), holder["csrf"]
        if 'value="address"' in body:
            response = web.post(url, address_form(body, token), follow=True)
            body = response.content.decode()
        assert heading in body, name


def _checkout_to(web, gm, token_holder: dict, event_name: str, type_name: str) -> str:
    event = next(e for e in gm.list_events(filters={"name": event_name}))
    v = variant(gm, event_name, type_name)
    page = web.get(f"/events/{event['id']}/{event['slug']}/")
    token = token_holder["csrf"] = csrf(page)
    web.post("/order/add", {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{v}": "1"})
    cart = web.get("/cart/")
    url = re.search(rb'href="(/orders/\d+/)"', cart.content).group(1).decode()
    web.post(url, {"csrfmiddlewaretoken": token, **BUYER_STEP})
    return url


@pytest.mark.django_db
def test_lost_reply_on_a_step_keeps_the_data_and_recovers(web, gm, sandbox, storefront_settings):
    holder: dict = {}
    url = _checkout_to(web, gm, holder, "Quick Ticket Night", "Standard")
    body = web.get(url).content.decode()
    form = address_form(body, holder["csrf"])
    storefront_settings.GM_READ_TIMEOUT = 0.3
    from infra import upstream as gm_module

    gm_module._clients.clear()
    sandbox.faults(write_reply_delay_ms=800)
    try:
        lost = web.post(url, form)
    finally:
        sandbox.faults(reset=True)
        storefront_settings.GM_READ_TIMEOUT = 10
        gm_module._clients.clear()
    assert lost.status_code == 503
    text = lost.content.decode()
    assert "couldn’t reach the ticketing service" in text
    assert 'value="1 Main St"' in text  # nothing typed is lost
    order_id = int(url.strip("/").split("/")[-1])
    eventually(lambda: sandbox.order(order_id)["state"] != "address", "the write landed upstream")
    retry = web.post(url, form)  # the order has moved on: show where it really is
    assert retry.status_code in (302, 409)
    assert "Payment" in web.get(url).content.decode()


def _pay_with_the_reply_given_up(web, gm, sandbox, storefront_settings, **faults):
    """Check out to the payment step, then pay while the sandbox has ``faults`` and the
    storefront waits 0.5 s for a reply: (checkout URL, order id, the payment's answer)."""
    holder: dict = {}
    url = _checkout_to(web, gm, holder, "Quick Ticket Night", "Standard")
    body = web.get(url).content.decode()
    web.post(url, address_form(body, holder["csrf"]))
    assert b"payment-form" in web.get(url).content
    order_id = int(url.strip("/").split("/")[-1])
    storefront_settings.GM_READ_TIMEOUT = 0.5
    from infra import upstream as gm_module

    gm_module._clients.clear()
    sandbox.faults(**faults)
    try:
        response = web.post(
            url,
            {"csrfmiddlewaretoken": holder["csrf"], **payment(sandbox.card_token())},
        )
    finally:
        sandbox.faults(reset=True)
        storefront_settings.GM_READ_TIMEOUT = 10
        gm_module._clients.clear()
    return url, order_id, response


@pytest.mark.django_db
def test_lost_reply_on_payment_is_never_resubmitted(web, gm, sandbox, storefront_settings):
    url, order_id, response = _pay_with_the_reply_given_up(
        web, gm, sandbox, storefront_settings, write_reply_delay_ms=1500
    )
    # The reply was lost; the storefront re-read the order and carries on from there.
    assert response.status_code == 302
    page = web.get(url).content.decode()
    assert "Processing your payment" in page or "You’re going!" in page
    assert len(sandbox.payments(order_id)) == 1
    statuses: list[int] = []

    def swapped() -> HttpResponse | None:
        polled = web.get(f"{url}poll?n={len(statuses)}", HTTP_HX_REQUEST="true")
        statuses.append(polled.status_code)
        return polled if polled.status_code == 286 else None  # htmx stops and swaps it in

    polled = eventually(swapped, "the poll swapped in the settled order")
    assert set(statuses[:-1]) <= {200}
    assert "You’re going!" in polled.content.decode()


@pytest.mark.django_db
def test_a_payment_the_api_applies_after_the_reply_was_given_up_on_is_found(
    web, gm, sandbox, storefront_settings
):
    # The API takes 1.2 s to apply the payment; the storefront gives up on the reply at 0.5.
    url, order_id, response = _pay_with_the_reply_given_up(
        web, gm, sandbox, storefront_settings, write_apply_delay_ms=1200
    )
    assert response.status_code == 302  # it looked again until the payment showed
    page = web.get(url).content.decode()
    assert "Processing your payment" in page or "You’re going!" in page
    assert len(sandbox.payments(order_id)) == 1


@pytest.mark.django_db
def test_shipped_items_ask_for_a_shipping_address(web, gm):
    holder: dict = {}
    url = _checkout_to(web, gm, holder, "Poster Print Night", "Ticket + signed poster (shipped)")
    body = web.get(url).content.decode()
    assert "Shipping address" in body and 'name="ship-address1"' in body
    form = address_form(body, holder["csrf"])
    form.update({k.replace("bill-", "ship-"): v for k, v in form.items() if k.startswith("bill")})
    assert web.post(url, form).status_code == 302
    # Delivery confirms the shipping address given with the billing one, without asking again.
    delivery = web.get(url).content.decode()
    assert 'value="delivery"' in delivery and 'name="ship-address1"' not in delivery
    assert "We’ll ship to:" in delivery and "1 Main St" in delivery
    assert f'href="{url}?edit=address"' in delivery
    confirm = {"csrfmiddlewaretoken": holder["csrf"], "step": "delivery"}
    assert web.post(url, confirm).status_code == 302
    assert "payment-form" in web.get(url).content.decode()


@pytest.mark.django_db
def test_cart_quantity_and_remove(web, gm):
    event = next(e for e in gm.list_events(filters={"name": "Quick Ticket Night"}))
    v = variant(gm, "Quick Ticket Night", "Standard")
    token = csrf(web.get(f"/events/{event['id']}/{event['slug']}/"))
    web.post("/order/add", {"csrfmiddlewaretoken": token, "event": event["id"], f"qty-{v}": "2"})
    cart = web.get("/cart/").content.decode()
    line = re.search(r'name="line" value="(\d+)"', cart).group(1)
    hx = {"HTTP_HX_REQUEST": "true"}
    changed = web.post(
        "/cart/",
        {"csrfmiddlewaretoken": token, "action": "quantity", "line": line, "quantity": "3"},
        **hx,
    )
    assert changed.status_code == 200 and '<option value="3" selected>' in changed.content.decode()
    too_many = web.post(
        "/cart/",
        {"csrfmiddlewaretoken": token, "action": "quantity", "line": line, "quantity": "50"},
        **hx,
    )
    assert too_many.status_code == 422
    assert "Standard: choose between 1 and 10." in too_many.content.decode()
    bad = web.post(
        "/cart/",
        {"csrfmiddlewaretoken": token, "action": "quantity", "line": line, "quantity": "lots"},
        **hx,
    )
    assert bad.status_code == 422
    removed = web.post(
        "/cart/", {"csrfmiddlewaretoken": token, "action": "remove", "line": line}, **hx
    )
    assert "Your order is empty" in removed.content.decode()


@pytest.mark.django_db
def test_adding_after_an_unresumable_expiry_keeps_what_is_left_and_says_what_is_gone(
    web, gm, sandbox
):
    night = next(e for e in gm.list_events(filters={"name": "Quick Ticket Night"}))
    last = variant(gm, "Quick Ticket Night", "Last seats")
    standard = variant(gm, "Quick Ticket Night", "Standard")
    sandbox.set_stock(last, 2)
    try:
        token = csrf(web.get(f"/events/{night['id']}/{night['slug']}/"))
        web.post(
            "/order/add",
            {"csrfmiddlewaretoken": token, "event": night["id"], f"qty-{last}": "2"}
            | {f"qty-{standard}": "1"},
        )
        old_id = int(re.search(r'href="/orders/(\d+)/"', web.get("/cart/").content.decode())[1])
        sandbox.expire(old_id)
        sandbox.set_stock(last, 0)

        showcase = next(e for e in gm.list_events(filters={"name": "Sandbox Showcase"}))
        ga = variant(gm, "Sandbox Showcase", "General admission")
        added = web.post(
            "/order/add",
            {"csrfmiddlewaretoken": token, "event": showcase["id"], f"qty-{ga}": "1"},
            follow=True,
        )
        html = added.content.decode()
        assert added.status_code == 200
        assert "no longer available: Last seats" in html and 'role="alert"' in html
        new_id = int(re.search(r'href="/orders/(\d+)/"', html)[1])
        assert new_id != old_id
        lines = {li["name"]: li["quantity"] for li in sandbox.order(new_id)["line_items"]}
        assert lines == {"General admission": 1, "Standard": 1}
        assert web.get(f"/orders/{old_id}/").status_code == 404  # the old order is let go
    finally:
        sandbox.set_stock(last, 2)
