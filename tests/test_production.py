"""The production configuration: `manage.py check --deploy` is clean, HTTPS is enforced unless
told the server is plain HTTP (the demo), and `make serve` refuses without its settings and
really serves under granian."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from devtools import production
from infra.forwarded import scheme_from_trusted_proxy
from sandbox.launch import wait_for

from .conftest import ROOT
from .helpers import eventually

# Variables that would change what these tests are about.
OWN = {"DEBUG", "GM_API_URL", "GM_API_KEY", "ALLOWED_HOSTS", "SITE_URL", "BIND"}
OWN |= {"DJANGO_ALLOW_ASYNC_UNSAFE"}  # the test process's own (conftest), never a server's
OWN_PREFIXES = ("SECURE_", "SECRET_KEY", "MERCHANT_ENCRYPTION_KEYS", "FORWARDED_ALLOW_IPS")


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OWN and not k.startswith(OWN_PREFIXES)}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        MERCHANT_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="shop.example",
        VAR_DIR=str(tmp_path),
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean(tmp_path):
    env = production_env(tmp_path)
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


PRODUCT = ["config", "tenancy", "infra", "replica", "catalog", "checkout", "merchant_tools"]
PRODUCT += ["guestmanager"]
PRODUCT += ["templates", "static", "manage.py"]
STARTS = """
import json, sys, django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.urls import get_resolver
call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("check", deploy=True, fail_level="WARNING")
from config.wsgi import application
get_resolver().url_patterns  # every URL module
paths = ("/no/such/page/", "/healthz", "/m/x/")
pages = [Client().get(path, secure=True).status_code for path in paths]
import config
print(json.dumps({
    "config": config.__file__,
    "pages": pages,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("sandbox", "devtools")),
}))
"""


def test_production_starts_without_the_sandbox_or_the_dev_tools(tmp_path):
    """A production image may leave them out: with a live API the configuration loads no
    module of either, and starts, migrates and serves without them."""
    image = tmp_path / "image"
    for name in PRODUCT:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, image / name)
    env = production_env(
        tmp_path,
        GM_API_URL="http://127.0.0.1:9/api/public/v2",  # nothing listens there
        GM_API_KEY="live-key",
        ALLOWED_HOSTS="testserver",
        GM_CONNECT_TIMEOUT="0.5",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", STARTS],
        cwd=image,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout.splitlines()[-1])
    assert started["config"].startswith(str(image))  # this copy, not the repository
    assert started["pages"] == [404, 200, 404]
    assert started["loaded"] == []


HTTPS_SETTINGS = """
import json, django
from django.conf import settings as s
django.setup()
print(json.dumps({name: getattr(s, name, None) for name in (
    "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE")}))
"""


def https_settings(env: dict[str, str]) -> dict[str, object]:
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = run([sys.executable, "-c", HTTPS_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_defaults_to_https_only(tmp_path):
    found = https_settings(production_env(tmp_path))
    assert found["SECURE_SSL_REDIRECT"] is True
    assert found["SESSION_COOKIE_SECURE"] is found["CSRF_COOKIE_SECURE"] is True
    assert found["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is found["SECURE_HSTS_PRELOAD"] is True
    # Only a TLS proxy the operator names is trusted.
    assert found["SECURE_PROXY_SSL_HEADER"] is None
    # Framed checkouts keep working without cookies: their defaults are left alone.
    assert (found["SESSION_COOKIE_SAMESITE"], found["CSRF_COOKIE_SAMESITE"]) == ("Lax", "Lax")


def test_plain_http_servers_get_no_redirect_and_a_named_proxy_is_trusted(tmp_path):
    demo = https_settings(production_env(tmp_path, SECURE_COOKIES="0"))
    assert demo["SECURE_SSL_REDIRECT"] is demo["SESSION_COOKIE_SECURE"] is False
    proxied = https_settings(production_env(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"))
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SECURE_SSL_REDIRECT"] is True


def test_make_serve_refuses_without_its_settings(tmp_path):
    env = production_env(tmp_path)
    for name in ("SECRET_KEY", "MERCHANT_ENCRYPTION_KEYS", "ALLOWED_HOSTS"):
        del env[name]
    result = run([sys.executable, "-m", "devtools.production"], env)
    assert result.returncode == 2
    for name in ("SECRET_KEY", "MERCHANT_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "LOCAL=1"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_make_serve_prints_which_services_it_uses_and_hides_passwords(tmp_path):
    given = production_env(tmp_path, DATABASE_URL="postgres://shop:s3cret@db.internal:5432/shop")
    given.pop("REDIS_URL", None)
    env, notes = production.configure(given, local=False)
    assert env["DATABASE_URL"] == "postgres://shop:s3cret@db.internal:5432/shop"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/0"  # this machine's
    assert env["BIND"] == "0.0.0.0:8000" and env["SITE_URL"] == "http://127.0.0.1:8000"
    printed = "\n".join(notes)
    assert "s3cret" not in printed and "shop:***@db.internal" in printed
    assert "REDIS_URL is unset" in printed


def test_make_serve_local_tries_it_over_plain_http_with_the_demos_keys(tmp_path):
    unset = {*production.REQUIRED, *production.LOCAL_SERVICES}
    bare = {k: v for k, v in production_env(tmp_path).items() if k not in unset}
    env, _ = production.configure(bare, local=True)
    assert env["BIND"] == "127.0.0.1:8000" and env["SECURE_COOKIES"] == "0"
    assert env["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert env["MERCHANT_ENCRYPTION_KEYS"] == (tmp_path / "merchant_keys").read_text()
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/test"
    again, _ = production.configure(bare, local=True)
    assert again["SECRET_KEY"] == env["SECRET_KEY"]  # sessions survive a restart


@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="the production configuration (make test-production): PostgreSQL and Redis",
)
def test_make_serve_serves_under_granian_behind_a_tls_proxy(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="127.0.0.1",
        BIND=f"127.0.0.1:{port}",
        SITE_URL=base,
        WEB_CONCURRENCY="2",
        CACHE_KEY_PREFIX=f"serve-test-{port}",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        # The proxy is on another host: only Django's setting makes its header count.
        FORWARDED_ALLOW_IPS="192.0.2.1",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        proc = subprocess.Popen(  # noqa: S603 (our own argv)
            [sys.executable, "-m", "devtools.production"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(f"{base}/healthz", proc, log=log, timeout=180)
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 200  # load balancers probe over plain HTTP
        assert health.json()["api"]["ok"] is True
        assert health.json()["status"] in ("ok", "degraded")  # degraded until the first sync
        plain = httpx.get(f"{base}/", timeout=30)
        assert plain.status_code == 301
        assert plain.headers["location"] == f"https://127.0.0.1:{port}/"

        def listed() -> httpx.Response | None:
            page = httpx.get(f"{base}/", headers={"X-Forwarded-Proto": "https"}, timeout=30)
            return page if page.status_code == 200 else None  # 503 until the first sync

        home = eventually(listed, "the shop lists the catalog its sync worker copied")
        assert "Sandbox Showcase" in home.text
        synced = httpx.get(f"{base}/healthz", timeout=30).json()
        assert synced["status"] == "ok" and synced["replica"]["never_synced"] == 0
        assert "max-age=31536000" in home.headers["strict-transport-security"]
        stylesheet = next(line for line in home.text.splitlines() if "stylesheet" in line)
        assert "site.css" not in stylesheet  # collected, hashed, served by whitenoise
        assert "DATABASE_URL" in log.read_text() and "REDIS_URL" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def free_port() -> int:
    """A port free now: granian binds by address, so it is chosen just before the start."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def test_the_server_command_follows_the_environment():
    command = production.server_command(
        {"BIND": "[::1]:9000", "WEB_CONCURRENCY": "3", "WEB_THREADS": "6"}
    )
    assert command[1:3] == ["-m", "granian"] and command[-1] == "config.wsgi:served"
    flags = dict(zip(command[3:-1:], command[4:-1:], strict=False))
    assert flags["--host"] == "::1" and flags["--port"] == "9000"
    assert flags["--workers"] == "3" and flags["--blocking-threads"] == "6"
    assert flags["--interface"] == "wsgi"
    socket_bound = production.server_command({"BIND": "unix:/run/storefront.sock"})
    assert socket_bound[socket_bound.index("--uds") + 1] == "/run/storefront.sock"
    defaults = production.server_command({})
    assert defaults[defaults.index("--host") + 1] == "0.0.0.0"
    assert defaults[defaults.index("--workers") + 1] == "2"


def test_only_a_trusted_proxy_says_the_request_came_over_https():
    seen = []

    def app(environ, start_response):
        seen.append(environ["wsgi.url_scheme"])
        return [b""]

    served = scheme_from_trusted_proxy(app, "127.0.0.1, ::1, 10.0.0.0/8")
    for address, proto, scheme in [
        ("127.0.0.1", "https", "https"),
        ("::1", "HTTPS", "https"),
        ("10.2.3.4", "https", "https"),
        ("127.0.0.1", "gopher", "http"),
        ("198.51.100.7", "https", "http"),  # anyone else: not believed
        ("not an address", "https", "http"),
    ]:
        environ = {
            "REMOTE_ADDR": address,
            "HTTP_X_FORWARDED_PROTO": proto,
            "wsgi.url_scheme": "http",
        }
        served(environ, lambda *a: None)
        assert seen.pop() == scheme, (address, proto)
        assert environ["REMOTE_ADDR"] == address  # the client's address is not rewritten


def test_checks_hold_the_tenancy_middleware_to_its_place(settings):
    from tenancy.checks import tenancy_middleware_order

    assert tenancy_middleware_order(None) == []
    order = list(settings.MIDDLEWARE)
    framing = order.pop(order.index("tenancy.middleware.EmbedFramingMiddleware"))
    settings.MIDDLEWARE = [framing, *order]  # outside the CSP and clickjacking middleware
    assert [e.id for e in tenancy_middleware_order(None)] == ["tenancy.E003"]
    sessions = "tenancy.sessions.TenantSessionMiddleware"
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware" if m == sessions else m
        for m in order
    ]
    assert "tenancy.E002" in [e.id for e in tenancy_middleware_order(None)]
