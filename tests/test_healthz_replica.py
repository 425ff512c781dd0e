"""/healthz says how current the catalog replica is, for the deployment as a whole: the
oldest merchant's last full pass, how many merchants are stale or never synced, and the
calls the sync has spent; never which merchants, at one query and no API call of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guestmanager import process_stats
from replica.models import SyncState
from tenancy.shop import default_shop, directory, from_merchant

from .test_merchants import make_merchant

STALE_SECONDS = 600


@pytest.fixture
def stale_limit(storefront_settings):
    storefront_settings.REPLICA_STALE_SECONDS = STALE_SECONDS
    return storefront_settings


def _synced(namespace: str, ago: timedelta, calls: int) -> None:
    at = timezone.now() - ago
    SyncState.objects.update_or_create(
        merchant=namespace,
        defaults={"last_full_at": at, "last_soon_at": at, "last_attempt_at": at, "calls": calls},
    )


@pytest.mark.django_db
def test_a_current_replica_is_ok(client, stale_limit):
    SyncState.objects.all().delete()
    _synced(default_shop().namespace, timedelta(seconds=30), calls=4)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["replica"]["merchants"] == 1
    assert body["replica"]["stale"] == body["replica"]["never_synced"] == 0
    assert body["replica"]["sync_calls"] == 4


@pytest.mark.django_db
def test_a_stale_or_never_synced_merchant_degrades_health_but_keeps_it_200(
    client, stale_limit, sandbox
):
    northwind = make_merchant(
        "northwind", "Northwind Live", sandbox.api_url, stale_limit.SANDBOX["COMPANY2_WRITE_KEY"]
    )
    newcomer = make_merchant("newcomer", "Newcomer Hall", sandbox.api_url, "newcomer-key-000000")
    directory.forget()
    late = from_merchant(northwind).namespace
    SyncState.objects.all().delete()
    _synced(default_shop().namespace, timedelta(seconds=30), calls=4)
    _synced(late, timedelta(seconds=STALE_SECONDS + 3600), calls=6)
    # A merchant no longer active: its calls were spent, its staleness is nobody's concern.
    _synced("departed0000000", timedelta(days=30), calls=5)
    late_full_at = SyncState.objects.get(merchant=late).last_full_at

    before = timezone.now()
    response = client.get("/healthz")
    after = timezone.now()

    assert response.status_code == 200  # the same replica for every instance: keep them all
    body = response.json()
    assert body["status"] == "degraded"
    replica = body["replica"]
    assert (replica["merchants"], replica["stale"], replica["never_synced"]) == (3, 2, 1)
    assert replica["sync_calls"] == 4 + 6 + 5
    assert replica["stale_after_seconds"] == STALE_SECONDS
    age = replica["oldest_full_pass_seconds_ago"]
    assert (before - late_full_at).total_seconds() - 0.1 <= age
    assert age <= (after - late_full_at).total_seconds() + 0.1
    text = response.content.decode()
    for secret in ("northwind", "newcomer", late, from_merchant(newcomer).namespace):
        assert secret not in text


@pytest.mark.django_db
def test_a_merchant_synced_since_is_current_again(client, stale_limit):
    namespace = default_shop().namespace
    SyncState.objects.all().delete()
    assert client.get("/healthz").json()["replica"]["never_synced"] == 1
    _synced(namespace, timedelta(seconds=STALE_SECONDS + 1), calls=2)
    assert client.get("/healthz").json()["replica"]["stale"] == 1
    _synced(namespace, timedelta(seconds=STALE_SECONDS - 60), calls=3)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["replica"]["stale"] == 0


@pytest.mark.django_db
def test_the_replica_figures_cost_one_query_and_no_api_call(client, stale_limit):
    # The probe and the merchants are read once per interval: make the intervals outlast the test.
    stale_limit.HEALTH_CACHE_SECONDS = stale_limit.MERCHANT_CACHE_SECONDS = 3600
    client.get("/healthz")
    calls = process_stats.snapshot()["total"]
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/healthz").json()["replica"]["merchants"] == 1
    assert process_stats.snapshot()["total"] == calls
    assert len(queries.captured_queries) == 5
    assert all("replica_syncstate" in q["sql"] for q in queries.captured_queries)
