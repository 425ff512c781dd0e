"""Start the whole demo: migrate, seed the sandbox, run offline Stripe and the server.
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
    }


class Command(BaseCommand):
    help = "Run the storefront with its sandbox API and offline Stripe on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--stripe-port", type=int, default=8420)
        parser.add_argument(
            "--debug", action="store_true", help="Django's debug pages instead of the product's"
        )

    def handle(self, *args, port: int, stripe_port: int, debug: bool, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("The demo runs in sandbox mode: unset GM_API_URL and GM_API_KEY.")
        call_command("migrate", verbosity=0)
        call_command("migrate", database="sandbox", verbosity=0)
        call_command("seed_sandbox")
        env = server_env(port, stripe_port, debug)
        if not debug:
            # Hashed, compressed copies for whitenoise (DEBUG off serves only these).
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                env=env,
                check=True,
            )
        children = [
            subprocess.Popen(stripe_server_command(stripe_port), env=env),
            subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port)],
                env=env,
            ),
        ]
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Ctrl-C reaches the children too; the demo just waits for them to finish.
            signal.signal(signum, lambda *_: stopping.set())
        try:
            wait_for(f"http://127.0.0.1:{stripe_port}/js.stripe.com/v3/", children[0])
            wait_for(f"http://127.0.0.1:{port}/healthz", children[1])
            self._banner(port, stripe_port)
            while not stopping.is_set() and all(c.poll() is None for c in children):
                stopping.wait(0.5)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Demo stopped.")

    def _banner(self, port: int, stripe_port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        cards = "\n".join(f"    {n}  {what} (any future expiry, any CVC)" for n, what in TEST_CARDS)
        self.stdout.write(
            f"""
  Storefront      {base}/
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
