"""Random and hostile data at every form and endpoint of the storefront, through the real
sandbox: a buyer (or a bot) may be refused with a 4xx, never answered with a 5xx.

Hypothesis runs derandomized, so CI sees the same examples on every run. Each checkout state
is fuzzed on one order that is put back into that state through the API whenever the fuzz
moves it on, and every order the storefront creates is expired afterwards, so the sandbox's
stock stays free for the rest of the suite. ``-s`` prints the requests made and their
statuses."""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from checkout.ref import OrderRef
from checkout.session import OPEN_KEY, ORDERS_KEY, snapshot
from checkout.steps import STEPS as STATES
from guestmanager import GuestManagerClient
from tenancy.sessionstore import SessionStore

from .helpers import (
    ADDRESS,
    BUYER,
    answer_everything,
    event_named,
    eventually,
    name_tickets,
)

pytestmark = pytest.mark.django_db

MIN_REQUESTS = 2000
BASE = hsettings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fuzz(examples: int) -> hsettings:
    return hsettings(BASE, max_examples=examples)


# --- what every request is checked for ------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    orders: int = 0  # made by the storefront
    statuses: Counter[int] = field(default_factory=Counter)
    parts: dict[str, Counter[int]] = field(default_factory=dict)

    def count(self, part: str, status: int) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.parts.setdefault(part, Counter())[status] += 1


TALLY = Tally()
PARTS = {"edges", "catalog", "add", "cart", "checkout", "limits"}

Pairs = Sequence[tuple[str, str]]
ENCODINGS = ("multipart", "multipart", "urlencoded", "json")


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


class Buyer:
    """One browser session. Every answer is counted; a 5xx fails with the request that
    caused it and the server's traceback."""

    def __init__(self, part: str) -> None:
        self.web = Client(raise_request_exception=False)
        self.part = part

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return f"<Buyer {self.part}>"

    def get(self, path: str, query: Pairs | str = (), *, htmx: bool = False) -> HttpResponse:
        # The server refuses requests whose head passes 64 KB (make serve's
        # --http1-buffer-size), so longer query values never reach the app (and unquoting
        # megabytes would only slow the fuzz down).
        qs = query if isinstance(query, str) else urlencode([(k, v[:1000]) for k, v in query])
        return self.send("GET", f"{path}?{qs}" if qs else path, htmx=htmx)

    def post(
        self, path: str, data: Pairs = (), *, htmx: bool = False, encoding: str = "multipart"
    ) -> HttpResponse:
        return self.send("POST", path, data, htmx=htmx, encoding=encoding)

    def send(
        self,
        method: str,
        path: str,
        data: Pairs | bytes = (),
        *,
        htmx: bool = False,
        encoding: str = "multipart",
    ) -> HttpResponse:
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            response = self.web.get(path, headers=headers)
        elif isinstance(data, bytes):
            response = self.web.generic(
                method, path, data, "application/x-www-form-urlencoded", headers=headers
            )
        elif method == "POST" and encoding == "multipart":
            grouped: dict[str, list[str]] = {}
            for key, value in data:
                grouped.setdefault(key, []).append(value)
            response = self.web.post(path, grouped, headers=headers)
        elif encoding == "json":
            body = json.dumps(dict(data))
            response = self.web.generic(method, path, body, "application/json", headers=headers)
        else:
            body = urlencode(list(data))
            response = self.web.generic(
                method, path, body, "application/x-www-form-urlencoded", headers=headers
            )
        TALLY.count(self.part, response.status_code)
        if response.status_code >= 500:
            raise AssertionError(_describe(method, path, data, headers, encoding, response))
        return response

    # The server-side session, read as the app keeps it.

    def session(self) -> SessionStore | None:
        cookie = self.web.cookies.get(settings.SESSION_COOKIE_NAME)
        return SessionStore(cookie.value) if cookie and cookie.value else None

    def orders(self) -> dict[int, str]:
        store = self.session()
        return {int(k): v for k, v in ((store and store.get(ORDERS_KEY)) or {}).items()}

    def open_order(self) -> tuple[int, str] | None:
        store = self.session()
        order_id = store and store.get(OPEN_KEY)
        token = self.orders().get(order_id) if order_id else None
        return (order_id, token) if token else None

    def own(self, order_id: int, token: str) -> None:
        """Give the order back to this session after the fuzz made it let go (start over):
        re-using it costs far less than making and walking a new one."""
        store = self.session()
        assert store is not None
        orders = dict(store.get(ORDERS_KEY) or {})
        orders[str(order_id)] = token
        store[ORDERS_KEY] = orders
        store.save()


def _describe(
    method: str,
    path: str,
    data: Pairs | bytes,
    headers: dict[str, str],
    encoding: str,
    response: HttpResponse,
) -> str:
    """What to reproduce a 5xx with: the request as sent and the server's traceback."""
    lines = [
        f"{method} {_short(path)} answered {response.status_code}",
        f"headers: {headers}  encoding: {encoding}",
        "data:",
        *(
            f"  {_short(k, 80)}: {_short(v)}"
            for k, v in (data if not isinstance(data, bytes) else [("<raw>", data)])
        ),
    ]
    if response.exc_info:
        lines += ["server traceback:", "".join(traceback.format_exception(*response.exc_info))]
    return "\n".join(lines)


# --- what a page offers ---------------------------------------------------------------------


class FormScraper(HTMLParser):
    """The fields of a page's POST forms and the values each offers; the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, list[str]] = {}
        self.types: dict[str, str] = {}
        self.links: list[str] = []
        self._post = False
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            self._post = a.get("method", "").lower() == "post"
        if not self._post:
            return
        name = a.get("name", "")
        if tag in ("input", "select", "textarea") and name and name != "csrfmiddlewaretoken":
            values = self.fields.setdefault(name, [])
            self.types.setdefault(name, a.get("type", tag))
            if tag == "input" and "value" in a and a["value"] not in values:
                values.append(a["value"])
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select:
            self.fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._post = False


def scrape(response: HttpResponse) -> FormScraper:
    scraper = FormScraper()
    scraper.feed(response.content.decode(errors="replace"))
    return scraper


# --- values ---------------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "../",
    "../../etc/passwd",
    "..%2f..%2f",
    "%2e%2e",
    "%2e%2e%2f",
    "%00",
    "%",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7|add:7 }}{% debug %}",
    "' OR 1=1 --",
    "\r\nSet-Cookie: x=1",
    "-1",
    "0",
    "-0",
    "00",
    "1.0",
    "1e309",
    "NaN",
    "inf",
    "0x10",
    " 1 ",
    "+1",
    "9" * 25,
    str(2**63),
    str(-(2**63) - 1),
    "٣",
    "１２",
    "²",
    "①",
    "😀",
    "\u202etxt.exe",
    "\ufeff",
    "null",
    "true",
    "[]",
    '{"a": 1}',
]
# Over Python's 4,300-digit limit for int(), with and without leading zeros.
HUGE = ["x" * 100_000, "é" * 60_000, "\x00" * 5_000, "9" * 5_000, "0001" + "0" * 4_400]
HUGE += ["<b>" * 30_000]
JUNK_KEYS = [
    "",
    " ",
    "\x00",
    "../",
    "%2e%2e",
    "<script>",
    "qty-",
    "qty-../",
    "a",
    "t-name",
    "__proto__",
]
GOOD = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "2065550100",
    "phone_number_country": "US",
    "address1": "1 Main St",
    "address2": "Apt 2",
    "city": "Seattle",
    "zipcode": "98101",
    "name": "Grace Hopper",
    "token": "tok_fuzz_not_a_card",
    "brand": "Visa",
    "last_four": "4242",
    "cardholder_name": "Ada Lovelace",
}
WRONG = {
    "email": ["ada@", "@example.com", "ada@example", "a@b.c", "ada@exa mple.com"],
    "phone_number": ["12", "+1 (206) 555-0100", "phone"],
    "phone_number_country": ["us", "XX", "ZZZ", "United States"],
    "zipcode": ["1" * 21, "ABC"],
    "brand": ["mastercard", "AMEX", "Diners Club", "unknown"],
    "last_four": ["424", "42424", "abcd", "4242\n"],
    "keep": ["on", "off", "true", "false", "1", "0"],
    "token": ["tok_visa", "tok_chargeDeclined", "pm_card_visa", " "],
}
CHECKOUT_FIELDS = [
    "step",
    "action",
    *("first_name", "last_name", "email", "phone_number", "phone_number_country"),
    *(f"{p}-{n}" for p in ("bill", "ship") for n in ("address1", "address2", "city")),
    *(f"{p}-{n}" for p in ("bill", "ship") for n in ("zipcode", "country", "state")),
    *("payment_method_id", "token", "brand", "last_four", "cardholder_name"),
]
STEP_NAMES = [*STATES, "unknown", "complete", "Cart", "cart "]
ACTIONS = ["start-over", "resume", "coupon", "remove-coupon", "quantity", "remove", "garbage"]


def garbage() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(HUGE),
    )


def pick[T](draw: st.DrawFn, items: Sequence[T]) -> T | None:
    """An item of a list known only at run time (line ids, what a page offers). Hypothesis
    wants every example's draws shaped the same whatever the sandbox holds, so an index of
    fixed range is drawn, not ``sampled_from`` the list."""
    index = draw(st.integers(0, 2**16))
    return items[index % len(items)] if items else None


def any_value(draw: st.DrawFn, candidates: Sequence[str]) -> str:
    """One of the values a field offers (or a well-formed wrong one), or garbage. Whether a
    field has candidates never changes during a test, so the draws keep their shape."""
    if candidates and draw(st.booleans()):
        return candidates[draw(st.integers(0, 2**16)) % len(candidates)]
    return draw(garbage())


def junk_key() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(JUNK_KEYS), st.text(max_size=20))


@st.composite
def form_data(
    draw: st.DrawFn, fields: Mapping[str, Sequence[str]], good: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Either a correct form with up to three fields broken (left out, wrong, garbage,
    repeated), which gets past the form to the API's own checks, or any of the fields with
    any values; plus unknown keys."""
    names = sorted(fields)
    data: dict[str, list[str]] = {}
    if draw(st.booleans()):
        data = {k: [v] for k, v in good.items()}
        for _ in range(draw(st.integers(0, 3))):
            name = pick(draw, names)
            change = draw(st.sampled_from(("drop", "wrong", "repeat")))
            new = any_value(draw, fields.get(name or "", []))
            if name is None:
                continue
            if change == "drop":
                data.pop(name, None)
            elif change == "wrong":
                data[name] = [new]
            else:
                data[name] = [*data.get(name, []), new]
    else:
        for _ in range(draw(st.integers(0, 8))):
            name = pick(draw, names)
            count = draw(st.integers(1, 3))
            values = [any_value(draw, fields.get(name or "", [])) for _ in range(count)]
            if name is not None:
                data[name] = values
    pairs = [(k, v) for k, values in data.items() for v in values]
    return pairs + draw(st.lists(st.tuples(junk_key(), garbage()), max_size=2))


RAW_BODIES = [
    b"%ZZ=1&a=%",
    b"\xff\xfe=\xff&step=\xc3",
    b"&&&==&=",
    b"step=cart&step=payment&action=start-over&action=resume",
    b"a=" + b"x" * (3 * 1024 * 1024),  # over DATA_UPLOAD_MAX_MEMORY_SIZE
    b"&".join(b"k%d=v" % i for i in range(1200)),  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
]


@st.composite
def body(
    draw: st.DrawFn,
    fields: Mapping[str, Sequence[str]],
    good: Mapping[str, str],
    anchor: str = "",
) -> tuple[Pairs | bytes, str]:
    """A posted body and how it is encoded; now and then a raw malformed one.

    ``anchor`` names the field the view checks first (the event, the step, the action):
    when it is wrong nothing else is looked at, so it is mostly right and the rest of the
    form gets fuzzed."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from(RAW_BODIES)), "raw"
    how = draw(st.sampled_from(["right"] * 8 + ["wrong", "garbage", "missing", "twice"]))
    wrong, junk = any_value(draw, fields.get(anchor, [])), draw(garbage())
    right_last = draw(st.booleans())
    first: list[tuple[str, str]] = []
    if anchor and anchor in good:
        right = good[anchor]
        first = {
            "right": [(anchor, right)],
            "wrong": [(anchor, wrong)],
            "garbage": [(anchor, junk)],
            "missing": [],
            # The last of repeated keys is the one a view reads.
            "twice": [(anchor, junk), (anchor, right)][:: 1 if right_last else -1],
        }[how]
        fields = {k: v for k, v in fields.items() if k != anchor}
        good = {k: v for k, v in good.items() if k != anchor}
    return first + draw(form_data(fields, good)), draw(st.sampled_from(ENCODINGS))


# --- the sandbox: named events, orders made, and walking an order to a state ----------------


@dataclass(repr=False)
class Shop:
    """What the fuzz needs to know of the catalog: the events it adds from (with the
    quantity fields their pages offer) and reference data for valid addresses."""

    events: dict[str, dict[str, Any]]
    quantities: dict[int, dict[str, list[str]]]  # event id -> {qty-<variant>: choices}
    country: str
    state: str

    def __repr__(self) -> str:
        return f"<Shop: {', '.join(self.events)}>"

    def variant(self, event_name: str, type_name: str) -> int:
        event = self.events[event_name]
        return next(
            rt["variant_id"] for rt in event["registration_types"] if rt["name"] == type_name
        )


NAMED_EVENTS = [
    "Sandbox Showcase",
    "Quick Ticket Night",
    "Free Community Meetup",
    "Poster Print Night",
    "Hostile Markup Test",
    "Waitlist Gala",
    "Presale Concert",
    "Summer Festival",
    "Weekly Tasting",
]


@pytest.fixture(scope="module")
def named_events(sandbox) -> dict[str, dict[str, Any]]:
    with sandbox.client() as gm:
        return {name: event_named(gm, name) for name in NAMED_EVENTS}


@pytest.fixture
def shop(named_events, gm) -> Shop:
    countries = gm.list_countries()
    us = next(c for c in countries if c["code"] == "US")
    wa = next(s for s in gm.list_states(us["id"]) if s["code"] == "WA")
    scout = Buyer("catalog")
    quantities = {}
    for event in named_events.values():
        page = scrape(scout.get(f"/events/{event['id']}/{event['slug']}/"))
        quantities[event["id"]] = {k: v for k, v in page.fields.items() if k.startswith("qty-")}
    return Shop(named_events, quantities, str(us["id"]), str(wa["id"]))


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """Refusals are what the fuzz expects: a warning per request would bury the summary.
    Errors (a 5xx's traceback) still show; too-big bodies are sent on purpose."""
    quieter = {"django.request": logging.ERROR, "guestmanager": logging.ERROR}
    quieter |= {"checkout": logging.ERROR, "storefront": logging.WARNING}
    quieter |= {"django.security": logging.CRITICAL}
    loggers = [logging.getLogger(name) for name in quieter]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(quieter[logger.name])
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def made_orders(sandbox, monkeypatch) -> Iterator[list[int]]:
    """Every order the storefront creates, expired afterwards: each holds stock for 15
    minutes, which later tests need."""
    made: list[int] = []
    create = GuestManagerClient.create_order

    def recording(self: GuestManagerClient, **kwargs: Any) -> dict[str, Any]:
        order = create(self, **kwargs)
        made.append(order["id"])
        TALLY.orders += 1
        return order

    monkeypatch.setattr(GuestManagerClient, "create_order", recording)
    yield made
    for order_id in made:
        sandbox.expire(order_id)


@pytest.fixture
def relaxed(storefront_settings):
    """Abuse limits a thousand times the defaults: still counted, never reached."""
    storefront_settings.RATE_LIMITS = {
        policy: {scope: (n * 1000, window) for scope, (n, window) in scopes.items()}
        for policy, scopes in storefront_settings.RATE_LIMITS.items()
    }
    return storefront_settings


def step_data(order: dict[str, Any]) -> dict[str, Any]:
    """Valid data for the step the order is on."""
    state = order["state"]
    if state == "tickets":
        return {"tickets": name_tickets(order)}
    if state == "address":
        ships = "delivery" in order["checkout_steps"]
        return {"bill_address": ADDRESS, **({"ship_address": ADDRESS} if ships else {})}
    if state == "delivery":
        return {"ship_address": ADDRESS}
    if state == "form":
        return {"responses": answer_everything(order)}
    raise AssertionError(f"no data for {state}")


def wait_settled(gm: GuestManagerClient, order_id: int, token: str) -> dict[str, Any]:
    """The order once a payment in flight (a made-up card: declined) is decided."""

    def settled() -> dict[str, Any] | None:
        order = gm.get_order(order_id, token)
        return order if order["state"] != "processing" else None

    return eventually(settled, "the payment settled")


def seen(gm: GuestManagerClient, order_id: int, token: str) -> dict[str, Any]:
    """The order as the storefront last saw it (it keeps that for a few seconds), else as
    the API has it: most examples leave the order as it was, and asking costs a call."""
    return snapshot(OrderRef(order_id, token)) or gm.get_order(order_id, token)


def walk(gm: GuestManagerClient, order_id: int, token: str, target: str) -> dict[str, Any]:
    """Put the order in ``target`` (a step before payment, or payment) through the API."""
    order = wait_settled(gm, order_id, token)
    if order["state"] == target:
        return order
    if order["state"] == "expired":
        order = gm.resume_order(order_id, token)
    if order["state"] != "cart":
        # Changing a line's quantity sends an order back to the start of checkout.
        line = order["line_items"][0]
        order = gm.update_line_item(order_id, token, line["id"], line["quantity"])
    if target != "cart":
        if not order.get("email"):
            gm.update_order(order_id, token, **BUYER)
        order = gm.checkout_next(order_id, token)
    while order["state"] != target:
        order = gm.checkout_update(order_id, token, order["state"], **step_data(order))
    return order


def start_order(
    buyer: Buyer, shop: Shop, event_name: str, type_name: str, qty: int = 1
) -> tuple[int, str]:
    """A new order of ``buyer``'s, made through the event page's form: (id, guest token)."""
    event = shop.events[event_name]
    variant = shop.variant(event_name, type_name)
    response = buyer.post("/order/add", [("event", str(event["id"])), (f"qty-{variant}", str(qty))])
    assert response.status_code == 302, response.content[:500]
    opened = buyer.open_order()
    assert opened is not None
    return opened


def print_tally() -> None:
    print(f"\nfuzz requests: {TALLY.requests}, orders made: {TALLY.orders}")
    print(f"status histogram: {dict(sorted(TALLY.statuses.items()))}")
    for part, statuses in sorted(TALLY.parts.items()):
        print(f"  {part}: {sum(statuses.values())} {dict(sorted(statuses.items()))}")


# --- the catalog, reference endpoints and paths that name nothing ---------------------------

DATES = ["2026-01-01", "2031-12-31", "2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31"]
DATES += ["01/02/2026", "2026-1-1", "today", "2026-01-01T00:00:00Z"]
METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]
ENDPOINTS = ["/", "/cart/", "/order/add", "/checkout/states", "/healthz", "/metrics"]
ENDPOINTS += ["/orders/1/", "/orders/1/poll", "/orders/1/calendar.ics", "/events/1/"]


@dataclass(repr=False)
class Catalog:
    buyers: list[Buyer]
    list_fields: dict[str, list[str]]
    state_fields: dict[str, list[str]]
    event_ids: list[str]
    slugs: list[str]
    order_ids: list[str]

    def __repr__(self) -> str:
        return f"<Catalog: buyers {self.buyers}, own orders {self.order_ids[:1]}>"


@pytest.fixture
def catalog(relaxed, shop, gm) -> Catalog:
    anonymous, owner = Buyer("catalog"), Buyer("catalog")
    order_id, _token = start_order(owner, shop, "Quick Ticket Night", "Standard")
    home = scrape(anonymous.get("/"))
    cursors = [link.split("cursor=", 1)[1] for link in home.links if "cursor=" in link]
    categories = [str(c["id"]) for c in gm.list_categories().data]
    countries = [shop.country, "0", "-1", "1.0", " 1", "../states"]
    events = list(shop.events.values())
    return Catalog(
        buyers=[anonymous, owner],
        list_fields={
            "q": ["Showcase", "night", "Sandbox Showcase", "zz", "é"],
            "category": [*categories, "0", "-1", "1.5"],
            "date_from": DATES,
            "date_to": DATES,
            "cursor": [*cursors, "abc", "eyJ9"],
            "page": ["2", "-1"],
        },
        state_fields={
            "prefix": ["bill", "ship", "BILL", "bill-", ""],
            "bill-country": countries,
            "ship-country": countries,
        },
        event_ids=[str(e["id"]) for e in events] + ["0", "1", str(2**31), str(2**63), "9" * 30],
        slugs=[e["slug"] for e in events] + ["event", "-", "_", "a" * 300],
        order_ids=[str(order_id), str(order_id + 1), str(order_id - 1), "0", str(2**63)],
    )


def segment() -> st.SearchStrategy[str]:
    """A path segment: plausible, numeric, slug-like or hostile (percent-encoded)."""
    return st.one_of(
        st.integers(min_value=0, max_value=2**70).map(str),
        st.from_regex(r"[-a-zA-Z0-9_]{1,40}", fullmatch=True),
        garbage().map(lambda s: quote(s[:200], safe="")),
    )


@fuzz(400)
@given(data=st.data())
def test_catalog_and_unknown_paths_never_fail(data: st.DataObject, catalog: Catalog) -> None:
    buyer = data.draw(st.sampled_from(catalog.buyers), label="buyer")
    htmx = data.draw(st.booleans(), label="htmx")
    kind = data.draw(
        st.sampled_from(["list", "list", "event", "event", "states", "order", "method", "other"]),
        label="kind",
    )
    if kind == "list":
        query: Pairs | str = data.draw(
            st.one_of(form_data(catalog.list_fields, {}), st.sampled_from(["%ZZ", "&&=", "q"]))
        )
        buyer.get("/", query, htmx=htmx)
    elif kind == "event":
        event_id = data.draw(st.one_of(st.sampled_from(catalog.event_ids), segment()))
        slug = data.draw(st.one_of(st.none(), st.sampled_from(catalog.slugs), segment()))
        path = f"/events/{event_id}/" + (f"{slug}/" if slug is not None else "")
        buyer.get(path, data.draw(form_data({"cursor": [], "q": []}, {})), htmx=htmx)
    elif kind == "states":
        buyer.get("/checkout/states", data.draw(form_data(catalog.state_fields, {})), htmx=htmx)
    elif kind == "order":
        order_id = data.draw(st.one_of(st.sampled_from(catalog.order_ids), segment()))
        tail = data.draw(st.sampled_from(["", "poll", "calendar.ics", "x", "poll/"]))
        method = data.draw(st.sampled_from(["GET", "POST"]))
        fields = {"n": ["1", "-1", "99"], "step": STEP_NAMES, "action": ACTIONS}
        pairs = data.draw(form_data(fields, {}))
        if method == "GET":
            buyer.get(f"/orders/{order_id}/{tail}", pairs, htmx=htmx)
        else:
            buyer.post(f"/orders/{order_id}/{tail}", pairs, htmx=htmx)
    elif kind == "method":
        method = data.draw(st.sampled_from(METHODS))
        buyer.send(method, data.draw(st.sampled_from(ENDPOINTS)), data.draw(form_data({}, {})))
    else:
        path = data.draw(
            st.one_of(
                st.sampled_from(["/healthz", "/metrics", "/cart/", "/checkout/states/"]),
                st.lists(segment(), min_size=1, max_size=4).map(lambda s: "/" + "/".join(s)),
            )
        )
        buyer.get(path, data.draw(form_data({"q": [], "n": []}, {})), htmx=htmx)


# --- every known-nasty value, one field at a time --------------------------------------------


def test_edge_values_never_fail(relaxed, shop: Shop) -> None:
    """Each hostile value alone in each field the catalog, the state list and adding tickets
    read: boundaries (year 1, year 9999, a 4,301-digit number) a random walk may miss."""
    buyer = Buyer("edges")
    event = str(shop.events["Quick Ticket Night"]["id"])
    qty = f"qty-{shop.variant('Quick Ticket Night', 'Standard')}"
    failures: list[str] = []

    def check(send: Callable[..., HttpResponse], *args: Any) -> None:
        try:
            send(*args)
        except AssertionError as exc:  # every one of them is reported, not just the first
            failures.append(str(exc))

    for value in [*DATES, *HOSTILE, *HUGE]:
        for name in ("q", "category", "date_from", "date_to", "cursor"):
            check(buyer.get, "/", [(name, value)])
        check(buyer.get, "/checkout/states", [("prefix", "ship"), ("ship-country", value)])
        check(buyer.get, f"/events/{quote(value[:200], safe='')}/")
        check(buyer.post, "/order/add", [("event", value), (qty, "1")])
        check(buyer.post, "/order/add", [("event", event), (qty, value)])
    for path in ("/events/{}/", "/events/{}/event/", "/orders/{}/", "/orders/{}/poll"):
        check(buyer.get, path.format("9" * 4_400))  # past int()'s digit limit
    assert not failures, f"{len(failures)} answered 5xx:\n\n" + "\n\n".join(failures)


# --- adding tickets -------------------------------------------------------------------------


@dataclass
class Adders:
    """A buyer with an open order, and one without (replaced once the fuzz gives it one,
    whose order is let go at once)."""

    with_order: Buyer
    without_order: Buyer


@pytest.fixture
def adders(relaxed, shop) -> Adders:
    with_order = Buyer("add")
    start_order(with_order, shop, "Quick Ticket Night", "Standard")
    return Adders(with_order, Buyer("add"))


FAKE_QTY = ["qty-0", "qty-999999999", "qty--1", "qty-abc", "qty-", "qty-1.5", f"qty-{2**64}"]


@fuzz(250)
@given(data=st.data())
def test_add_to_order_never_fails(data: st.DataObject, adders: Adders, shop: Shop, sandbox) -> None:
    has_order = data.draw(st.booleans(), label="has open order")
    buyer = adders.with_order if has_order else adders.without_order
    names = sorted(shop.events)
    event = shop.events[data.draw(st.sampled_from(names), label="event")]
    other = shop.events[data.draw(st.sampled_from(names), label="other event")]
    offered = shop.quantities[event["id"]]
    fields: dict[str, list[str]] = {
        "event": [str(e["id"]) for e in shop.events.values()] + ["0", "-1", "9" * 13, "1e3"],
        **shop.quantities[other["id"]],  # another event's types: not offered on this page
        **{k: [*v, "11", "-1", "1.0", " 2"] for k, v in offered.items()},
        **{k: ["1", "2"] for k in FAKE_QTY},
    }
    good = {"event": str(event["id"])}
    choosable = {k: [v for v in values if v != "0"] for k, values in offered.items()}
    choosable = {k: v for k, v in choosable.items() if v}
    if choosable:
        qty = data.draw(st.sampled_from(sorted(choosable)), label="type")
        good[qty] = data.draw(st.sampled_from(choosable[qty]), label="quantity")
    posted, encoding = data.draw(body(fields, good, "event"), label="body")
    htmx = data.draw(st.booleans(), label="htmx")
    if encoding == "raw":
        buyer.send("POST", "/order/add", posted, htmx=htmx)
    else:
        buyer.post("/order/add", posted, htmx=htmx, encoding=encoding)
    if not has_order and (opened := buyer.open_order()):
        sandbox.expire(opened[0])  # its hold is not needed: the next buyer starts afresh
        adders.without_order = Buyer("add")


# --- the cart -------------------------------------------------------------------------------

CODES = ["SAVE10", "HALFOFF", "FIVEOFF", "PAUSED", "save10", " SAVE10 ", "NOPE", "S" * 51]
CART_ACTIONS = ["coupon"] * 3 + ["quantity"] * 3 + ["remove"] * 2 + ["resume"] * 2
CART_ACTIONS += ["remove-coupon", "start-over", "garbage", ""]


@dataclass
class CartBuyer:
    """A buyer whose open order the fuzz keeps as ``kind`` says: in the cart, with a promo
    code (which only then can be removed), expired, in checkout, or none at all."""

    kind: str
    buyer: Buyer


@pytest.fixture
def cart_buyers(relaxed) -> list[CartBuyer]:
    kinds = ("open", "coupon", "expired", "checkout", "none")
    return [CartBuyer(kind, Buyer("cart")) for kind in kinds]


def ready_cart(cart: CartBuyer, shop: Shop, gm: GuestManagerClient, sandbox) -> dict[str, Any]:
    """The buyer's open order, put back as ``cart.kind`` wants it; {} for none."""
    if cart.kind == "none":
        return {}
    opened, changed = cart.buyer.open_order(), False
    if opened is None:  # two events' tickets, so the cart has lines to change and group
        opened = start_order(cart.buyer, shop, "Quick Ticket Night", "Standard", 2)
        gm.add_line_item(*opened, shop.variant("Sandbox Showcase", "General admission"), 1)
        changed = True
    order = seen(gm, *opened)
    if not order["line_items"] or (cart.kind == "coupon" and not order.get("promotions")):
        order = gm.get_order(*opened)  # the storefront's copy may predate the last change
    if not order["line_items"]:
        order = gm.add_line_item(*opened, shop.variant("Quick Ticket Night", "Standard"), 1)
        changed = True
    if cart.kind == "coupon" and not order.get("promotions"):
        order = gm.apply_coupon_code(*opened, "SAVE10")
        changed = True
    elif cart.kind == "expired" and order["state"] != "expired":
        wait_settled(gm, *opened)
        sandbox.expire(opened[0])
        changed = True
    elif cart.kind == "checkout" and order["state"] != "payment":
        order = walk(gm, *opened, "payment")
        changed = True
    if changed:  # the storefront sees it as it now is, as on the buyer's next visit
        cart.buyer.get(f"/orders/{opened[0]}/poll")
    return order


@fuzz(260)
@given(data=st.data())
def test_cart_never_fails(
    data: st.DataObject, cart_buyers: list[CartBuyer], shop: Shop, gm, sandbox
) -> None:
    cart = data.draw(st.sampled_from(cart_buyers), label="cart")
    order = ready_cart(cart, shop, gm, sandbox)
    lines = [str(li["id"]) for li in order.get("line_items") or []]
    fields = {
        "action": [*ACTIONS, "Coupon", "start-over "],
        "line": [*lines, "0", "-1", "1.0"],
        "quantity": ["0", "1", "2", "3", "4", "10", "11", "-1"],
        "code": CODES,
    }
    action = data.draw(st.sampled_from(CART_ACTIONS), label="action")
    good = {"action": action}
    if action == "coupon":
        good["code"] = data.draw(st.sampled_from(CODES), label="code")
    line = pick(data.draw, lines)
    if action in ("quantity", "remove") and line is not None:
        good["line"] = line
    if action == "quantity":
        good["quantity"] = data.draw(st.sampled_from(fields["quantity"]), label="quantity")
    posted, encoding = data.draw(body(fields, good, "action"), label="body")
    htmx = data.draw(st.booleans(), label="htmx")
    if encoding == "raw":
        cart.buyer.send("POST", "/cart/", posted, htmx=htmx)
    else:
        cart.buyer.post("/cart/", posted, htmx=htmx, encoding=encoding)


# --- the checkout, in every state an order can be in ----------------------------------------

# state fuzzed: (event, registration type)
CHECKOUT_ORDERS = {
    "cart": ("Quick Ticket Night", "Standard"),
    "tickets": ("Sandbox Showcase", "General admission"),
    "address": ("Poster Print Night", "Ticket + signed poster (shipped)"),
    "delivery": ("Poster Print Night", "Ticket + signed poster (shipped)"),
    "form": ("Sandbox Showcase", "General admission"),
    "payment": ("Quick Ticket Night", "Standard"),
    "expired": ("Sandbox Showcase", "General admission"),
    "complete": ("Quick Ticket Night", "Standard"),
}
EXPIRED_ON = "address"  # the step the expired order ran out on


def offered_fields(page: FormScraper, shop: Shop) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Every checkout field name (those the page shows first) with plausible and wrong
    values, and a correct submission of the page's own form."""
    fields: dict[str, list[str]] = {n: [] for n in CHECKOUT_FIELDS}
    good: dict[str, str] = {}
    for name in [*page.fields, *CHECKOUT_FIELDS]:
        suffix = name.rsplit("-", 1)[-1]
        offered = page.fields.get(name, [])
        candidates = [*offered, *WRONG.get(suffix, [])]
        if suffix in GOOD:
            candidates.append(GOOD[suffix])
        if suffix in ("country", "state"):
            candidates += [shop.country, shop.state, "-1", "0", "../1", "%2e%2e", "1e3"]
        fields[name] = list(dict.fromkeys([*fields.get(name, []), *candidates]))
        kind = page.types.get(name)
        if kind is None or kind == "checkbox" or name == "action":
            continue
        if suffix in ("country", "state"):
            good[name] = shop.country if suffix == "country" else shop.state
        elif kind == "radio" and offered:
            good[name] = offered[0]
        elif name[:1] == "a" and name[1:].isdigit():
            good[name] = "Yes"
        elif name.startswith("t") and suffix == "email":
            good[name] = "grace@example.com"
        elif suffix in GOOD:
            good[name] = GOOD[suffix]
        elif offered:
            good[name] = offered[0]
    fields["step"] += STEP_NAMES
    fields["action"] += ACTIONS
    return fields, good


@dataclass(repr=False)
class Checkout:
    """A buyer whose order the fuzz keeps in ``target``, with what the page offers there."""

    buyer: Buyer
    gm: GuestManagerClient
    sandbox: Any
    shop: Shop
    target: str
    order_id: int = 0
    token: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    good: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Checkout: order {self.order_id} kept in {self.target}>"

    @property
    def url(self) -> str:
        return f"/orders/{self.order_id}/"

    def start(self) -> None:
        event, type_name = CHECKOUT_ORDERS[self.target]
        self.order_id, self.token = start_order(self.buyer, self.shop, event, type_name)
        if self.target == "expired":
            walk(self.gm, self.order_id, self.token, EXPIRED_ON)
            self.scrape()  # a correct post is one for the step it ran out on
            form_fields, form_good = self.fields, self.good
            self.sandbox.expire(self.order_id)
            self.scrape()
            self.fields = {
                k: list(dict.fromkeys([*form_fields.get(k, []), *v]))
                for k, v in self.fields.items()
            }
            self.good = form_good
        elif self.target == "complete":
            order = walk(self.gm, self.order_id, self.token, "payment")
            pay(self.gm, order, self.sandbox.card_token())
            assert wait_settled(self.gm, self.order_id, self.token)["state"] == "complete"
            self.scrape()
        else:
            walk(self.gm, self.order_id, self.token, self.target)
            self.scrape()

    def scrape(self) -> None:
        """What the page offers now. The second view is always fresh: a first one may show
        a payload handed off by the last post."""
        self.buyer.get(self.url)
        self.fields, self.good = offered_fields(scrape(self.buyer.get(self.url)), self.shop)
        self.good.setdefault("step", self.target)  # pages with no form of their own

    def ready(self) -> None:
        """Back in ``target`` (and this buyer's) if the last example moved it on. Tickets
        and answers outlive a rewind, so the fields scraped at the start still apply."""
        if self.order_id not in self.buyer.orders():
            self.buyer.own(self.order_id, self.token)  # after a start-over
        state = seen(self.gm, self.order_id, self.token)["state"]
        if state == self.target or (self.target == "payment" and state == "processing"):
            return  # processing: fuzzed too, until the made-up card is declined
        if self.target == "expired":
            wait_settled(self.gm, self.order_id, self.token)
            self.sandbox.expire(self.order_id)
        else:
            walk(self.gm, self.order_id, self.token, self.target)
        self.buyer.get(f"{self.url}poll")  # the storefront sees it as it now is


def pay(gm: GuestManagerClient, order: dict[str, Any], token: str) -> dict[str, Any]:
    payment = {
        "payment_method_id": order["payment_methods"][0]["id"],
        "source": {"token": token, "brand": "visa", "last_four": "4242"},
    }
    return gm.checkout_update(order["id"], order["guest_token"], "payment", payments=[payment])


@pytest.fixture(params=list(CHECKOUT_ORDERS))
def checkout(request, relaxed, shop, gm, sandbox) -> Checkout:
    found = Checkout(Buyer("checkout"), gm, sandbox, shop, request.param)
    found.start()
    return found


POLL_N = ["0", "1", "3", "9", "10", "11", "-1", "-99", "1.5", "", str(2**64), "9" * 400]


@fuzz(90)
@given(data=st.data())
def test_checkout_never_fails(data: st.DataObject, checkout: Checkout) -> None:
    checkout.ready()
    buyer, url = checkout.buyer, checkout.url
    htmx = data.draw(st.booleans(), label="htmx")
    kind = data.draw(st.sampled_from(["post"] * 6 + ["poll", "calendar", "page"]), label="kind")
    if kind == "post":
        posted, encoding = data.draw(body(checkout.fields, checkout.good, "step"), label="body")
        if encoding == "raw":
            buyer.send("POST", url, posted, htmx=htmx)
        else:
            buyer.post(url, posted, htmx=htmx, encoding=encoding)
    elif kind == "poll":
        buyer.get(f"{url}poll", data.draw(form_data({"n": POLL_N}, {})), htmx=htmx)
    elif kind == "calendar":
        buyer.get(f"{url}calendar.ics", data.draw(form_data({"n": []}, {})), htmx=htmx)
    else:
        buyer.get(url, data.draw(form_data({"step": STEP_NAMES}, {})), htmx=htmx)


# --- the default abuse limits answer 429, never 5xx -----------------------------------------


def test_default_limits_answer_429_never_5xx(storefront_settings, shop, gm, sandbox) -> None:
    """With the default limits, adds, new orders and payment attempts beyond them are
    refused with a 429 and a Retry-After. A buyer's first request has no session yet and
    counts against its address only, hence one attempt more than each limit."""
    last: dict[str, HttpResponse] = {}

    def sent(response: HttpResponse, policy: str) -> None:
        if response.status_code == 429:
            assert response["Retry-After"].isdigit()
        last[policy] = response

    # Adds to an order: 60 a session.
    adder = Buyer("limits")
    event = shop.events["Free Community Meetup"]
    rsvp = shop.variant("Free Community Meetup", "RSVP")
    for i in range(62):
        add = [("event", str(event["id"])), (f"qty-{rsvp}", "1"), ("x" * (i % 3), "\x00")]
        sent(adder.post("/order/add", add, htmx=i % 2 == 1), "CART_ADD")

    # New orders: 10 a session, starting over from the cart.
    restarter = Buyer("limits")
    start_order(restarter, shop, "Free Community Meetup", "RSVP")
    for i in range(11):
        action = [("action", "start-over"), ("code", "<script>")]
        sent(restarter.post("/cart/", action, htmx=i % 2 == 1), "ORDER_CREATE")

    # Promo codes tried: 10 a session; changes to the cart: 30.
    guesser = Buyer("limits")
    start_order(guesser, shop, "Free Community Meetup", "RSVP")
    for i in range(11):
        guess = [("action", "coupon"), ("code", f"GUESS{i}")]
        sent(guesser.post("/cart/", guess, htmx=i % 2 == 1), "COUPON_TRY")
    assert "Too many attempts" in last["COUPON_TRY"].content.decode()
    assert 'value="GUESS10"' in last["COUPON_TRY"].content.decode()  # what was typed, kept

    # Payment attempts: 5 an order, each declined before the next.
    payer = Buyer("limits")
    order_id, token = start_order(payer, shop, "Quick Ticket Night", "Standard")
    method = walk(gm, order_id, token, "payment")["payment_methods"][0]["id"]
    form = [(k, GOOD[k]) for k in ("token", "brand", "last_four", "cardholder_name")]
    form += [("step", "payment"), ("payment_method_id", str(method))]
    for i in range(6):
        sent(payer.post(f"/orders/{order_id}/", form, htmx=i % 2 == 1), "PAYMENT_ATTEMPT")
        wait_settled(gm, order_id, token)
        payer.get(f"/orders/{order_id}/poll")  # the storefront sees the decline
    assert {policy: r.status_code for policy, r in last.items()} == {
        "CART_ADD": 429,
        "ORDER_CREATE": 429,
        "COUPON_TRY": 429,
        "PAYMENT_ATTEMPT": 429,
    }


# --- at least MIN_REQUESTS, none of them a 5xx ----------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def enough_requests() -> Iterator[None]:
    """Checked once every test of the module has run, in whatever order they ran (a failure
    shows at the teardown of the last one). Only a run of the whole module counts."""
    yield
    print_tally()
    if set(TALLY.parts) >= PARTS:
        assert TALLY.requests >= MIN_REQUESTS, f"only {TALLY.requests} fuzz requests"
        assert not [status for status in TALLY.statuses if status >= 500]
