"""A patient buyer: one checkout over plain HTTP (no JavaScript, no htmx) that keeps going
through an unreliable API the way a person would — on "we can't do that right now" it checks
that what it typed is still on the page, waits as told and tries again.

Every request goes to a randomly chosen storefront instance, as behind a load balancer
without sticky sessions (one cookie jar: cookies are per host, not per port). Used by
``bench.soak`` and ``tests/test_resilience.py``.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import buyer_headers

DONE = "You’re going!"
BUYER = {
    "first_name": "Ada",
    "last_name": "Soak",
    "email": "soak@example.com",
    "phone_number_country": "US",
}
# What each step's refusal page must still show of what was typed.
KEPT = {"cart": 'value="Soak"', "address": 'value="1 Main St"'}
HONEST = (429, 503)
WAITING = 'id="waiting-status"'  # the waiting room's page: a place in line
ORDER_LINK = r'href="((?:/m/[\w-]+)?/orders/\d+/)"'  # the cart's link to its order


@dataclass
class Outcome:
    completed: bool = False
    order_id: int | None = None
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: int = 0  # honest "not now" answers
    data_lost: int = 0  # refusals that did not keep what the buyer typed
    payment_posts: int = 0
    waited: float = 0.0  # seconds in the waiting room's line
    api_calls: int = 0  # the storefront's API calls for this buyer (its Server-Timing)
    error: str = ""


class GaveUp(Exception):
    pass


class Buyer:
    def __init__(
        self,
        bases: list[str],
        stripe: str,
        number: int,
        *,
        patience: float = 240.0,
        merchant: str = "",
    ) -> None:
        self.bases, self.stripe = bases, stripe
        self.prefix = f"/m/{merchant}" if merchant else ""  # the merchant's pages
        self.deadline = time.monotonic() + patience
        self.outcome = Outcome()
        self.web = httpx.Client(timeout=60, headers=buyer_headers(number))
        self.csrf = ""

    def close(self) -> None:
        self.web.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if time.monotonic() > self.deadline:
            raise GaveUp(f"out of patience at {method} {path}")
        response = self.web.request(method, random.choice(self.bases) + path, **kwargs)
        self.outcome.statuses[response.status_code] += 1
        calls = re.search(
            r"Guest Manager API, (\d+) calls", response.headers.get("Server-Timing", "")
        )
        self.outcome.api_calls += int(calls.group(1)) if calls else 0
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        if token:
            self.csrf = token.group(1)
        return response

    def get(self, path: str) -> httpx.Response:
        """GET until the page answers (a buyer reloads a page that would not load)."""
        while True:
            response = self._send("GET", path)
            if response.status_code in (301, 302, 303):
                path = response.headers["Location"]
                continue
            if response.status_code < 500 and response.status_code != 429:
                return response
            self._wait(response)

    def post(self, path: str, data: dict[str, str], kept: str = "") -> httpx.Response | None:
        """The answer, or None after an honest refusal (checked to keep ``kept``)."""
        token = self.csrf or self._cookie_token()
        response = self._send("POST", path, data={"csrfmiddlewaretoken": token, **data})
        if response.status_code in HONEST:
            self.outcome.refusals += 1
            if kept and kept not in response.text:
                self.outcome.data_lost += 1
            self._wait(response)
            return None
        if response.status_code in (301, 302, 303):
            return self.get(response.headers["Location"])
        return response

    def _cookie_token(self) -> str:
        """Event pages are shared between buyers and carry no token: as the site's script
        does, get the CSRF cookie (one base's cookie serves them all: one host) and post it."""
        if "csrftoken" not in self.web.cookies:
            self._send("GET", "/csrf")
        return self.web.cookies.get("csrftoken") or ""

    def _wait(self, response: httpx.Response) -> None:
        told = response.headers.get("Retry-After", "")
        time.sleep(min(10.0, float(told)) if told.isdigit() else 1.0 + random.random())

    # -- the checkout ------------------------------------------------------------------------

    def checkout(self, event_path: str) -> Outcome:
        return self._to_the_end(lambda: self._add_to_order(event_path))

    def from_cart(self) -> Outcome:
        """The rest of a checkout whose tickets are already in an order (added with this
        buyer's cookies by another client)."""
        return self._to_the_end(lambda: _found(ORDER_LINK, self.get(f"{self.prefix}/cart/").text))

    def _to_the_end(self, order: Callable[[], str]) -> Outcome:
        try:
            order_url = order()
            self.outcome.order_id = int(order_url.strip("/").split("/")[-1])
            self._through_steps(order_url)
        except GaveUp as exc:
            self.outcome.error = str(exc)
        except (httpx.HTTPError, ValueError) as exc:
            self.outcome.error = f"{type(exc).__name__}: {exc}"
        return self.outcome

    def _add_to_order(self, event_path: str) -> str:
        while True:
            page = self.get(event_path)
            event = re.search(r'name="event" value="(\d+)"', page.text)
            variant = re.search(r'name="qty-(\d+)"', page.text)
            if not (event and variant):
                raise GaveUp(f"no ticket form on {event_path} ({page.status_code})")
            data = {"event": event.group(1), f"qty-{variant.group(1)}": "1"}
            answer = self.post(f"{self.prefix}/order/add", data)
            if answer is not None and WAITING in answer.text:
                answer = self._wait_in_line(answer)
            if answer is not None:
                break
        return _found(ORDER_LINK, self.get(f"{self.prefix}/cart/").text)

    def _wait_in_line(self, page: httpx.Response) -> httpx.Response | None:
        """On the waiting room's page: look again as the page does until it is this buyer's
        turn, then post the choice it keeps (what its script does by itself)."""
        started = time.monotonic()
        while True:
            state = _found(r'id="waiting-status" data-state="(\w+)"', page.text)
            if state == "admitted":
                break
            if state != "waiting":
                raise GaveUp(f"left the line: {state}")
            time.sleep(float(_found(r'data-poll-seconds="(\d+)"', page.text)))
            page = self.get(f"{self.prefix}/waiting/")
        self.outcome.waited += time.monotonic() - started
        form = re.search(r'<form[^>]+id="waiting-continue".*?</form>', page.text, re.S)
        if form is None:
            raise ValueError("the waiting page's form is missing")
        fields = dict(re.findall(r'name="(event|qty-\d+)" value="(\d+)"', form.group(0)))
        return self.post(f"{self.prefix}/order/add", fields)

    def _through_steps(self, order_url: str, *, until: str = "") -> None:
        shown: httpx.Response | None = None  # the page a step's answer led to
        while True:
            page = shown if shown is not None and shown.status_code == 200 else self.get(order_url)
            shown = None
            if DONE in page.text:
                self.outcome.completed = True
                return
            step = re.search(r'name="step" value="(\w+)"', page.text)
            if step is None:  # processing: the page polls; a person waits and looks again
                time.sleep(1.0)
                continue
            name = step.group(1)
            if name == until:
                return
            shown = self.post(order_url, self._step_data(name, page.text), KEPT.get(name, ""))

    def to_payment(self, event_path: str) -> str:
        """Add a ticket and fill every step before payment; the order's page path."""
        order_url = self._add_to_order(event_path)
        self.outcome.order_id = int(order_url.strip("/").split("/")[-1])
        self._through_steps(order_url, until="payment")
        return order_url

    def _step_data(self, step: str, html: str) -> dict[str, str]:
        if step == "cart":
            return {"step": step, **BUYER}
        if step == "tickets":
            data = {"step": step}
            for ticket in re.findall(r'name="t(\d+)-name"', html):
                data[f"t{ticket}-name"] = f"Guest {ticket}"
                data[f"t{ticket}-email"] = f"guest{ticket}@example.com"
            return data
        if step == "address":
            return {"step": step, **_address(html)}
        if step == "form":
            data = {"step": step}
            for name, value in re.findall(r'name="(a\d+)" value="(\d+)"', html):
                data.setdefault(name, value)
            for name in re.findall(r'name="(a\d+)" maxlength', html):
                data[name] = "none"
            return data
        if step == "payment":
            self.outcome.payment_posts += 1
            return {"step": step, **self.card()}
        return {"step": step}  # steps without a form (e.g. resuming an expired order)

    def card(self) -> dict[str, str]:
        """The payment form's fields once Stripe.js has tokenised a test card."""
        token = httpx.post(
            f"{self.stripe}/v1/tokens",
            data={
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
                "key": "pk_test_sandbox",
            },
            timeout=30,
        ).json()["id"]
        return {
            "payment_method_id": "75",
            "token": token,
            "brand": "Visa",
            "last_four": "4242",
            "cardholder_name": "Ada Soak",
        }


def _found(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    if match is None:
        raise ValueError(f"not on the page: {pattern}")
    return match.group(1)


def _address(html: str) -> dict[str, str]:
    us = _found(r'<option value="(\d+)"[^>]*>United States', html)
    wa = _found(r'<option value="(\d+)"[^>]*>Washington', html)
    return {
        "bill-address1": "1 Main St",
        "bill-city": "Seattle",
        "bill-zipcode": "98101",
        "bill-country": us,
        "bill-state": wa,
    }


def checkout(bases: list[str], stripe: str, event_path: str, number: int, **kw: Any) -> Outcome:
    buyer = Buyer(bases, stripe, number, **kw)
    try:
        return buyer.checkout(event_path)
    finally:
        buyer.close()
