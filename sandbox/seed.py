"""A deterministic demo catalog: venues in several time zones, date / parent / recurring
events over the coming months, every stock status, fees, forms, coupons, and some hostile
HTML to prove the storefront sanitises it.

Two companies: the default one (the settings' WRITE_KEY / READ_KEY) holds that catalog, always
seeded first so its ids never move; a second, "Northwind Live" (COMPANY2_WRITE_KEY /
COMPANY2_READ_KEY), holds a small catalog of its own, to exercise multi-company setups.
Reseeding also removes companies made since through the Enterprise API."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import models as m
from .companies import create_company
from .geo import COUNTRIES, STATES
from .timezones import zone

VENUES = [
    # name, time zone, address1, city, zipcode, country, state, currency
    (
        "The Rio Theatre",
        "Pacific Time (US & Canada)",
        "1660 E Broadway",
        "Vancouver",
        "V5N 1W1",
        "CA",
        "BC",
        "CAD",
    ),
    (
        "Harbor Hall",
        "Eastern Time (US & Canada)",
        "12 Pier Street",
        "New York",
        "10004",
        "US",
        "NY",
        "USD",
    ),
    (
        "Lakeside Pavilion",
        "Central Time (US & Canada)",
        "400 Lake Shore Dr",
        "Chicago",
        "60611",
        "US",
        "IL",
        "USD",
    ),
    (
        "Sunset Amphitheater",
        "Pacific Time (US & Canada)",
        "8800 Sunset Blvd",
        "Los Angeles",
        "90069",
        "US",
        "CA",
        "USD",
    ),
    ("The Old Vic Rooms", "London", "103 The Cut", "London", "SE1 8NB", "GB", None, "GBP"),
    ("Kulturhaus Mitte", "Berlin", "Torstrasse 1", "Berlin", "10119", "DE", None, "EUR"),
    (
        "South Melbourne Kitchen",
        "Melbourne",
        "206-210 Coventry Street",
        "South Melbourne",
        "3205",
        "AU",
        "VIC",
        "AUD",
    ),
    ("Shibuya Stage", "Tokyo", "2-24-12 Shibuya", "Tokyo", "150-0002", "JP", None, "JPY"),
]
CATEGORIES = [
    ("Concerts", "Live music"),
    ("Theatre", "On stage"),
    ("Food & Drink", "Tastings and classes"),
    ("Workshops", "Learn something new"),
    ("Family", "For all ages"),
    ("Talks", "Ideas worth hearing"),
]
ADJECTIVES = [
    "Midnight",
    "Golden",
    "Electric",
    "Velvet",
    "Wild",
    "Silent",
    "Neon",
    "Crimson",
    "Urban",
    "Cosmic",
    "Little",
    "Grand",
    "Secret",
    "Blue",
    "Open",
    "Northern",
]
NOUNS = [
    "Jazz Night",
    "Comedy Hour",
    "Wine Tasting",
    "Poetry Slam",
    "String Quartet",
    "Pottery Class",
    "Film Club",
    "Cooking Masterclass",
    "Book Talk",
    "Dance Party",
    "Choir Evening",
    "Magic Show",
    "Photography Walk",
    "Craft Beer Social",
    "Piano Recital",
    "Improv Showcase",
    "Science Talk",
    "Kids' Puppet Theatre",
]
SAFE_HTML = [
    "<p>An evening you will not forget. Doors open 30 minutes before the start.</p>"
    "<ul><li>All ages welcome</li><li>Step-free access</li></ul>",
    "<p><strong>Limited seating.</strong> Arrive early to get the best spots.</p>"
    '<p>Read more on <a href="https://example.com/info">our site</a>.</p>',
    "<h3>What to expect</h3><p>Two sets with a short interval. Bar open throughout.</p>",
]
HOSTILE_HTML = [
    "<p>Great show!</p><script>window.__pwned = true; alert('xss')</script>",
    "<p>Look at this</p><img src=x onerror=\"window.__pwned = true; alert('xss')\">",
    '<p><a href="javascript:window.__pwned=true">Click for details</a></p>'
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>',
]
IMAGES = [f"/static/sandbox/event-{i}.svg" for i in range(1, 7)]
DEFAULT_COMPANY = "Sandbox Events Co."
NORTHWIND = "Northwind Live"
NORTHWIND_VENUES = [
    (
        "Northwind Arena",
        "Pacific Time (US & Canada)",
        "1 Harbor Steps",
        "Seattle",
        "98101",
        "US",
        "WA",
        "USD",
    ),
    (
        "Lakeshore Loft",
        "Eastern Time (US & Canada)",
        "55 Queens Quay W",
        "Toronto",
        "M5J 2N5",
        "CA",
        "ON",
        "CAD",
    ),
]
NORTHWIND_CATEGORIES = [("Live Music", "Loud and local"), ("Comedy", "Stand-up and improv")]
NORTHWIND_IMAGES = [f"/static/sandbox/northwind-{i}.svg" for i in range(1, 4)]
STOCK_CYCLE = ["selling"] * 14 + ["sold_out", "not_on_sale", "reserve", "request", "paused"]


class Seeder:
    def __init__(self, seed: int = 42, now: datetime | None = None):
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
        self.next_variant = 10_000
        self.counter = 0

    def run(self) -> dict[str, int]:
        with transaction.atomic(using="sandbox"):
            self.wipe()
            self.geo()
            self.default_company()
            self.northwind()
        return {
            "companies": m.Company.objects.count(),
            "events": m.Event.objects.count(),
            "venues": m.Venue.objects.count(),
            "registration_types": m.RegistrationType.objects.count(),
        }

    def default_company(self) -> None:
        cfg = settings.SANDBOX
        self.company = self.new_company(
            DEFAULT_COMPANY, "US", cfg["WRITE_KEY"], cfg["READ_KEY"], pin="1234"
        )
        m.CompanyUser.objects.create(
            company=self.company, name="Sam Sandbox", email="sam@sandbox.example"
        )
        self.venues = [self.venue(*v) for v in VENUES]
        self.categories = self.make_categories(CATEGORIES, IMAGES)
        self.ticket_types()
        self.forms = [self.form(i) for i in range(3)]
        self.coupons()
        self.special_events()
        for i in range(170):
            self.date_event(i)
        for i in range(8):
            self.parent_event(i)
        for i in range(5):
            self.recurring_event(i)

    def northwind(self) -> None:
        """A second merchant, small and unlike the first. It draws from its own random
        stream, so a change to the default catalog does not reshuffle it."""
        cfg = settings.SANDBOX
        self.rng = random.Random(self.seed + 1)
        self.company = self.new_company(
            NORTHWIND, "CA", cfg["COMPANY2_WRITE_KEY"], cfg["COMPANY2_READ_KEY"], pin="5988"
        )
        m.CompanyUser.objects.create(
            company=self.company, name="Nora Lind", email="nora@northwind.example"
        )
        self.venues = [self.venue(*v) for v in NORTHWIND_VENUES]
        self.categories = self.make_categories(NORTHWIND_CATEGORIES, NORTHWIND_IMAGES)
        self.ticket_types()
        self.forms = [self.form(0)]
        m.Coupon.objects.create(company=self.company, code="NORTHWIND15", percent_off=15)
        self.northwind_events()

    def new_company(
        self, name: str, country_code: str, write_key: str, read_key: str, pin: str
    ) -> m.Company:
        return create_company(
            name,
            m.Country.objects.get(code=country_code),
            read_token=read_key,
            write_token=write_key,
            password=f"{slugify(name)}-checkin",
            pin=pin,
        )

    def scale(self, companies: int, events: int) -> list[str]:
        """``companies`` more merchants of ``events`` dated events each, in US venues (for
        benchmarks of many merchants); their write keys, ``scale-<n>-write``."""
        us_venues = [v for v in VENUES if v[5] == "US"]
        keys = []
        with transaction.atomic(using="sandbox"):
            last = m.RegistrationType.objects.order_by("-variant_id").first()
            self.next_variant = max(self.next_variant, last.variant_id if last else 0)
            first = m.Company.objects.filter(name__startswith="Scale Merchant ").count()
            for n in range(first, first + companies):
                self.rng = random.Random(self.seed + 100 + n)
                keys.append(f"scale-{n}-write")
                self.company = self.new_company(
                    f"Scale Merchant {n}", "US", keys[-1], f"scale-{n}-read", pin="0000"
                )
                self.venues = [self.venue(*v) for v in us_venues]
                self.categories = self.make_categories(CATEGORIES, IMAGES)
                self.ticket_types()
                self.forms = [self.form(i) for i in range(3)]
                for i in range(events):
                    self.date_event(i)
        return keys

    def make_categories(self, rows: list[tuple[str, str]], images: list[str]) -> list[m.Category]:
        return [
            m.Category.objects.create(
                company=self.company,
                name=n,
                subtitle=sub,
                position=i,
                short_description=sub,
                image=images[i % len(images)],
            )
            for i, (n, sub) in enumerate(rows)
        ]

    # -- reference data --------------------------------------------------------------------

    def wipe(self) -> None:
        """Empty every sandbox table and restart its ids: each seeding numbers events,
        categories and venues alike, so links from an earlier run keep working."""
        connection = connections["sandbox"]
        models = apps.get_app_config("sandbox").get_models(include_auto_created=True)
        tables = [model._meta.db_table for model in models]
        connection.ops.execute_sql_flush(
            connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
        )

    def geo(self) -> None:
        m.Country.objects.bulk_create(
            m.Country(id=i, name=n, code=c, phone_prefix=p, currency_code=cur)
            for i, n, c, p, cur in COUNTRIES
        )
        by_code = {c.code: c for c in m.Country.objects.all()}
        for code, (first_id, rows) in STATES.items():
            m.State.objects.bulk_create(
                m.State(id=first_id + i, country=by_code[code], code=sc, name=name)
                for i, (sc, name) in enumerate(rows)
            )

    def venue(self, name, tz, address1, city, zipcode, country, state, currency) -> m.Venue:
        c = m.Country.objects.get(code=country)
        st = c.states.filter(code=state).first() if state else None
        v = m.Venue.objects.create(
            company=self.company,
            name=name,
            slug=slugify(name),
            time_zone=tz,
            address1=address1,
            city=city,
            zipcode=zipcode,
            country=c,
            state=st,
        )
        v.currency = currency
        return v

    def ticket_types(self) -> None:
        def T(**fields) -> m.TicketType:
            return m.TicketType.objects.create(company=self.company, **fields)

        self.tt_plain = T(name="General admission")
        self.tt_named = T(name="Named ticket", include_name=True, require_name=True)
        self.tt_named_email = T(
            name="Named ticket with email",
            include_name=True,
            require_name=True,
            include_email=True,
            require_email=True,
        )
        self.tt_optional = T(name="Optional name", include_name=True)

    def form(self, i: int) -> m.Form:
        f = m.Form.objects.create(company=self.company, name=f"Questions {i + 1}")
        q1 = m.FormField.objects.create(
            form=f,
            label="How did you hear about us?",
            type="multiple_choice",
            required=True,
            position=0,
        )
        for pos, opt in enumerate(["Friend", "Newsletter", "Social media", "Other"]):
            m.FormOption.objects.create(field=q1, name=opt, position=pos)
        m.FormField.objects.create(
            form=f,
            label="Dietary requirements",
            type="text_field",
            required=i == 0,
            position=1,
            help_text="Tell us about allergies or preferences.",
        )
        m.FormField.objects.create(
            form=f, label="Anything else?", type="text_field", required=False, position=2
        )
        return f

    def coupons(self) -> None:
        def C(**fields) -> None:
            m.Coupon.objects.create(company=self.company, **fields)

        C(code="SAVE10", percent_off=10)
        C(code="HALFOFF", percent_off=50)
        C(code="FIVEOFF", amount_off=500, currency="USD")
        C(code="EXPIRED", percent_off=20, expires_at=self.now - timedelta(days=1))
        C(code="PAUSED", percent_off=20, active=False)

    # -- events ----------------------------------------------------------------------------

    def variant_ids(self) -> tuple[int, int]:
        self.next_variant += 1
        return self.next_variant, self.next_variant + 500_000

    def local_start(self, venue: m.Venue, days: int, hour: int, minute: int = 0) -> datetime:
        local_day = (self.now + timedelta(days=days)).astimezone(zone(venue.time_zone))
        return local_day.replace(hour=hour, minute=minute, second=0, microsecond=0)

    def event(
        self,
        *,
        name,
        venue,
        start,
        hours=2.5,
        kind="date",
        parent=None,
        description="",
        image="",
        form=None,
        published=True,
        categories=(),
    ) -> m.Event:
        self.counter += 1
        e = m.Event.objects.create(
            company=self.company,
            type=kind,
            name=name,
            slug=slugify(name)[:200],
            venue=venue,
            parent=parent,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            published_at=self.now - timedelta(days=30) if published else None,
            description=description,
            image=image,
            form=form,
            position=self.counter,
            tags=["sandbox"],
        )
        if categories:
            e.categories.set(categories)
        return e

    def registration_type(
        self,
        event: m.Event,
        name: str,
        amount: int,
        currency: str,
        *,
        tt=None,
        status="selling",
        available=None,
        quantity=1,
        order_min=None,
        order_max=None,
        fee=(100, 3),
        position=0,
        description=None,
        on_sale_at=None,
    ) -> m.RegistrationType:
        variant_id, stock_id = self.variant_ids()
        rt = m.RegistrationType.objects.create(
            event=event,
            ticket_type=tt or self.tt_plain,
            name=name,
            description=description,
            variant_id=variant_id,
            stock_item_id=stock_id,
            stock_status=status,
            available=self.rng.randint(20, 200) if available is None else available,
            quantity=quantity,
            order_min=order_min,
            order_max=order_max,
            service_fee_amount=fee[0] if amount else 0,
            service_fee_percentage=fee[1] if amount else 0,
            position=position,
            on_sale_at=on_sale_at,
        )
        m.Price.objects.create(
            registration_type=rt, currency="USD", amount=amount, default=currency == "USD"
        )
        if currency != "USD":
            local = amount if currency != "JPY" else amount * 150
            m.Price.objects.create(
                registration_type=rt, currency=currency, amount=local, default=True
            )
        return rt

    def standard_types(self, e: m.Event, currency: str, index: int, free: bool) -> None:
        rng = self.rng
        status = STOCK_CYCLE[index % len(STOCK_CYCLE)]
        base = 0 if free else rng.choice([1500, 2000, 2500, 3500, 4500, 6000])
        tt = [self.tt_plain, self.tt_plain, self.tt_named, self.tt_named_email, self.tt_optional][
            index % 5
        ]
        available = rng.choice([3, 8, 40, 120]) if status == "selling" else 0
        self.registration_type(
            e,
            "General admission",
            base,
            currency,
            tt=tt,
            status=status,
            available=available,
            order_max=10,
            on_sale_at=e.starts_at - timedelta(days=7) if status == "reserve" else None,
        )
        if not free and index % 3 == 0:
            self.registration_type(
                e,
                "VIP",
                base * 3,
                currency,
                tt=self.tt_named,
                available=rng.randint(2, 20),
                order_max=4,
                position=1,
                description="<p>Front rows and a drink on arrival.</p>",
            )
        if not free and index % 7 == 0:
            self.registration_type(
                e,
                "Table of 10",
                base * 9,
                currency,
                quantity=10,
                available=5,
                position=2,
                order_max=2,
                description="<p>One purchase seats ten guests.</p>",
            )
        if not free and index % 11 == 0:
            self.registration_type(
                e,
                "Group of 4 (min 2)",
                base * 3,
                currency,
                order_min=2,
                order_max=6,
                available=30,
                position=3,
            )

    def date_event(self, i: int) -> None:
        rng = self.rng
        venue = self.venues[i % len(self.venues)]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        start = self.local_start(
            venue,
            days=1 + (i * 150) // 170,
            hour=rng.choice([10, 14, 18, 19, 20]),
            minute=rng.choice([0, 30]),
        )
        hostile = i % 25 == 4
        e = self.event(
            name=name,
            venue=venue,
            start=start,
            hours=rng.choice([1.5, 2, 2.5, 3]),
            description=(HOSTILE_HTML[i % 3] if hostile else SAFE_HTML[i % 3]),
            image=IMAGES[i % len(IMAGES)] if i % 4 else "",
            form=self.forms[i % 3] if i % 5 == 2 else None,
            published=i % 40 != 39,
            categories=[self.categories[i % 6]]
            + ([self.categories[(i + 2) % 6]] if i % 3 == 0 else []),
        )
        self.standard_types(e, venue.currency, i, free=i % 10 == 5)

    def parent_event(self, i: int) -> None:
        venue = self.venues[(i * 3) % len(self.venues)]
        name = [
            "Summer Festival",
            "Tasting Tour",
            "Film Weekend",
            "Jazz Marathon",
            "Design Week",
            "Kids Fest",
            "Comedy Weekender",
            "Book Fair",
        ][i]
        start = self.local_start(venue, days=10 + i * 12, hour=12)
        parent = self.event(
            name=name,
            venue=venue,
            start=start,
            hours=30,
            kind="parent",
            description=SAFE_HTML[i % 3],
            image=IMAGES[i % len(IMAGES)],
            categories=[self.categories[i % 6]],
        )
        for s in range(2 + i % 3):
            session = self.event(
                name=f"{name} — Session {chr(65 + s)}",
                venue=venue,
                start=start + timedelta(hours=3 * s),
                hours=2.5,
                parent=parent,
                description=SAFE_HTML[s % 3],
            )
            self.registration_type(
                session,
                "GA",
                2500 + 500 * s,
                venue.currency,
                available=40 if s != 1 else 0,
                status="selling" if s != 1 else "sold_out",
            )
            if s == 0:
                self.registration_type(
                    session, "VIP", 7500, venue.currency, tt=self.tt_named, available=6, position=1
                )

    def recurring_event(self, i: int) -> None:
        venue = self.venues[(i * 5 + 1) % len(self.venues)]
        name = [
            "Weekly Tasting",
            "Sunday Brunch Club",
            "Open Mic Wednesdays",
            "Morning Yoga",
            "Trivia Tuesday",
        ][i]
        start = self.local_start(venue, days=2 + i, hour=18)
        day = start.strftime("%A").lower()
        template = self.event(
            name=name,
            venue=venue,
            start=start,
            hours=2,
            kind="recurring",
            description=SAFE_HTML[i % 3],
            image=IMAGES[(i + 2) % len(IMAGES)],
            categories=[self.categories[(i + 3) % 6]],
        )
        template.recurrences = [
            {
                "id": 800 + i,
                "starts_at": start.isoformat(),
                "ends": "after_occurrences",
                "max_occurrences": 10,
                "repeat_unit": "week",
                "repeat_value": 1,
                "duration": 2,
                "days": [day],
                "operating_hours": [{"open": "18:00", "close": "20:00"}],
            }
        ]
        template.save(update_fields=["recurrences"])
        for week in range(10):
            child = self.event(
                name=name,
                venue=venue,
                start=start + timedelta(weeks=week),
                hours=2,
                parent=template,
                description=template.description,
                image=template.image,
            )
            self.registration_type(
                child,
                "Entry",
                0 if i == 3 else 1800,
                venue.currency,
                available=25 if week != 2 else 0,
                status="selling" if week != 2 else "sold_out",
            )

    def special_events(self) -> None:
        """Named fixtures tests and demos can find by name."""
        usd = self.venues[1]
        start = self.local_start(usd, days=3, hour=19)
        e = self.event(
            name="Sandbox Showcase",
            venue=usd,
            start=start,
            description=SAFE_HTML[0],
            image=IMAGES[0],
            form=self.forms[0],
            categories=[self.categories[0]],
        )
        self.registration_type(
            e, "General admission", 2500, "USD", tt=self.tt_named, available=500, order_max=10
        )
        self.registration_type(
            e, "VIP", 7500, "USD", tt=self.tt_named_email, available=50, order_max=4, position=1
        )
        self.registration_type(
            e, "Table of 10", 20000, "USD", quantity=10, available=5, order_max=2, position=2
        )
        self.registration_type(
            e, "Pair (min 2)", 2000, "USD", order_min=2, order_max=6, available=100, position=3
        )
        self.registration_type(
            e, "Sold out seats", 3000, "USD", status="sold_out", available=0, position=4
        )
        self.registration_type(
            e, "Next release", 3000, "USD", status="not_on_sale", available=0, position=5
        )
        free = self.event(
            name="Free Community Meetup",
            venue=usd,
            start=self.local_start(usd, days=4, hour=18),
            description=SAFE_HTML[1],
            categories=[self.categories[5]],
        )
        self.registration_type(free, "RSVP", 0, "USD", available=300, order_max=4)
        quick = self.event(
            name="Quick Ticket Night",
            venue=usd,
            start=self.local_start(usd, days=5, hour=20),
            description=SAFE_HTML[2],
            categories=[self.categories[0]],
        )
        self.registration_type(quick, "Standard", 1500, "USD", available=300, order_max=10)
        self.registration_type(
            quick, "Last seats", 1500, "USD", available=2, order_max=10, position=1
        )
        hostile = self.event(
            name="Hostile Markup Test",
            venue=usd,
            start=self.local_start(usd, days=6, hour=20),
            description="".join(HOSTILE_HTML),
            categories=[self.categories[1]],
        )
        self.registration_type(
            hostile,
            "Standard",
            1000,
            "USD",
            available=50,
            description='<p>Seat</p><img src=x onerror="window.__pwned=1">',
        )
        merch = self.event(
            name="Poster Print Night",
            venue=usd,
            start=self.local_start(usd, days=9, hour=19),
            description=SAFE_HTML[2],
            categories=[self.categories[3]],
        )
        shipped = self.registration_type(
            merch, "Ticket + signed poster (shipped)", 4000, "USD", available=60, order_max=4
        )
        shipped.requires_shipping = True
        shipped.save(update_fields=["requires_shipping"])
        waitlist = self.event(
            name="Waitlist Gala",
            venue=usd,
            start=self.local_start(usd, days=20, hour=19),
            description=SAFE_HTML[0],
            categories=[self.categories[1]],
        )
        self.registration_type(waitlist, "Waitlist", 5000, "USD", status="request", available=0)
        presale = self.event(
            name="Presale Concert",
            venue=usd,
            start=self.local_start(usd, days=40, hour=20),
            description=SAFE_HTML[1],
            categories=[self.categories[0]],
        )
        self.registration_type(
            presale,
            "Reserve a seat",
            4000,
            "USD",
            status="reserve",
            available=0,
            on_sale_at=self.now + timedelta(days=7),
        )

    def northwind_events(self) -> None:
        arena, loft = self.venues
        music, comedy = self.categories
        opening = self.event(
            name="Northwind Opening Night",
            venue=arena,
            start=self.local_start(arena, days=6, hour=19),
            description=SAFE_HTML[0],
            image=NORTHWIND_IMAGES[0],
            categories=[music],
        )
        self.registration_type(opening, "Floor", 3200, "USD", available=400, order_max=8)
        self.registration_type(
            opening, "Balcony (named)", 5400, "USD", tt=self.tt_named, available=60, position=1
        )
        harbor = self.event(
            name="Harbor Lights Orchestra",
            venue=arena,
            start=self.local_start(arena, days=13, hour=20),
            description=SAFE_HTML[2],
            image=NORTHWIND_IMAGES[1],
            form=self.forms[0],
            categories=[music],
        )
        self.registration_type(harbor, "Stalls", 4800, "USD", available=150, order_max=6)
        matinee = self.event(
            name="Family Matinee at the Arena",
            venue=arena,
            start=self.local_start(arena, days=8, hour=14),
            description=SAFE_HTML[1],
            image=NORTHWIND_IMAGES[2],
            categories=[music],
        )
        self.registration_type(matinee, "Free entry", 0, "USD", available=250, order_max=6)
        for week, name in enumerate(["Loft Laughs: New Material", "Loft Laughs: Headliners"]):
            show = self.event(
                name=name,
                venue=loft,
                start=self.local_start(loft, days=9 + 7 * week, hour=21),
                hours=1.5,
                description=SAFE_HTML[week % 3],
                image=NORTHWIND_IMAGES[(week + 1) % 3],
                categories=[comedy],
            )
            self.registration_type(show, "Seat", 2200 + 600 * week, "CAD", order_max=8)
