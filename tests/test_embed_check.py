"""``/embed.v1/check``: what the embed script asks before framing, answered with the setting a
merchant must change, over CORS, at no API cost per visitor."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from guestmanager import process_stats

from .helpers import event_named
from .test_merchants import HARBOUR_ORIGIN, NORTHWIND_ORIGIN, merchants  # noqa: F401


def ask(client, **params: str):
    response = client.get("/embed.v1/check?" + urlencode(params))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "no-cache" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.mark.usefixtures("merchants")
def test_each_wrong_setting_is_named_without_any_api_call(client, storefront_settings):
    storefront_settings.FRAME_ANCESTORS = []
    before = process_stats.snapshot()["total"]

    assert ask(client, origin=HARBOUR_ORIGIN, merchant="harbour") == {"ok": True}

    unknown = ask(client, origin=HARBOUR_ORIGIN, merchant="harbor")
    assert unknown["ok"] is False and unknown["setting"] == "data-merchant"
    assert 'no merchant "harbor"' in unknown["message"]

    unlisted = ask(client, origin=NORTHWIND_ORIGIN, merchant="harbour")
    assert unlisted["setting"] == "embed origins"
    assert NORTHWIND_ORIGIN in unlisted["message"] and "Harbour Lights" in unlisted["message"]
    assert "Embed origins" in unlisted["message"]

    missing = ask(client, origin=HARBOUR_ORIGIN)
    assert missing["setting"] == "data-merchant"
    assert "data-merchant is missing" in missing["message"]

    for bad in ["null", "", "javascript:alert(1)", HARBOUR_ORIGIN + "\n"]:
        assert ask(client, origin=bad, merchant="harbour")["setting"] == "page origin"
    assert ask(client, origin=HARBOUR_ORIGIN, merchant="Bad_Slug<x>")["setting"] == (
        "data-merchant"
    )
    assert ask(client, origin=HARBOUR_ORIGIN, merchant="harbour", event="12a")["setting"] == (
        "data-event"
    )
    for answer in (unknown, unlisted, missing):
        assert answer["message"].startswith("Storefront embed not shown: ")
    assert process_stats.snapshot()["total"] == before

    # The default merchant, when the page is one of its own embedding sites.
    storefront_settings.FRAME_ANCESTORS = [HARBOUR_ORIGIN]
    assert ask(client, origin=HARBOUR_ORIGIN) == {"ok": True}
    assert process_stats.snapshot()["total"] == before


@pytest.mark.usefixtures("merchants")
def test_the_event_check_reads_the_replica_at_no_api_cost(client, storefront_settings, gm):
    event_id = event_named(gm, "Quick Ticket Night")["id"]

    before = process_stats.snapshot()["total"]
    assert ask(client, origin=HARBOUR_ORIGIN, merchant="harbour", event=str(event_id)) == {
        "ok": True
    }
    framed = f"/m/harbour/embed/events/{event_id}/?" + urlencode(
        {"origin": HARBOUR_ORIGIN, "frame": "f1"}
    )
    assert client.get(framed, follow=True).status_code == 200
    for _ in range(5):
        gone = ask(client, origin=HARBOUR_ORIGIN, merchant="harbour", event="987654321")
        assert gone["ok"] is False and gone["setting"] == "data-event"
        assert "has no event 987654321" in gone["message"]
    assert process_stats.snapshot()["total"] == before


@pytest.mark.usefixtures("merchants")
def test_the_script_form_hands_the_answer_to_its_own_element(client):
    ok = client.get(
        "/embed.v1/check.js?" + urlencode({"origin": HARBOUR_ORIGIN, "merchant": "harbour"})
    )
    assert ok["Content-Type"] == "text/javascript; charset=utf-8"
    assert "no-cache" in ok["Cache-Control"]
    assert b"document.currentScript" in ok.content and b'{"ok": true}' in ok.content

    hostile = "</script><script>alert(1)</script>&"
    bad = client.get(
        "/embed.v1/check.js?" + urlencode({"origin": HARBOUR_ORIGIN, "merchant": hostile})
    )
    data = bad.content.split(b"detail:", 1)[1]
    assert b"<" not in data and b">" not in data and b"&" not in data
    assert b"\\u003c/script\\u003e" in bad.content
    assert client.get("/embed.v2/check.js").status_code == 404
