"""Complete paid checkouts over HTTP, no browser (prints figures; not a test).

100 checkouts, 10 at a time, against the sandbox as a separate process with 50 ms added
latency, after one warm-up checkout that is not counted. Each storefront response carries
Server-Timing (our time vs the API's), so we print the storefront's own overhead per step
(p50/p95), the same as the client sees it, and the upstream calls per checkout, with polls
counted apart.

    .venv/bin/python -m bench.checkout [--checkouts 100] [--concurrency 10]
                                       [--workers 2] [--threads 4]
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.common import (
    add_sandbox_latency,
    add_server,
    arguments,
    buyer_headers,
    percentile,
    stack,
)

HX = {"HX-Request": "true"}
TIMING = re.compile(r'app;dur=([\d.]+).*gm;dur=([\d.]+);desc="[^"]*?(\d+) calls"')


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.overhead: dict[str, list[float]] = defaultdict(list)
        self.seen_by_client: list[float] = []  # response time at the client minus upstream
        self.calls: list[int] = []
        self.polls: list[int] = []
        self.failures: list[str] = []

    def step(self, name: str, response: httpx.Response) -> tuple[int, float]:
        match = TIMING.search(response.headers.get("Server-Timing", ""))
        if not match:
            raise RuntimeError(f"{name}: no Server-Timing ({response.status_code})")
        app_ms, upstream_ms, calls = map(float, match.groups())
        client_ms = response.elapsed.total_seconds() * 1000 - upstream_ms
        with self.lock:
            self.overhead[name].append(app_ms)
            if name != "poll":
                self.seen_by_client.append(client_ms)
        return int(calls), app_ms


def cookie_token(web: httpx.Client) -> str:
    """An event page is shared between buyers and carries no token: as the site's script
    does, get the CSRF cookie and post its value."""
    if "csrftoken" not in web.cookies:
        web.get("/csrf")
    return web.cookies["csrftoken"]


def one_checkout(base: str, stripe: str, event_path: str, rec: Recorder, buyer: int) -> None:
    calls = 0
    polls = 0
    with httpx.Client(base_url=base, timeout=60, headers=buyer_headers(buyer)) as web:
        page = web.get(event_path)
        calls += rec.step("event page", page)[0]
        token = cookie_token(web)
        variant = re.search(r'name="qty-(\d+)"', page.text).group(1)
        add = web.post(
            "/order/add",
            data={
                "csrfmiddlewaretoken": token,
                "event": re.search(r'name="event" value="(\d+)"', page.text).group(1),
                f"qty-{variant}": "1",
            },
        )
        calls += rec.step("add to order", add)[0]
        cart = web.get("/cart/")
        calls += rec.step("cart", cart)[0]
        order_url = re.search(r'href="(/orders/\d+/)"', cart.text).group(1)
        page = web.get(order_url)
        calls += rec.step("checkout page", page)[0]
        hx = {**HX, "X-CSRFToken": token}
        page = web.post(
            order_url,
            headers=hx,
            data={
                "step": "cart",
                "first_name": "Ada",
                "last_name": "Bench",
                "email": "bench@example.com",
                "phone_number_country": "US",
            },
        )
        calls += rec.step("details", page)[0]
        if 'value="tickets"' in page.text:
            data = {"step": "tickets"}
            for ticket_id in re.findall(r'name="t(\d+)-name"', page.text):
                data[f"t{ticket_id}-name"] = f"Guest {ticket_id}"
                data[f"t{ticket_id}-email"] = f"guest{ticket_id}@example.com"
            page = web.post(order_url, headers=hx, data=data)
            calls += rec.step("tickets", page)[0]
        if 'value="address"' in page.text:
            us = re.search(r'<option value="(\d+)"[^>]*>United States', page.text).group(1)
            wa = re.search(r'<option value="(\d+)"[^>]*>Washington', page.text).group(1)
            page = web.post(
                order_url,
                headers=hx,
                data={
                    "step": "address",
                    "bill-address1": "1 Main St",
                    "bill-city": "Seattle",
                    "bill-zipcode": "98101",
                    "bill-country": us,
                    "bill-state": wa,
                },
            )
            calls += rec.step("address", page)[0]
        if 'value="form"' in page.text:
            data = {"step": "form"}
            for name, value in re.findall(r'name="(a\d+)" value="(\d+)"', page.text):
                data.setdefault(name, value)
            for name in re.findall(r'name="(a\d+)" maxlength', page.text):
                data[name] = "none"
            page = web.post(order_url, headers=hx, data=data)
            calls += rec.step("questions", page)[0]
        card = httpx.post(
            f"{stripe}/v1/tokens",
            data={
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
                "key": "pk_test_sandbox",
            },
        ).json()
        paid = web.post(
            order_url,
            data={
                "csrfmiddlewaretoken": token,
                "step": "payment",
                "payment_method_id": "75",
                "token": card["id"],
                "brand": "Visa",
                "last_four": "4242",
                "cardholder_name": "Ada Bench",
            },
        )
        calls += rec.step("payment", paid)[0]
        attempt = 0
        while True:
            attempt += 1
            poll = web.get(f"{order_url}poll?n={attempt}", headers=HX)
            polls += rec.step("poll", poll)[0]
            if poll.status_code == 286:
                break
            if attempt > 60:
                raise RuntimeError("still processing")
            time.sleep(0.5)
        if "You’re going!" not in poll.text:
            raise RuntimeError("checkout did not complete")
    with rec.lock:
        rec.calls.append(calls)
        rec.polls.append(polls)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--checkouts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    add_sandbox_latency(parser)
    add_server(parser)
    args = parser.parse_args()
    rec = Recorder()
    with stack(
        latency_ms=args.latency_ms,
        rate_limit=100_000,
        # Overhead per step is the figure here, so the API is unlimited and so is our budget
        # (bench.soak measures the storefront against the real limit).
        web_env={"UPSTREAM_BUDGET_PER_MINUTE": "0"},
        workers=args.workers,
        threads=args.threads,
        server=args.server,
    ) as s:
        path = s.event_path("Sandbox Showcase")
        # One checkout first, not counted: the figures are the steady state, with the event
        # page and the reference data (countries, states) cached as after the first buyer.
        one_checkout(s.storefront, s.stripe, path, Recorder(), buyer=0)
        started = time.monotonic()

        def run(n: int) -> None:
            try:
                one_checkout(s.storefront, s.stripe, path, rec, buyer=n + 1)
            except Exception as exc:  # a failed checkout is a figure, not a crash
                with rec.lock:
                    rec.failures.append(repr(exc))

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(run, range(args.checkouts)))
        elapsed = time.monotonic() - started
    done = len(rec.calls)
    print(
        f"checkout benchmark: {done}/{args.checkouts} checkouts completed in {elapsed:.1f}s, "
        f"{args.concurrency} at a time, API latency +{args.latency_ms:.0f} ms"
    )
    all_steps = [v for name, values in rec.overhead.items() if name != "poll" for v in values]
    print(
        f"  storefront overhead per step (our time minus upstream): "
        f"p50 {percentile(all_steps, 50):.1f} ms, p95 {percentile(all_steps, 95):.1f} ms"
    )
    print(
        f"  the same seen by the client (its response time minus upstream; includes HTTP, "
        f"queueing and the load generator's own delays): "
        f"p50 {percentile(rec.seen_by_client, 50):.1f} ms, "
        f"p95 {percentile(rec.seen_by_client, 95):.1f} ms"
    )
    for name, values in rec.overhead.items():
        print(
            f"    {name:14s} p50 {percentile(values, 50):6.1f} ms  "
            f"p95 {percentile(values, 95):6.1f} ms  (n={len(values)})"
        )
    if done:
        print(
            f"  upstream calls per checkout, polls apart: "
            f"mean {sum(rec.calls) / done:.2f}, max {max(rec.calls)}; "
            f"polls mean {sum(rec.polls) / done:.2f}"
        )
    if rec.failures:
        print(f"  failures: {len(rec.failures)}: {rec.failures[:3]}")


if __name__ == "__main__":
    main()
