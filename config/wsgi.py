import os

from django.core.wsgi import get_wsgi_application

from infra.forwarded import scheme_from_trusted_proxy

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What `make serve` runs (devtools/production.py): HTTPS as a trusted proxy says.
served = scheme_from_trusted_proxy(
    application, os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
)
