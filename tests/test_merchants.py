"""Many merchants on one deployment: resolution, separation, stored keys, admin, import."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.management import call_command
from django.test import Client

from tenancy import crypto
from tenancy.models import Merchant
from tenancy.shop import directory, from_merchant

from .helpers import load_replica, variant
from .web import csrf

HARBOUR_ORIGIN = "http://127.0.0.1:9"
NORTHWIND_ORIGIN = "http://localhost:9"


def make_merchant(slug: str, name: str, api_url: str, key: str, **fields) -> Merchant:
    merchant = Merchant(name=name, slug=slug, api_url=api_url, **fields)
    merchant.set_api_key(key)
    merchant.full_clean()
    merchant.save()
    return merchant


@pytest.fixture
def merchants(db, storefront_settings, sandbox):
    harbour = make_merchant(
        "harbour",
        "Harbour Lights",
        sandbox.api_url,
        settings.SANDBOX["WRITE_KEY"],
        primary_colour="#7a1f5c",
        accent_colour="#7a1f5c",
        embed_origins=HARBOUR_ORIGIN,
        support_email="help@harbour.test",
        domains="tickets.harbour.test",
    )
    northwind = make_merchant(
        "northwind",
        "Northwind Live",
        sandbox.api_url,
        settings.SANDBOX["COMPANY2_WRITE_KEY"],
        primary_colour="#0f6e5a",
        accent_colour="#0f6e5a",
        font_stack="Georgia, serif",
        embed_origins=NORTHWIND_ORIGIN,
    )
    directory.forget()
    for merchant in (harbour, northwind):
        load_replica(sandbox, from_merchant(merchant))
    yield harbour, northwind
    directory.forget()


def _event_ids(html: bytes) -> set[int]:
    return {int(i) for i in re.findall(rb'href="[^"]*/events/(\d+)/', html)}


# --- resolution and branding ----------------------------------------------------------------


def test_each_merchant_shows_its_own_catalog_and_branding(merchants, gm):
    web = Client()
    harbour = web.get("/m/harbour/")
    northwind = web.get("/m/northwind/")
    assert harbour.status_code == northwind.status_code == 200
    assert b"Harbour Lights" in harbour.content and b"Northwind Live" in northwind.content
    assert b"/m/harbour/events/" in harbour.content
    assert b"/m/northwind/events/" in northwind.content
    harbour_ids, northwind_ids = _event_ids(harbour.content), _event_ids(northwind.content)
    assert harbour_ids and northwind_ids and not harbour_ids & northwind_ids
    assert b"Sandbox Showcase" in harbour.content and b"Sandbox Showcase" not in northwind.content
    # Branding: a versioned stylesheet of --brand-* properties, not inline style.
    css_url = re.search(rb'href="(/m/northwind/brand\.css\?v=\w+)"', northwind.content).group(1)
    css = web.get(css_url.decode())
    assert css["Content-Type"].startswith("text/css")
    assert b"--brand-primary:#0f6e5a" in css.content and b"Georgia" in css.content
    assert b"--brand-on-primary:#ffffff" in css.content
    assert b"help@harbour.test" in harbour.content


def test_unknown_merchant_and_custom_domains(merchants):
    web = Client()
    assert web.get("/m/nobody/").status_code == 404
    assert web.get("/m/harbour").status_code == 301
    by_domain = web.get("/", HTTP_HOST="tickets.harbour.test")
    assert by_domain.status_code == 200 and b"Harbour Lights" in by_domain.content
    # On its own domain its links need no prefix, and other merchants are not reachable.
    assert b'href="/events/' in by_domain.content and b"/m/harbour/" not in by_domain.content
    assert web.get("/m/northwind/", HTTP_HOST="tickets.harbour.test").status_code == 404
    assert web.get("/admin/", HTTP_HOST="tickets.harbour.test").status_code == 404


def test_a_single_merchant_deployment_needs_no_merchant_rows(db, storefront_settings):
    assert not Merchant.objects.exists()
    page = Client().get("/")
    assert page.status_code == 200 and b"Sandbox Showcase" in page.content


# --- separation -------------------------------------------------------------------------------


def _open_order(web: Client, prefix: str, gm, event_name: str, type_name: str) -> int:
    event = next(e for e in gm.list_events(filters={"name": event_name}))
    page = web.get(f"{prefix}events/{event['id']}/{event['slug']}/")
    assert page.status_code == 200, page.status_code
    added = web.post(
        f"{prefix}order/add",
        {
            "csrfmiddlewaretoken": csrf(page),
            "event": event["id"],
            f"qty-{variant(gm, event_name, type_name)}": "1",
        },
    )
    assert added.status_code == 302 and added["Location"] == f"{prefix}cart/"
    cart = web.get(f"{prefix}cart/")
    return int(re.search(rf"{prefix}orders/(\d+)/".encode(), cart.content).group(1))


def test_one_merchants_session_cannot_open_anothers_order(merchants, gm):
    buyer = Client()
    order_id = _open_order(buyer, "/m/harbour/", gm, "Sandbox Showcase", "General admission")
    assert buyer.get(f"/m/harbour/orders/{order_id}/").status_code == 200
    # Each merchant has its own session cookie, scoped to its path.
    cookie = buyer.cookies["sessionid-harbour"]
    assert cookie["path"] == "/m/harbour/" and "sessionid-northwind" not in buyer.cookies
    other = buyer.get(f"/m/northwind/orders/{order_id}/")
    assert other.status_code == 404 and b"isn\xe2\x80\x99t open in this browser" in other.content
    # Even the harbour session's key, presented as northwind's (or the default's) cookie,
    # opens nothing: a session only serves the merchant it began with.
    thief = Client()
    thief.cookies["sessionid-northwind"] = cookie.value
    thief.cookies["sessionid"] = cookie.value
    assert thief.get(f"/m/northwind/orders/{order_id}/").status_code == 404
    assert thief.get(f"/orders/{order_id}/").status_code == 404
    # Nor does the default merchant's cart show it.
    assert f"/orders/{order_id}/".encode() not in thief.get("/cart/").content


def test_an_address_opening_orders_is_capped_across_merchants(merchants, gm, sandbox, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "ORDER_CREATE": {"ip": (2, 600), "deployment_ip": (3, 600)},
    }
    northwind_gm = sandbox.client(settings.SANDBOX["COMPANY2_WRITE_KEY"])

    def open_order(prefix: str, api, event_name: str, type_name: str):
        web = Client()  # a new session each time, from one address
        event = next(e for e in api.list_events(filters={"name": event_name}))
        page = web.get(f"{prefix}events/{event['id']}/{event['slug']}/")
        quantity = f"qty-{variant(api, event_name, type_name)}"
        form = {"csrfmiddlewaretoken": csrf(page), "event": event["id"], quantity: "1"}
        return web.post(f"{prefix}order/add", form)

    harbour = [
        open_order("/m/harbour/", gm, "Sandbox Showcase", "General admission").status_code
        for _ in range(3)
    ]
    assert harbour == [302, 302, 429]  # the merchant's own cap
    with northwind_gm:
        northwind = [
            open_order("/m/northwind/", northwind_gm, "Northwind Opening Night", "Floor")
            for _ in range(2)
        ]
    assert [r.status_code for r in northwind] == [302, 429]  # the deployment's
    assert "Too many attempts" in northwind[1].content.decode()
    assert int(northwind[1]["Retry-After"]) > 0


def cache_keys() -> list[str]:
    """Every key in the cache: local memory (make test) or Redis (make test-production)."""
    if isinstance(cache._cache, RedisCacheClient):
        return [k.decode() for k in cache._cache.get_client().keys(cache.make_key("*"))]
    return list(cache._cache.keys())


def test_every_cache_key_carries_the_merchant(merchants, gm, settings):
    harbour, northwind = (from_merchant(m) for m in merchants)
    cache.clear()
    for prefix, event in (("/m/harbour/", "Sandbox Showcase"), ("/m/northwind/", None)):
        web = Client()
        web.get(prefix)
        if event:
            _open_order(web, prefix, gm, event, "General admission")
    northwind_event = _event_ids(Client().get("/m/northwind/").content).pop()
    Client().get(f"/m/northwind/events/{northwind_event}/")
    keys = cache_keys()
    assert keys
    namespaces = (harbour.namespace, northwind.namespace)
    # The deployment's own: an address's limits on all merchants together, and the waiting
    # room's measure of what a checkout costs the API they share.
    deployment = ("rl-all:", "room:meter:")
    unmarked = [k for k in keys if not any(n in k for n in (*namespaces, *deployment))]
    assert not unmarked
    assert any(harbour.namespace in k for k in keys)
    assert any(northwind.namespace in k for k in keys)


def test_each_merchant_is_answered_from_its_own_replica(merchants):
    """Each merchant's pages list its own catalog, and an event of another merchant is not
    found under its pages: the replica is per merchant, and answers with no API call."""
    from guestmanager import process_stats

    web = Client()
    before = process_stats.snapshot()["total"]
    northwind_events = _event_ids(web.get("/m/northwind/").content)
    harbour_events = _event_ids(web.get("/m/harbour/").content)
    assert northwind_events and harbour_events and not northwind_events & harbour_events
    theirs = min(harbour_events)
    assert web.get(f"/m/northwind/events/{theirs}/").status_code == 404
    assert web.get(f"/m/harbour/events/{theirs}/", follow=True).status_code == 200
    assert process_stats.snapshot()["total"] == before


# --- stored keys and the admin ----------------------------------------------------------------


def test_api_keys_are_encrypted_at_rest_and_keys_rotate(db, settings):
    old = crypto.new_key()
    settings.MERCHANT_ENCRYPTION_KEYS = [old]
    merchant = make_merchant("acme", "Acme", "https://api.example/v2", "live_secret_abcdef123456")
    stored = Merchant.objects.values_list("api_key_encrypted", flat=True).get()
    assert "live_secret" not in stored and stored != "live_secret_abcdef123456"
    assert settings.SECRET_KEY not in settings.MERCHANT_ENCRYPTION_KEYS
    new = crypto.new_key()
    settings.MERCHANT_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_merchant_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.MERCHANT_ENCRYPTION_KEYS = [new]  # the old key retired
    merchant.refresh_from_db()
    assert merchant.api_key == "live_secret_abcdef123456"
    settings.MERCHANT_ENCRYPTION_KEYS = [old]
    with pytest.raises(crypto.InvalidToken):
        _ = merchant.api_key


@pytest.fixture
def admin_client(db, client):
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("admin", "admin@example.com", "pw-not-used")
    client.force_login(user)
    return client


def _admin_form(merchant: Merchant, **changes) -> dict[str, str]:
    from tenancy.admin import MerchantForm

    fields = [f for f in MerchantForm._meta.fields if f not in {"active", "company_id"}]
    data = {name: getattr(merchant, name) or "" for name in fields}
    data["active"] = "on"
    data.update(changes)
    return data


def test_admin_keeps_the_key_write_only_and_refuses_unreadable_colours(admin_client):
    merchant = make_merchant("acme", "Acme", "https://api.example/v2", "live_secret_abcdef123456")
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"live_secret" not in page.content and b"3456" in page.content  # a hint only
    refused = admin_client.post(url, _admin_form(merchant, primary_colour="#ffcc00"))
    assert refused.status_code == 200
    body = refused.content.decode()
    assert "1.51:1" in body and "at least 3:1" in body
    assert Merchant.objects.get().primary_colour != "#ffcc00"
    bad_origin = admin_client.post(url, _admin_form(merchant, embed_origins="javascript:alert(1)"))
    assert "is not an origin" in bad_origin.content.decode()
    kept = admin_client.post(url, _admin_form(merchant, name="Acme Tickets"))
    assert kept.status_code == 302
    assert Merchant.objects.get().api_key == "live_secret_abcdef123456"
    replaced = admin_client.post(url, _admin_form(merchant, api_key="live_secret_new_0987654321"))
    assert replaced.status_code == 302
    assert Merchant.objects.get().api_key == "live_secret_new_0987654321"


def test_two_merchants_cannot_claim_one_domain(db):
    make_merchant("one", "One", "https://api.example/v2", "k" * 20, domains="shop.example")
    two = Merchant(name="Two", slug="two", api_url="https://api.example/v2", domains="SHOP.example")
    two.set_api_key("k" * 20)
    with pytest.raises(Exception, match="Already used by another merchant"):
        two.full_clean()


# --- Enterprise -----------------------------------------------------------------------------


def test_import_companies_creates_a_merchant_per_company_once(
    db, storefront_settings, sandbox, capsys
):
    storefront_settings.GM_ENTERPRISE_KEY = settings.SANDBOX["ENTERPRISE_KEY"]
    enterprise_url = f"{sandbox.url}/sandbox/api/public/enterprise/v1"
    call_command("import_companies", enterprise_url=enterprise_url, api_url=sandbox.api_url)
    merchants = list(Merchant.objects.order_by("company_id"))
    assert len(merchants) >= 2
    assert all(m.company_id and m.api_key for m in merchants)
    call_command("import_companies", enterprise_url=enterprise_url, api_url=sandbox.api_url)
    assert Merchant.objects.count() == len(merchants)
    assert "kept" in capsys.readouterr().out
    directory.forget()
    # An imported merchant sells its own company's catalog.
    second = merchants[1]
    load_replica(sandbox, from_merchant(second))
    page = Client().get(f"/m/{second.slug}/")
    assert page.status_code == 200 and b"Sandbox Showcase" not in page.content
    assert _event_ids(page.content)
