"""Serve the storefront (with its sandbox, in sandbox mode) on 127.0.0.1 for the demo:

python manage.py serve --port 8000
"""

from django.core.management.base import BaseCommand

from storefront.devserver import serve


class Command(BaseCommand):
    help = "Serve the whole app on Django's threaded WSGI server (no autoreload)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        self.stdout.write(f"Serving http://{host}:{port}/")
        self.stdout.flush()
        serve(host, port)
