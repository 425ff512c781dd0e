"""Start the pieces a benchmark needs as separate processes, each serving on a loopback
socket made here and passed down (``sandbox.launch.listening_socket``); and the options the
benchmarks' command lines share."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from devtools import production
from sandbox.launch import (
    Listener,
    control,
    listening_socket,
    sandbox_command,
    stripe_server_command,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
WRITE_KEY = "sandbox_write_key"
LATENCY_MS = 50  # what the sandbox adds to every API call
WORKERS, THREADS = 2, 4  # the web server's, per storefront instance
SERVERS = ("granian", "gunicorn")  # make serve's, and the one it replaced (for comparison)
CLIENTS = 50  # connections a load holds open


@dataclass
class Stack:
    storefront: str  # the first instance
    sandbox: str
    stripe: str
    workdir: Path
    storefronts: list[str] = field(default_factory=list)  # every instance
    web_pids: list[int] = field(default_factory=list)  # their web servers' main processes
    manage: Callable[..., str] | None = None  # a manage.py command as the storefront

    def sandbox_control(self, method: str, path: str, json: dict | None = None) -> dict:
        return control(self.sandbox, WRITE_KEY, method, path, json)

    def event_path(self, name: str) -> str:
        """The storefront path of the seeded event called ``name``."""
        events = httpx.get(
            f"{self.sandbox}/sandbox/api/public/v2/events",
            params={"filter[name]": name},
            headers={"Authorization": f"Token {WRITE_KEY}"},
        ).json()["data"]
        return f"/events/{events[0]['id']}/{events[0]['slug']}/"


@contextlib.contextmanager
def stack(
    *,
    latency_ms: float = LATENCY_MS,
    workers: int = WORKERS,
    threads: int = THREADS,
    server: str = SERVERS[0],
    payment_delay: float = 0.5,
    rate_limit: int = 300,
    instances: int = 1,
    web_env: dict[str, str] | None = None,
    sandbox_images: bool = False,
    setup: Callable[[str, Callable[..., str]], None] | None = None,
) -> Iterator[Stack]:
    """localstripe + a separate sandbox (with added latency) + ``instances`` storefronts under
    ``server`` (granian as ``make serve`` runs it, or gunicorn) with production settings
    (DEBUG off; PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set, else one SQLite
    file they share), as behind a load balancer, and the
    catalog's sync worker (its first pass done before the storefronts start).
    ``web_env`` adds to (or overrides) the storefronts' environment. ``sandbox_images``
    collects the sandbox's static files first, so its event images load (DEBUG off serves
    only collected files). ``setup(sandbox_url, manage)`` runs once the database is migrated,
    before the first sync; ``manage(*args)`` runs a ``manage.py`` command as the storefront."""
    workdir = Path(tempfile.mkdtemp(prefix="gm-bench-"))
    procs: list[subprocess.Popen] = []
    log = (workdir / "processes.log").open("w")
    base_env = {k: v for k, v in os.environ.items() if k not in {"GM_API_URL", "GM_API_KEY"}}
    base_env.setdefault("MERCHANT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    try:
        stripe_listener, sandbox_listener = listening_socket(), listening_socket()
        web_listeners = [listening_socket() for _ in range(instances)]
        stripe, sandbox = stripe_listener.url, sandbox_listener.url
        procs.append(
            stripe_listener.start(
                stripe_server_command(fd=stripe_listener.fd),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(f"{stripe}/js.stripe.com/v3/", procs[-1])

        sandbox_env = {
            **base_env,
            "VAR_DIR": str(workdir / "sandbox"),
            # Production-like: without DEBUG's query log the emulator takes less of the CPU
            # that the storefront under test shares with it.
            "DEBUG": "0",
            "SECRET_KEY": "bench-sandbox-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "0",  # plain HTTP on loopback: no redirect to HTTPS
            "SANDBOX_LATENCY_MS": str(latency_ms),
            "SANDBOX_RATE_LIMIT": str(rate_limit),
            "SANDBOX_PAYMENT_DELAY": str(payment_delay),
            "SANDBOX_STRIPE_API_BASE": stripe,
            "LOCALSTRIPE_URL": stripe,
        }
        sandbox_env.pop("REDIS_URL", None)
        sandbox_env.pop("DATABASE_URL", None)  # the emulator keeps its own SQLite
        if sandbox_images:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput"],
                cwd=ROOT,
                env=sandbox_env,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(
            sandbox_listener.start(
                sandbox_command(fd=sandbox_listener.fd),
                cwd=ROOT,
                env=sandbox_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(f"{sandbox}/sandbox/health", procs[-1])

        env = {
            **base_env,
            "VAR_DIR": str(workdir / "web"),
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "GM_API_URL": f"{sandbox}/sandbox/api/public/v2",
            "GM_API_KEY": WRITE_KEY,
            "STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
            "LOCALSTRIPE_URL": stripe,
            "CACHE_KEY_PREFIX": f"bench{web_listeners[0].port}",
            "SECURE_COOKIES": "0",
            # The load generator stands in for many buyers on one address: it names each
            # buyer's own address in X-Forwarded-For (see ``buyer_headers``), as a proxy would,
            # so the abuse limits count per buyer as in production.
            "TRUSTED_PROXY_COUNT": "1",
            **(web_env or {}),
        }

        def manage(*command: str) -> str:
            """Run a ``manage.py`` command as the storefront; what it printed."""
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            log.write(done.stdout + done.stderr)
            return done.stdout

        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput")
        if setup is not None:
            setup(sandbox, manage)
        manage("sync_catalog", "--once")
        procs.append(
            subprocess.Popen(  # noqa: S603 (our own argv)
                [sys.executable, "manage.py", "sync_catalog"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        for listener in web_listeners:
            procs.append(_web_server(server, listener, workers, threads, env, log))
        urls = [listener.url for listener in web_listeners]
        webs = procs[-instances:]
        for url, proc in zip(urls, webs, strict=True):
            wait_for(f"{url}/healthz", proc)
        yield Stack(urls[0], sandbox, stripe, workdir, urls, [p.pid for p in webs], manage)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _web_server(
    server: str, listener: Listener, workers: int, threads: int, env: dict[str, str], log
) -> subprocess.Popen:
    if server == "granian":  # binds by address: the port is let go just before
        listener.sock.close()
        bind = {"BIND": f"127.0.0.1:{listener.port}"}
        sizes = {"WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads)}
        command = production.server_command({**env, **bind, **sizes})
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    command = [
        str(gunicorn),
        "config.wsgi",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "-b",
        f"fd://{listener.fd}",
        "--log-level",
        "warning",
    ]
    return listener.start(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def buyer_headers(buyer: int) -> dict[str, str]:
    """Headers giving simulated buyer number ``buyer`` an address of its own (198.18.0.0/15
    is reserved for benchmarks)."""
    return {"X-Forwarded-For": f"198.18.{buyer // 256 % 256}.{buyer % 256}"}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- command lines ------------------------------------------------------------------------


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line; its ``--help`` opens with the first paragraph of ``doc``
    (the script's docstring)."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0] or None)


def add_load(parser: argparse.ArgumentParser, *, seconds: int, clients: bool = False) -> None:
    """``--seconds`` of load and, with ``clients``, the ``--clients`` connections that make it."""
    parser.add_argument("--seconds", type=int, default=seconds, help="how long the load runs")
    if clients:
        parser.add_argument("--clients", type=int, default=CLIENTS, help="connections at once")


def add_sandbox_latency(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-ms", type=float, default=LATENCY_MS, help="what the sandbox adds to each call"
    )


def add_server(parser: argparse.ArgumentParser, *, workers: bool = True) -> None:
    """The storefront's web server: ``--server``, ``--workers`` per instance (unless
    ``workers`` is False: the script fixes them) and ``--threads`` per worker."""
    parser.add_argument(
        "--server", choices=SERVERS, default=SERVERS[0], help="make serve's, or gunicorn"
    )
    if workers:
        parser.add_argument("--workers", type=int, default=WORKERS, help="processes per instance")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per process")
