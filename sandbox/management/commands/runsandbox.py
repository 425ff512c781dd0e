"""Serve the sandbox API on its own, e.g. for benchmarks or another storefront:

python manage.py runsandbox --port 8100 [--migrate] [--seed]
python manage.py runsandbox --fd 3 --seed   # on a listening socket the parent passed down
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from sandbox.server import make_server


class Command(BaseCommand):
    help = "Serve the Guest Manager API sandbox as a separate process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument(
            "--fd", type=int, help="serve on this inherited listening socket (not host:port)"
        )
        parser.add_argument("--migrate", action="store_true", help="migrate its database first")
        parser.add_argument("--seed", action="store_true", help="reseed the demo catalog first")

    def handle(
        self, *args, host: str, port: int, fd: int | None, migrate: bool, seed: bool, **options
    ):
        if migrate or seed:
            call_command("migrate", database="sandbox", verbosity=0)
        if seed:
            call_command("seed_sandbox")
        server = make_server(host, port, fd=fd)
        host, port = server.server_address[:2]
        self.stdout.write(
            f"Sandbox API at http://{host}:{port}/sandbox/api/public/v2 "
            f"(write key: {settings.SANDBOX['WRITE_KEY']})",
        )
        self.stdout.flush()
        server.serve_forever()
