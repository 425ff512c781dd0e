"""``make serve``: the production configuration — granian (``server_command``), whitenoise,
PostgreSQL, Redis, ``DEBUG=0`` — after migrating and collecting static files, with the
catalog's sync worker beside it (``REPLICA_WORKER=0``: none).

granian parses and writes HTTP in Rust and runs Django in ``WEB_THREADS`` threads in each of
``WEB_CONCURRENCY`` worker processes: checkout requests mostly wait on the API, so a worker
keeps a few threads, while ``CPU_SLOTS`` (settings) lets only two of them work at once. More
threads serve more simultaneous checkouts but lengthen the slowest catalog answers under load
(bench/README.md has the figures).

    python -m devtools.production            # production: refuses without its settings
    python -m devtools.production --local    # try it on this machine over plain HTTP

Production needs ``SECRET_KEY``, ``MERCHANT_ENCRYPTION_KEYS`` and ``ALLOWED_HOSTS``: no default
for them is right for more than one machine (sessions and merchants' stored keys must read
the same on every server). ``DATABASE_URL`` and ``REDIS_URL`` default to this machine's
PostgreSQL and Redis; which ones are used is printed at start.

``--local`` also serves on 127.0.0.1 over plain HTTP (no Secure cookies, no HTTPS redirect),
with the secrets generated into ``var/`` as ``make demo`` does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from devtools.processes import Children

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("SECRET_KEY", "MERCHANT_ENCRYPTION_KEYS", "ALLOWED_HOSTS")
LOCAL_SERVICES = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
HOW_TO_SET = {
    "SECRET_KEY": "python -c 'import secrets; print(secrets.token_urlsafe(50))'",
    "MERCHANT_ENCRYPTION_KEYS": (
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ),
    "ALLOWED_HOSTS": "the site's host names, comma-separated (shop.example.com)",
}


class Refused(Exception):
    """The configuration cannot serve production; the message says what to set."""


def _set(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _local_secret(var_dir: Path, name: str, make: str) -> str:
    """The same files settings.py generates with DEBUG on, so the demo and this agree."""
    path = var_dir / name
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(make)
    return ",".join(path.read_text().split())


def _note(name: str, text: str) -> str:
    return f"{name:<26}{text}"


def configure(environ: Mapping[str, str], *, local: bool) -> tuple[dict[str, str], list[str]]:
    """The server's environment and what to tell the operator about it. Raises ``Refused``."""
    env = dict(environ)
    notes: list[str] = []
    env["DEBUG"] = "0"
    if local:
        from cryptography.fernet import Fernet

        var_dir = Path(env.get("VAR_DIR") or ROOT / "var")
        env.setdefault("BIND", "127.0.0.1:8000")
        env["SECURE_COOKIES"] = "0"  # plain HTTP: also no redirect to HTTPS (settings.py)
        generated = {
            "SECRET_KEY": ("secret_key", secrets.token_urlsafe(50)),
            "MERCHANT_ENCRYPTION_KEYS": ("merchant_keys", Fernet.generate_key().decode()),
        }
        for name, (filename, value) in generated.items():
            if not _set(env, name):
                env[name] = _local_secret(var_dir, filename, value)
                notes.append(_note(name, f"generated in {var_dir / filename}"))
        if not _set(env, "ALLOWED_HOSTS"):
            env["ALLOWED_HOSTS"] = "127.0.0.1,localhost,[::1]"
    missing = [name for name in REQUIRED if not _set(env, name)]
    if missing:
        lines = [f"  {_note(name, HOW_TO_SET[name])}" for name in missing]
        raise Refused(
            "production needs these settings in the environment:\n"
            + "\n".join(lines)
            + "\nTo try it on this machine over plain HTTP instead: make serve LOCAL=1"
        )
    for name, default in LOCAL_SERVICES.items():
        if _set(env, name):
            notes.append(_note(name, f"{_masked(env[name])}  (from the environment)"))
        else:
            env[name] = default
            notes.append(_note(name, f"{default}  (this machine's: {name} is unset)"))
    env.setdefault("BIND", "0.0.0.0:8000")
    host, _, port = env["BIND"].rpartition(":")
    sandbox = not (_set(env, "GM_API_URL") and _set(env, "GM_API_KEY"))
    if sandbox and not _set(env, "SITE_URL"):
        # The storefront calls the sandbox it serves at SITE_URL: here, over loopback.
        loopback = host if host.startswith("127.") or host == "localhost" else "127.0.0.1"
        env["SITE_URL"] = f"http://{loopback}:{port}"
    api = f"sandbox, served here at {env.get('SITE_URL')}" if sandbox else env["GM_API_URL"]
    notes.append(_note("API", api))
    notes.append(_note("BIND", env["BIND"]))
    if not local:
        proxy = _set(env, "SECURE_PROXY_SSL_HEADER")
        notes.append(
            _note(
                "SECURE_PROXY_SSL_HEADER",
                proxy or "unset (behind a TLS proxy elsewhere: X-Forwarded-Proto)",
            )
        )
    return env, notes


def prepare(env: Mapping[str, str], *, local: bool) -> None:
    """Check the deployment, reach the services, migrate, seed an empty sandbox and collect
    static files, in this process with the server's settings."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.db import connections

    try:
        call_command("check", deploy=not local)
    except SystemCheckError as exc:
        raise Refused(str(exc)) from exc
    try:
        connections["default"].ensure_connection()
    except Exception as exc:
        raise Refused(f"Cannot reach the database ({exc.__class__.__name__}: {exc})") from exc
    try:
        cache.set("serve:ping", 1, 5)
    except Exception as exc:
        raise Refused(f"Cannot reach Redis ({exc.__class__.__name__}: {exc})") from exc
    call_command("migrate", interactive=False, verbosity=1)
    if settings.SANDBOX_MODE:
        call_command("migrate", database="sandbox", interactive=False, verbosity=0)
        from sandbox.models import Event

        if not Event.objects.exists():
            call_command("seed_sandbox")
    call_command("collectstatic", interactive=False, verbosity=0)
    connections.close_all()


def server_command(env: Mapping[str, str]) -> list[str]:
    """The web server's command line: ``BIND`` (host:port, or ``unix:`` and a socket's path),
    ``WEB_CONCURRENCY`` processes of ``WEB_THREADS`` threads."""
    bind = env.get("BIND", "0.0.0.0:8000")
    if bind.startswith("unix:"):
        where = ["--uds", bind.removeprefix("unix:")]
    else:
        host, _, port = bind.rpartition(":")
        where = ["--host", host.strip("[]") or "0.0.0.0", "--port", port]  # noqa: S104
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        *where,
        "--workers",
        env.get("WEB_CONCURRENCY", "2"),
        "--blocking-threads",
        env.get("WEB_THREADS", "4"),
        "--backlog",
        "1024",
        # A request's head (request line and headers) may take this much, no more.
        "--http1-buffer-size",
        "65536",
        "--workers-kill-timeout",
        "20",
        "--respawn-failed-workers",
        "--no-ws",
        "--log-level",
        "warning",
        "config.wsgi:served",
    ]


def start_sync_worker() -> None:
    """The catalog's sync worker (``manage.py sync_catalog``) as a process of its own beside
    the web server. It is told to stop (SIGTERM) when this process — the server, once
    exec'd — ends; with several instances each starts one and the Redis lock lets one sync."""
    command = [sys.executable, str(ROOT / "manage.py"), "sync_catalog", "--quiet"]
    Children().start(command, os.environ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--local", action="store_true", help="plain HTTP on this machine")
    args = parser.parse_args(argv)
    try:
        env, notes = configure(os.environ, local=args.local)
        where = "on this machine over plain HTTP" if args.local else "for production"
        print(f"make serve: DEBUG=0, granian, {where}", flush=True)
        for note in notes:
            print(f"  {note}", flush=True)
        prepare(env, local=args.local)
    except Refused as exc:
        print(f"make serve: {exc}", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    if os.environ.get("REPLICA_WORKER", "1") != "0":
        start_sync_worker()
    os.execv(sys.executable, server_command(os.environ))  # noqa: S606 (our own argv)
    return 0  # not reached: the server replaced this process


if __name__ == "__main__":
    sys.exit(main())
