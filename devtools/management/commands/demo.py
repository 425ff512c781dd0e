"""Start the whole demo: migrate, seed the sandbox, run offline Stripe, the server and the
catalog's sync worker.
Ctrl-C stops everything this started.

The server runs as in production (DEBUG off: the product's own error pages, hashed static
files served by whitenoise), but over plain HTTP on 127.0.0.1, so cookies are not Secure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from devtools.processes import Children
from sandbox.launch import stripe_server_command, wait_for

TEST_CARDS = [
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
]


def server_env(port: int, stripe_port: int, debug: bool) -> dict[str, str]:
    """The server's environment: production settings but for plain HTTP on loopback. The
    secret key is the one generated into var/ (settings.py), so sessions survive a restart."""
    return {
        **os.environ,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOCALSTRIPE_URL": f"http://127.0.0.1:{stripe_port}",
        "DEBUG": "1" if debug else "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost"),
        "MERCHANT_ENCRYPTION_KEYS": ",".join(settings.MERCHANT_ENCRYPTION_KEYS),
    }


# Two sandbox companies as two visibly different merchants, embeddable from the example site.
DEMO_MERCHANTS = [
    {
        "slug": "harbour-lights",
        "name": "Harbour Lights",
        "key": "WRITE_KEY",
        "logo": "demo/harbour-lights.svg",
        "primary_colour": "#7a1f5c",
        "accent_colour": "#7a1f5c",
        "font_stack": "Georgia, 'Times New Roman', serif",
        "currency": "USD",
    },
    {
        "slug": "northwind",
        "name": "Northwind Live",
        "key": "COMPANY2_WRITE_KEY",
        "logo": "demo/northwind.svg",
        "primary_colour": "#0f6e5a",
        "accent_colour": "#0a5c4a",
        "font_stack": "",
        "currency": "USD",
    },
]


def create_demo_merchants(site_url: str, host_origin: str) -> None:
    from tenancy.models import Merchant

    for spec in DEMO_MERCHANTS:
        merchant = Merchant.objects.filter(slug=spec["slug"]).first() or Merchant(slug=spec["slug"])
        merchant.name = spec["name"]
        merchant.api_url = f"{site_url}/sandbox/api/public/v2"
        merchant.set_api_key(settings.SANDBOX[spec["key"]])
        merchant.logo_url = f"{site_url}/static/{spec['logo']}"
        merchant.primary_colour = spec["primary_colour"]
        merchant.accent_colour = spec["accent_colour"]
        merchant.font_stack = spec["font_stack"]
        merchant.currency = spec["currency"]
        merchant.embed_origins = host_origin
        merchant.support_email = f"help@{spec['slug']}.example"
        merchant.full_clean()
        merchant.save()


def showcase_event_id() -> int | None:
    from sandbox.models import Event

    event = Event.objects.filter(name="Sandbox Showcase").order_by("id").first()
    return event.id if event else None


SYNC_CATALOG = [sys.executable, str(settings.BASE_DIR / "manage.py"), "sync_catalog"]


class Command(BaseCommand):
    help = "Run the storefront with its sandbox API and offline Stripe on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--stripe-port", type=int, default=8420)
        parser.add_argument(
            "--site-port", type=int, default=8001, help="the example merchant site with embeds"
        )
        parser.add_argument(
            "--debug", action="store_true", help="Django's debug pages instead of the product's"
        )

    def handle(self, *args, port: int, stripe_port: int, site_port: int, debug: bool, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("The demo runs in sandbox mode: unset GM_API_URL and GM_API_KEY.")
        call_command("migrate", verbosity=0)
        call_command("migrate", database="sandbox", verbosity=0)
        call_command("seed_sandbox")
        site_url, host_origin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{site_port}"
        create_demo_merchants(site_url, host_origin)
        env = server_env(port, stripe_port, debug)
        env["FRAME_ANCESTORS"] = host_origin
        if not debug:
            # Hashed, compressed copies for whitenoise (DEBUG off serves only these).
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                env=env,
                check=True,
            )
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # The children are in process groups of their own: Ctrl-C reaches only the demo,
            # which stops them all (devtools.processes).
            signal.signal(signum, lambda *_: stopping.set())
        with Children() as children:
            stripe = children.start(stripe_server_command(stripe_port), env)
            server = children.start(
                [sys.executable, "-m", "devtools.devserver", "--port", str(port)], env
            )
            children.start(
                [
                    *[sys.executable, "-m", "devtools.embedhost", "--port", str(site_port)],
                    *["--storefront", f"http://localhost:{port}", "--merchant", "harbour-lights"],
                    *(["--event", str(event)] if (event := showcase_event_id()) else []),
                ],
                env,
            )
            try:
                wait_for(f"http://127.0.0.1:{stripe_port}/js.stripe.com/v3/", stripe)
                wait_for(f"http://127.0.0.1:{port}/healthz", server)
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
            # The shop's pages read the catalog replica: copy it once before saying where
            # the shop is, then keep it current (the sandbox is served by the server above).
            with Children() as first_sync:
                copying = first_sync.start([*SYNC_CATALOG, "--once"], env)
                while copying.poll() is None and not stopping.is_set():
                    stopping.wait(0.2)
            children.start([*SYNC_CATALOG, "--quiet"], env)
            self._banner(port, stripe_port, site_port)
            while not stopping.is_set() and not children.any_exited():
                stopping.wait(0.5)
        self.stdout.write("Demo stopped.")

    def _banner(self, port: int, stripe_port: int, site_port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        cards = "\n".join(f"    {n}  {what} (any future expiry, any CVC)" for n, what in TEST_CARDS)
        self.stdout.write(
            f"""
  Storefront      {base}/
  Merchants       {base}/m/harbour-lights/   {base}/m/northwind/
  Embedded        http://127.0.0.1:{site_port}/  (an example merchant site; the snippet is on it)
  Admin           {base}/admin/  (manage.py createsuperuser to sign in)
  Sandbox API     {base}/sandbox/api/public/v2/
  API keys        write: {settings.SANDBOX["WRITE_KEY"]}   read: {settings.SANDBOX["READ_KEY"]}
  Offline Stripe  http://127.0.0.1:{stripe_port}/js.stripe.com/v3/
  Test cards
{cards}
  Coupons         SAVE10, HALFOFF, FIVEOFF (USD)

  Try: curl -g -H 'Authorization: Token {settings.SANDBOX["WRITE_KEY"]}' \\
         '{base}/sandbox/api/public/v2/events?include=registration_types.prices&page[size]=5'

  Ctrl-C stops everything.
"""
        )
