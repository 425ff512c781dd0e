"""Resend my tickets (/tickets/resend/): one answer whether or not the details match, the
resend done after the answer, rate limits per address and per email."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from django.template.loader import render_to_string
from django.test import Client

from merchant_tools import resend

from .helpers import BUYER, variant
from .test_embed_sessions import Frame
from .test_merchants import make_merchant, merchants  # noqa: F401
from .web import csrf

pytestmark = pytest.mark.django_db

URL = "/tickets/resend/"


def completed_order(gm, email: str, quantity: int = 2) -> dict:
    line = {"variant_id": variant(gm, "Free Community Meetup", "RSVP"), "quantity": quantity}
    order = gm.create_order(currency="USD", line_items=[line], **{**BUYER, "email": email})
    done = gm.checkout_next(order["id"], order["guest_token"])
    assert done["state"] == "complete"
    return done


def sent_at(gm, order: dict) -> list[str]:
    return [gm.get_ticket(t["id"])["dispatched_at"] for t in order["tickets"]]


def unique_email() -> str:
    return f"buyer-{uuid.uuid4().hex[:8]}@example.com"


class Recorder:
    """Stands in for the resend worker pool: keeps the jobs so a test runs them later."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], int]] = []

    def submit(self, job: Callable[[], int]) -> None:
        self.jobs.append(job)

    def run(self) -> list[int]:
        done, self.jobs = [job() for job in self.jobs], []
        return done


@pytest.fixture
def recorder(monkeypatch, storefront_settings) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(resend, "dispatcher", recorder)
    return recorder


def post(client: Client, number: str, email: str, path: str = URL):
    return client.post(path, {"order_number": number, "email": email})


def without_tokens(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


def test_the_page_is_a_labelled_form_linked_from_the_footer(storefront_settings):
    web = Client()
    page = web.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert '<label for="id_order_number">Order number' in body
    assert '<label for="id_email">Email' in body
    assert re.search(
        r'<input type="email" name="email"[^>]*autocomplete="email"[^>]*required', body
    )
    assert re.search(r'name="order_number"[^>]*pattern="[^"]+"[^>]*required', body)
    assert 'aria-describedby="id_order_number_helptext"' in body
    home = web.get("/")
    assert re.search(rb'<footer class="site-footer">.*href="/tickets/resend/"', home.content, re.S)


def test_the_confirmation_page_links_to_it():
    html = render_to_string(
        "checkout/steps/complete.html",
        {"order": {"id": 7, "number": "GMABC123", "email": "a@example.com"}, "tickets": []},
    )
    assert 'href="/tickets/resend/">Resend your tickets</a>' in html


def test_same_answer_whether_or_not_the_details_match(gm, recorder):
    email = unique_email()
    mine = completed_order(gm, email)
    other = completed_order(gm, unique_email())
    before_mine, before_other = sent_at(gm, mine), sent_at(gm, other)
    answers = [
        post(Client(), mine["number"], email),  # matches
        post(Client(), other["number"], email),  # a real order, not this email
        post(Client(), "GMNOSUCHORDER1", email),  # no such order
        post(Client(), mine["number"], unique_email()),  # the order, another email
    ]
    assert {a.status_code for a in answers} == {200}
    bodies = {without_tokens(a.content) for a in answers}
    assert len(bodies) == 1, "the answer must not depend on a match"
    assert "If that order number and email match a completed order" in bodies.pop()
    # Nothing was looked up before answering: the work is queued, one job per request.
    assert len(recorder.jobs) == 4 and sent_at(gm, mine) == before_mine
    assert recorder.run() == [2, 0, 0, 0]
    after = sent_at(gm, mine)
    assert all(a > b for a, b in zip(after, before_mine, strict=True))
    assert sent_at(gm, other) == before_other


def test_order_number_and_email_are_read_loosely(gm, recorder):
    email = unique_email()
    order = completed_order(gm, email, quantity=1)
    answer = post(Client(), f"  {order['number'].lower()} ", email.upper())
    assert answer.status_code == 200
    assert recorder.run() == [1]


def test_pending_orders_are_not_resent(gm, recorder):
    email = unique_email()
    line = {"variant_id": variant(gm, "Quick Ticket Night", "Standard"), "quantity": 1}
    pending = gm.create_order(currency="USD", line_items=[line], **{**BUYER, "email": email})
    post(Client(), pending["number"], email)
    assert recorder.run() == [0]


def test_the_worker_pool_resends_after_the_answer(gm, storefront_settings):
    email = unique_email()
    order = completed_order(gm, email)
    before = sent_at(gm, order)
    assert post(Client(), order["number"], email).status_code == 200
    resend.dispatcher.wait()
    assert all(a > b for a, b in zip(sent_at(gm, order), before, strict=True))


def test_invalid_details_are_shown_next_to_their_fields(recorder):
    answer = post(Client(), "no!", "not-an-email")
    assert answer.status_code == 422
    body = answer.content.decode()
    assert 'id="id_order_number_error"' in body and 'id="id_email_error"' in body
    assert 'aria-invalid="true"' in body
    assert 'role="alert"' in body and "Please fix 2 problems" in body
    assert not recorder.jobs


def test_rate_limited_per_email_and_per_address(storefront_settings, recorder):
    storefront_settings.RATE_LIMITS = {
        **storefront_settings.RATE_LIMITS,
        "TICKET_RESEND": {"email": (2, 3600), "ip": (4, 3600)},
    }
    email, other = unique_email(), unique_email()
    web = Client(REMOTE_ADDR="198.51.100.20")
    assert [post(web, "GMAAAAAA1", email).status_code for _ in range(2)] == [200, 200]
    refused = post(web, "GMAAAAAA1", email.upper())
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many attempts" in refused.content.decode()
    # The same email from elsewhere is refused too; another email there is not.
    elsewhere = Client(REMOTE_ADDR="203.0.113.50")
    assert post(elsewhere, "GMAAAAAA1", email).status_code == 429
    assert post(elsewhere, "GMAAAAAA1", other).status_code == 200
    # One address gets only so many, whatever the emails.
    answers = [post(web, "GMAAAAAA1", unique_email()).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert len(recorder.jobs) == 5  # refused attempts queue nothing


def test_each_merchant_resends_with_its_own_key(gm, sandbox, recorder):
    from django.conf import settings

    from tenancy.shop import directory

    make_merchant("resend-nw", "Northwind", sandbox.api_url, settings.SANDBOX["COMPANY2_WRITE_KEY"])
    directory.forget()
    email = unique_email()
    ours = completed_order(gm, email, quantity=1)
    page = Client().get(f"/m/resend-nw{URL}")
    assert page.status_code == 200
    assert 'action="/m/resend-nw/tickets/resend/"' in page.content.decode()
    post(Client(), ours["number"], email, path=f"/m/resend-nw{URL}")
    assert recorder.run() == [0]  # another company's order is not found with this key
    directory.forget()


def test_works_in_embed_mode_without_cookies(merchants, gm, recorder):  # noqa: F811
    email = unique_email()
    order = completed_order(gm, email, quantity=1)
    frame = Frame()
    frame.get(frame.entry)
    page = frame.get(f"{frame.prefix}tickets/resend/")
    assert page.status_code == 200
    action = f'action="{frame.prefix}tickets/resend/"'
    assert action in page.content.decode()
    answer = frame.post(
        f"{frame.prefix}tickets/resend/",
        {"csrfmiddlewaretoken": csrf(page), "order_number": order["number"], "email": email},
    )
    assert answer.status_code == 200
    assert b"If that order number and email match" in answer.content
    assert recorder.run() == [1]  # harbour's key is the default company's
