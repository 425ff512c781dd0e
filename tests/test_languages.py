"""The storefront in German, French and Spanish: which language a page speaks (URL, merchant,
browser, English), that caches keep each language apart, prices and dates in each language's
forms, and catalogues with no string missing."""

from __future__ import annotations

import gzip
import os
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from catalog import formats
from devtools import messages
from tenancy.models import Merchant
from tenancy.shop import directory

from .helpers import event_named
from .test_merchants import admin_client, merchants  # noqa: F401

SHIPPED = ("de", "fr", "es")


def _html(response) -> str:
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode()


def _lang(response) -> str:
    found = re.search(r'<html lang="([^"]+)"', _html(response))
    assert found, "no <html lang>"
    return found[1]


def _in(code: str, english: str) -> str:
    with translation.override(code):
        said = gettext(english)
    assert said != english, f"{english!r} has no {code} translation"
    return said


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


def test_every_marked_string_is_translated_and_compiled():
    gaps = messages.check()
    assert not gaps, gaps.report()


@pytest.mark.django_db
@pytest.mark.parametrize("code", SHIPPED)
def test_the_browser_language_chooses_when_nothing_else_does(storefront_settings, code):
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE=f"{code}-XX,{code};q=0.9,en;q=0.5")
    assert page.status_code == 200
    assert _lang(page) == code and page["Content-Language"] == code
    assert "accept-language" in _vary(page)  # a shared cache keeps one copy per language
    assert _in(code, "Upcoming events") in _html(page)


@pytest.mark.django_db
def test_a_language_not_shipped_falls_back_to_english(storefront_settings):
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="it-IT,it;q=0.9,ja;q=0.8")
    assert _lang(page) == "en" and page["Content-Language"] == "en"


@pytest.mark.django_db
def test_the_url_language_beats_the_browser_and_keeps_every_link(storefront_settings, gm):
    event = event_named(gm, "Quick Ticket Night")
    page = Client().get(f"/fr/events/{event['id']}/{event['slug']}/", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200
    assert _lang(page) == "fr" and page["Content-Language"] == "fr"
    assert "accept-language" not in _vary(page)  # the same for every browser
    html = _html(page)
    assert 'action="/fr/order/add"' in html
    hrefs = re.findall(r'href="(/[^"]*)"', html)
    switch = re.findall(r'href="(/[^"]*)" hreflang=', html)
    assert sorted(switch) == sorted(
        f"/{c}/events/{event['id']}/{event['slug']}/" for c in ("en", *SHIPPED)
    )
    shop_links = [h for h in hrefs if h not in switch and not h.startswith("/static/")]
    assert shop_links and all(h.startswith("/fr/") for h in shop_links), hrefs
    assert Client().get("/fr").status_code == 301
    assert Client().get("/fr")["Location"] == "/fr/"
    assert Client().get("/it/").status_code == 404  # not a shipped language: not a prefix


@pytest.mark.django_db
def test_the_footer_switch_links_this_page_in_each_language(storefront_settings):
    page = Client().get("/es/?q=jazz", HTTP_ACCEPT_LANGUAGE="en")
    html = _html(page)
    for code in ("en", "de", "fr", "es"):
        assert f'href="/{code}/?q=jazz"' in html
    assert re.search(r'<a[^>]*href="/es/\?q=jazz"[^>]*aria-current="true"', html)
    assert re.search(r'hreflang="de"[^>]*lang="de"|lang="de"[^>]*hreflang="de"', html)
    # Search engines are told the same: every language's page, and the one browsers choose.
    head = html.split("</head>")[0]
    for code in ("en", "de", "fr", "es"):
        alternate = f'hreflang="{code}" href="http://testserver/{code}/?q=jazz"'
        assert f'<link rel="alternate" {alternate}>' in head
    assert '<link rel="alternate" hreflang="x-default" href="http://testserver/?q=jazz">' in head


@pytest.mark.django_db
def test_a_query_longer_than_any_link_is_not_repeated_per_language(storefront_settings):
    hostile = "q=" + "a" * 20_000
    page = Client().get(f"/es/?{hostile}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = _html(page)
    head, body = html.split("</head>")
    assert "a" * 1000 not in head, "the query repeated in each language's alternate"
    footer = body.split("<footer")[1]
    assert "a" * 1000 not in footer and 'href="/de/"' in footer
    assert 'hreflang="de" href="http://testserver/de/"' in html  # the page itself, in German


@pytest.mark.django_db
def test_a_merchants_locale_beats_the_browser(merchants):  # noqa: F811
    harbour, _ = merchants
    Merchant.objects.filter(pk=harbour.pk).update(locale="de")
    directory.forget()
    page = Client().get("/m/harbour/", HTTP_ACCEPT_LANGUAGE="fr,en;q=0.5")
    assert _lang(page) == "de" and "accept-language" not in _vary(page)
    switched = Client().get("/m/harbour/es/", HTTP_ACCEPT_LANGUAGE="fr")
    assert _lang(switched) == "es"
    assert 'href="/m/harbour/de/"' in _html(switched)


@pytest.mark.django_db
def test_a_merchants_locale_must_be_shipped(merchants):  # noqa: F811
    from django.core.exceptions import ValidationError

    harbour, _ = merchants
    harbour.locale = "it"
    with pytest.raises(ValidationError) as refused:
        harbour.full_clean()
    assert "locale" in refused.value.message_dict
    harbour.locale = ""  # the buyer's browser decides
    harbour.full_clean()


@pytest.mark.django_db
def test_the_page_cache_never_serves_one_language_to_another(storefront_settings):
    gzip_ = {"HTTP_ACCEPT_ENCODING": "gzip"}
    english = Client().get("/", HTTP_ACCEPT_LANGUAGE="en", **gzip_)
    assert _lang(english) == "en"
    for code in SHIPPED:
        again = Client().get("/", HTTP_ACCEPT_LANGUAGE=code, **gzip_)
        assert _lang(again) == code
        assert _in(code, "Upcoming events") in _html(again)
    assert _lang(Client().get("/", HTTP_ACCEPT_LANGUAGE="en", **gzip_)) == "en"


@pytest.mark.parametrize(
    ("code", "usd", "aud", "eur"),
    [
        ("en", "$48.36", "A$48.36", "€1,234.50"),
        ("de", "48,36\xa0$", "48,36\xa0AU$", "1.234,50\xa0€"),
        ("fr", "48,36\xa0$US", "48,36\xa0$AU", "1\u202f234,50\xa0€"),
        ("es", "48,36\xa0US$", "48,36\xa0AUD", "1.234,50\xa0€"),
    ],
)
def test_prices_are_written_as_each_language_writes_them(code, usd, aud, eur):
    with translation.override(code):
        assert formats.money(Decimal("48.36"), "USD") == usd
        assert formats.money(Decimal("48.36"), "AUD") == aud
        assert formats.money_exact(Decimal("1234.50"), "EUR") == eur
        assert formats.money_exact(Decimal("-5"), "USD").startswith("−")
        assert formats.money(0, "USD") == (gettext("Free"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "Saturday, Dec. 5, 2026, 7 p.m."),
        ("de", "Samstag, 5. Dezember 2026, 19:00"),
        ("fr", "samedi, 5 décembre 2026, 19:00"),
        ("es", "sábado, 5 de diciembre de 2026, 19:00"),
    ],
)
def test_dates_are_written_in_each_languages_forms(code, expected):
    evening = datetime(2026, 12, 5, 19, 0, tzinfo=ZoneInfo("America/New_York"))
    with translation.override(code), translation.override(code):
        from django.utils import timezone

        with timezone.override(ZoneInfo("America/New_York")):
            assert formats.when(evening) == expected


@pytest.mark.parametrize(
    ("code", "us", "de"),
    [
        ("en", "United States", "Germany"),
        ("de", "Vereinigte Staaten", "Deutschland"),
        ("fr", "États-Unis", "Allemagne"),
        ("es", "Estados Unidos", "Alemania"),
    ],
)
def test_countries_are_named_and_ordered_in_the_language(gm, code, us, de):
    from checkout.countries import country_choices

    countries = gm.list_countries()
    with translation.override(code):
        choices = country_choices(countries)
    names = dict(choices)
    by_code = {c["code"]: str(c["id"]) for c in countries}
    assert names[by_code["US"]] == us and names[by_code["DE"]] == de
    assert len(choices) == len(countries)
    ordered = [name for _, name in choices]
    assert ordered.index(de) < ordered.index(us)  # the language's own alphabetical order


def test_the_admin_offers_the_shipped_languages_or_the_browsers(admin_client):  # noqa: F811
    page = admin_client.get("/admin/merchants/merchant/add/", HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    select = re.search(r'<select name="locale"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert select, "the locale is chosen from a list"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select[1])
    assert options == [
        ("", "Le navigateur de l’acheteur décide"),
        ("en", "English"),
        ("de", "Deutsch"),
        ("fr", "Français"),
        ("es", "Español"),
    ]


@pytest.mark.parametrize(("lang", "code"), [("de_DE.UTF-8", "de"), ("C.UTF-8", "en")])
def test_a_merchants_command_speaks_the_shells_language(lang, code):
    import subprocess
    import sys

    from django.conf import settings

    from waitingroom.management.commands.waitingroom import Command

    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""}
    shown = subprocess.run(
        [sys.executable, "manage.py", "waitingroom", "--help"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with translation.override(code):
        expected = str(Command.description)
    assert " ".join(expected.split()) in " ".join(shown.split())
    assert (expected == str(Command.description)) == (code == "en")
