"""The catalog replica: the sync's passes against the real sandbox, the worker's lock and
order, and catalog pages answered from the replica with no API call."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from guestmanager import process_stats
from infra import budget
from replica import queries, sync, worker
from replica.models import CatalogCategory, CatalogEvent, EventCategory, SyncState

from .helpers import GENERAL_ADMISSION, new_event

REDIS_URL = "redis://127.0.0.1:6379/15"


def _shop():
    from tenancy.shop import default_shop

    return default_shop()


def _active(gm, **filters) -> list[dict]:
    pages = gm.iter_events(filters={"status": "active", **filters}, page_size=200)
    return [e for page in pages for e in page]


def _stored(event_id: int) -> dict:
    found = queries.event(_shop().namespace, event_id)
    assert found is not None
    return found


class Calls:
    """API calls this process makes inside the block."""

    def __enter__(self) -> Calls:
        self.before = process_stats.snapshot()["total"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.made = process_stats.snapshot()["total"] - self.before


# --- the sync ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_full_pass_copies_every_active_event_and_the_categories(storefront_settings, gm):
    CatalogEvent.objects.all().delete()
    SyncState.objects.all().delete()
    result = sync.full_pass(_shop())
    assert result.complete and not result.error
    api = _active(gm)
    stored = CatalogEvent.objects.filter(merchant=_shop().namespace)
    assert sorted(stored.values_list("event_id", flat=True)) == sorted(e["id"] for e in api)
    assert result.events == len(api)
    pages = -(-len(api) // sync.API_PAGE_SIZE)
    assert result.calls == pages + 1  # the events' pages and the categories'
    categories = gm.list_categories().data
    assert queries.categories(_shop().namespace) == sorted(
        categories, key=lambda c: (c.get("position") or 0, c["id"])
    )
    state = SyncState.objects.get(merchant=_shop().namespace)
    assert state.last_full_at and state.events == len(api) and state.calls >= result.calls


@pytest.mark.django_db
def test_the_categories_are_read_when_old_or_when_an_event_names_a_new_one(storefront_settings, gm):
    namespace = _shop().namespace
    pages = -(-len(_active(gm)) // sync.API_PAGE_SIZE)
    assert sync.full_pass(_shop(), categories=True).calls == pages + 1
    again = sync.full_pass(_shop())
    assert again.complete and again.calls == pages  # the categories were just read

    named = EventCategory.objects.filter(event__merchant=namespace).first()
    CatalogCategory.objects.filter(merchant=namespace, category_id=named.category_id).delete()
    new_one = sync.full_pass(_shop())  # as if an event were now in a category not stored
    assert new_one.calls == pages + 1 and new_one.categories
    assert CatalogCategory.objects.filter(
        merchant=namespace, category_id=named.category_id
    ).exists()

    old = timezone.now() - timedelta(seconds=storefront_settings.REPLICA_CATEGORIES_SECONDS)
    SyncState.objects.filter(merchant=namespace).update(last_categories_at=old)
    assert sync.full_pass(_shop()).calls == pages + 1


@pytest.mark.django_db
def test_a_pass_that_sees_stock_move_marks_the_merchant_selling(storefront_settings, gm, sandbox):
    namespace = _shop().namespace
    event = new_event(gm, {"name": "Entry", "price": 20}, {"name": "Later", "price": 30})
    SyncState.objects.filter(merchant=namespace).update(last_stock_move_at=None)
    new_event(gm, {"name": "Entry", "price": 20}, copy_to_replica=False)
    first = sync.full_pass(_shop())
    assert first.changed >= 1 and first.stock_moved == 0  # a new event is not a sale
    assert SyncState.objects.get(merchant=namespace).last_stock_move_at is None
    sandbox.set_stock(event["registration_types"][0]["variant_id"], 3, "selling")
    moved = sync.full_pass(_shop())
    assert moved.stock_moved == 1
    state = SyncState.objects.get(merchant=namespace)
    assert state.last_stock_move_at is not None
    assert 0 < state.soon_events < state.events


@pytest.mark.django_db
def test_a_soon_pass_reads_the_events_on_sale_now_or_within_two_weeks(storefront_settings, gm):
    now = timezone.now()
    result = sync.soon_pass(_shop(), now)
    until = (now + timedelta(days=14)).isoformat()
    assert result.complete and result.removed == 0
    assert result.events == len(_active(gm, starts_at={"to": until}))
    assert 0 < result.events < CatalogEvent.objects.count()


@pytest.mark.django_db
def test_a_changed_price_and_a_sold_out_type_show_after_a_pass(
    client, storefront_settings, gm, sandbox
):
    storefront_settings.PAGE_CACHE_SECONDS = 0  # whole pages are kept a few seconds
    event = new_event(gm, {"name": "Entry", "price": 20})
    entry = event["registration_types"][0]
    path = f"/events/{event['id']}/{event['slug']}/"
    assert "$20.00" in client.get(path).content.decode()

    dearer = {"id": entry["id"], "price": 25, "ticket_type_id": GENERAL_ADMISSION}
    _updated, operation = gm.update_event(event["id"], {"registration_types": [dearer]})
    if operation:
        gm.wait_for_operation(event["id"], operation, first_delay=0.05, max_delay=0.2, timeout=30)
    sandbox.set_stock(entry["variant_id"], 0, "sold_out")
    assert "$20.00" in client.get(path).content.decode()  # the replica, until a pass
    result = sync.full_pass(_shop())
    assert result.complete and result.changed >= 1
    page = client.get(path).content.decode()
    assert "$25.00" in page and "$20.00" not in page
    assert "Sold out" in page


@pytest.mark.django_db
def test_an_event_the_api_no_longer_lists_goes_after_a_complete_pass_only(
    storefront_settings, settings
):
    namespace = _shop().namespace
    gone = CatalogEvent.objects.filter(merchant=namespace).first()
    gone.pk, gone.event_id = None, 987_654_321  # as if deleted upstream since the last pass
    gone.save()
    # A budget with room for one catalog call: the pass reads its first page, then stops.
    settings.UPSTREAM_BUDGET_PER_MINUTE = 1
    settings.UPSTREAM_SYNC_RESERVE = 0
    settings.UPSTREAM_BUDGET_BURST = 2
    settings.UPSTREAM_CATALOG_WAIT = 0
    budget.local.reset()
    try:
        cut_short = sync.full_pass(_shop())
    finally:
        settings.UPSTREAM_BUDGET_PER_MINUTE = 0
        budget.local.reset()
    assert not cut_short.complete and cut_short.exhausted and cut_short.calls == 1
    assert "budget" in cut_short.error
    assert queries.event(namespace, 987_654_321) is not None  # an incomplete pass removes none
    state = SyncState.objects.get(merchant=namespace)
    assert state.last_error and state.last_full_at < state.last_attempt_at

    complete = sync.full_pass(_shop())
    assert complete.complete and complete.removed == 1
    assert queries.event(namespace, 987_654_321) is None
    assert SyncState.objects.get(merchant=namespace).last_error == ""


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


@pytest.mark.django_db
def test_of_two_workers_one_syncs(storefront_settings):
    _redis()
    key = f"replica-test-{uuid.uuid4().hex}"
    first, second = worker.Lock(REDIS_URL, key), worker.Lock(REDIS_URL, key)
    assert first.acquire() and not second.acquire()
    assert first.acquire()  # renewed
    said: list[str] = []
    worker.run_forever(
        lambda line, result: said.append(line), lock=second, sleep=lambda s: None, rounds=2
    )
    assert said == ["another worker syncs the catalog; waiting to take over"]
    first.release()
    assert second.acquire() and not first.acquire()
    second.release()


def test_without_redis_a_worker_just_runs(settings):
    assert worker.Lock("", "any").acquire()


# --- pages ------------------------------------------------------------------------------------


def _next_url(html: str) -> str:
    found = re.search(r'href="(/\?[^"]*cursor=[^"]+)"', html)
    assert found, "the page links to more"
    return found.group(1).replace("&amp;", "&")


@pytest.mark.django_db
def test_browsing_the_catalog_costs_no_api_call(client, storefront_settings):
    namespace = _shop().namespace
    recurring = CatalogEvent.objects.filter(
        merchant=namespace, type="recurring", parent_id=None
    ).first()
    parent = CatalogEvent.objects.filter(merchant=namespace, type="parent").first()
    category = queries.categories(namespace)[0]["id"]
    day = (timezone.now() + timedelta(days=3)).date().isoformat()
    with Calls() as calls:
        first = client.get("/")
        assert first.status_code == 200
        more = client.get(_next_url(first.content.decode()))
        assert more.status_code == 200 and more.content != first.content
        found = client.get("/?q=quick")
        assert b"Quick Ticket Night" in found.content
        assert client.get(f"/?category={category}").status_code == 200
        assert client.get(f"/?date_from={day}&date_to={day}").status_code == 200
        for row in (recurring, parent):
            page = client.get(f"/events/{row.event_id}/", follow=True)
            assert page.status_code == 200 and row.name in page.content.decode()
        dates = client.get(f"/events/{recurring.event_id}/", follow=True).content.decode()
        assert re.search(r'<ul class="dates"', dates)
    assert calls.made == 0


@pytest.mark.django_db
def test_a_search_finds_what_the_api_search_finds(client, storefront_settings, gm):
    for term in ("quick", "night", "gala"):
        api = {e["id"] for e in _active(gm, search=term) if not e["parent_event_id"]}
        page = client.get("/", {"q": term}).content.decode()
        listed = {int(i) for i in re.findall(r'href="/events/(\d+)/', page)}
        assert api and listed <= api, term


@pytest.mark.django_db
def test_an_unknown_event_is_a_404_and_a_forged_cursor_a_400_without_a_call(
    client, storefront_settings
):
    with Calls() as calls:
        assert client.get("/events/5555555/").status_code == 404
        assert client.get("/events/5555555/").status_code == 404
        bad = client.get("/?cursor=bad1")
        assert bad.status_code == 400 and b"event" in bad.content
        first = client.get("/").content.decode()
        signed = _next_url(first).split("cursor=", 1)[1]
        tampered = signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")
        assert client.get(f"/?cursor={tampered}").status_code == 400
    assert calls.made == 0


@pytest.mark.django_db
def test_a_merchant_never_synced_cannot_load_rather_than_look_empty(client, storefront_settings):
    SyncState.objects.all().delete()
    CatalogEvent.objects.all().delete()
    with Calls() as calls:
        page = client.get("/?q=anything")
        assert page.status_code == 503
        assert "can’t load events right now" in page.content.decode()
        assert client.get("/events/1/").status_code == 503
    assert calls.made == 0


@pytest.mark.django_db
def test_a_refused_add_puts_the_truth_in_the_replica_at_once(
    client, storefront_settings, gm, sandbox
):
    storefront_settings.PAGE_CACHE_SECONDS = 0  # whole pages are kept a few seconds
    event = new_event(gm, {"name": "Entry", "price": 20})
    entry = event["registration_types"][0]
    path = f"/events/{event['id']}/{event['slug']}/"
    assert f'name="qty-{entry["variant_id"]}"' in client.get(path).content.decode()
    sandbox.set_stock(entry["variant_id"], 0, "sold_out")  # sold out since the last pass

    refused = client.post("/order/add", {"event": event["id"], f"qty-{entry['variant_id']}": 1})
    assert refused.status_code in (409, 422)
    stored = _stored(event["id"])["registration_types"][0]["stock_item"]
    assert stored["status"] == "sold_out"
    assert "Sold out" in refused.content.decode()  # the page shown again, as the API has it
    assert "Sold out" in client.get(path).content.decode()


@pytest.mark.django_db
def test_tickets_added_mark_the_merchant_selling(client, storefront_settings, gm):
    event = new_event(gm, {"name": "Entry", "price": 20})
    entry = event["registration_types"][0]
    namespace = _shop().namespace
    SyncState.objects.filter(merchant=namespace).update(last_sale_at=None)
    sync._sales_noted.clear()
    added = client.post("/order/add", {"event": event["id"], f"qty-{entry['variant_id']}": 1})
    assert added.status_code == 302
    assert SyncState.objects.get(merchant=namespace).last_sale_at is not None


@pytest.mark.django_db
def test_a_search_of_symbols_alone_matches_nothing(client, storefront_settings):
    for query in ("!!!", "%", "*", '"', "😀"):
        page = client.get("/", {"q": query}).content.decode()
        assert "No upcoming events match your search." in page, query


@pytest.mark.django_db
def test_full_text_search_on_postgresql(client, storefront_settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's full-text search: run with DATABASE_URL=postgres://…")
    row = CatalogEvent.objects.filter(name="Quick Ticket Night").first()
    assert row is not None and row.search_document
    # Word beginnings, any case, across name and description.
    assert [
        e["name"]
        for e in queries.listed(_shop().namespace, queries.EventFilter(search="QUI tick"), limit=5)
    ] == ["Quick Ticket Night"]
    page = client.get("/", {"q": "quick tick"})
    assert b"Quick Ticket Night" in page.content


@pytest.mark.django_db
def test_tickets_taken_here_lower_the_copy_and_an_older_read_does_not_undo_it(
    storefront_settings, gm
):
    namespace = _shop().namespace
    event = new_event(gm, {"name": "Entry", "price": 20, "inventory": 10})
    variant = event["registration_types"][0]["variant_id"]
    read_at = timezone.now()
    as_read = gm.get_event(event["id"], include=sync.EVENT_INCLUDE)  # a pass reads: 10 left
    sync.take_stock(namespace, {event["id"]}, {variant: 4})  # an add here, after that read
    stock = _stored(event["id"])["registration_types"][0]["stock_item"]
    assert stock["available"] == 6
    sync.store_events(namespace, [as_read], read_at=read_at)  # the pass writes what it read
    assert _stored(event["id"])["registration_types"][0]["stock_item"]["available"] == 6
    # A read that began after the add is the API's word, and replaces the copy's count.
    sync.store_events(namespace, [as_read], read_at=timezone.now())
    assert _stored(event["id"])["registration_types"][0]["stock_item"]["available"] == 10
