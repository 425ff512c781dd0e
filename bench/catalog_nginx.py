"""Catalog pages through the storefront's server alone (granian, as ``make serve`` runs
it), behind the reference nginx proxy cache, and as a static file served by nginx (prints
figures; not a test).

Starts the usual stack (``bench.common``), then Debian's nginx on loopback with two servers:
``deploy/nginx.conf`` as shipped (its upstream pointed at the stack's server, its cache in a
temporary folder), and a plain static server (``gzip on``) holding the event page's HTML saved
from the storefront. ``wrk`` loads each target in turn (``--clients`` connections,
``--seconds`` each, ``Accept-Encoding: gzip``): the event page and the list through the
server alone, then through the cache, then the static copy.

    .venv/bin/python -m bench.catalog_nginx [--seconds 15] [--clients 50]
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.catalog import wrk
from bench.common import ROOT, add_load, arguments, stack
from sandbox.launch import listening_socket

GZIP = {"Accept-Encoding": "gzip"}


def free_port() -> int:
    listener = listening_socket()
    port = listener.port
    os.close(listener.fd)
    return port


def nginx_config(
    workdir: Path, upstream: str, cache_port: int, static_port: int, precompressed_port: int
) -> str:
    """``deploy/nginx.conf`` on loopback, inside an http block of its own, plus two static
    servers: one compressing each response (``gzip on``), one sending a file compressed once
    beforehand (``gzip_static``), as the cache sends the storefront's gzip."""
    reference = (ROOT / "deploy" / "nginx.conf").read_text()
    reference = reference.replace("server 127.0.0.1:8000;", f"server {upstream};")
    reference = reference.replace("/var/cache/nginx/storefront", str(workdir / "cache"))
    reference = re.sub(
        r"listen 80;\s*listen \[::\]:80;", f"listen 127.0.0.1:{cache_port};", reference
    )
    user = "user root;" if os.geteuid() == 0 else ""
    temp = workdir / "tmp"
    return f"""{user}
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    access_log off;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
{reference}
    server {{
        listen 127.0.0.1:{static_port};
        root {workdir}/static;
        gzip on;
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
    server {{
        listen 127.0.0.1:{precompressed_port};
        root {workdir}/static;
        gzip_static on;
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


def start_nginx(workdir: Path, config: str) -> subprocess.Popen[bytes]:
    (workdir / "tmp").mkdir()
    (workdir / "cache").mkdir()
    path = workdir / "nginx.conf"
    path.write_text(config)
    subprocess.run(["nginx", "-t", "-q", "-c", str(path)], check=True)
    return subprocess.Popen(["nginx", "-c", str(path), "-g", "daemon off;"])  # noqa: S607


def stop_nginx(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def save_page(url: str, static: Path, path: str) -> int:
    """The page's uncompressed HTML as the file nginx serves at ``path``."""
    body = httpx.get(url, timeout=30).content
    target = static / path.strip("/") / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    target.with_suffix(".html.gz").write_bytes(gzip.compress(body, compresslevel=6))
    return len(body)


def cache_status(url: str) -> str:
    for _ in range(3):
        response = httpx.get(url, headers=GZIP, timeout=30)
    return f"{response.headers.get('x-cache-status')} ({response.headers.get('cache-control')})"


def main() -> None:
    parser = arguments(__doc__)
    add_load(parser, seconds=15, clients=True)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gm-nginx-"))
    workdir.chmod(0o755)
    results: list[tuple[str, dict[str, float]]] = []
    try:
        with stack() as s:
            event_path = s.event_path("Sandbox Showcase")
            upstream = s.storefront.removeprefix("http://")
            cache_port, static_port, precompressed_port = free_port(), free_port(), free_port()
            size = save_page(s.storefront + event_path, workdir / "static", event_path)
            nginx = start_nginx(
                workdir,
                nginx_config(workdir, upstream, cache_port, static_port, precompressed_port),
            )
            try:
                cached = f"http://127.0.0.1:{cache_port}"
                static = f"http://127.0.0.1:{static_port}"
                precompressed = f"http://127.0.0.1:{precompressed_port}"
                for url in (s.storefront + event_path, s.storefront + "/", static + event_path):
                    for _ in range(3):
                        assert httpx.get(url, headers=GZIP, timeout=30).status_code == 200
                print(f"nginx cache, event page: {cache_status(cached + event_path)}")
                print(f"nginx cache, list:       {cache_status(cached + '/')}")
                sent = httpx.get(precompressed + event_path, headers=GZIP, timeout=30).headers
                print(
                    f"static copy of the event page: {size} B uncompressed, gzip_static sends "
                    f"{sent.get('content-length')} B ({sent.get('content-encoding')})"
                )
                targets = [
                    ("server alone, event page", s.storefront + event_path),
                    ("server alone, list", s.storefront + "/"),
                    ("nginx cache event page", cached + event_path),
                    ("nginx cache list", cached + "/"),
                    ("nginx static event page", static + event_path),
                    ("nginx gzip_static event page", precompressed + event_path),
                ]
                for name, url in targets:
                    results.append((name, wrk(url, args.clients, args.seconds, GZIP, threads=2)))
                    time.sleep(2)
            finally:
                stop_nginx(nginx)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{args.clients} connections, {args.seconds} s each (wrk, Accept-Encoding: gzip)")
    for name, r in results:
        print(
            f"  {name:24s} {r['rps']:9.1f} req/s   p50 {r['p50']:7.2f} ms   "
            f"p99 {r['p99']:7.2f} ms   non-2xx {int(r['errors'])}"
        )
    by_name = dict(results)
    for static in ("nginx static event page", "nginx gzip_static event page"):
        for name in ("nginx cache event page", "nginx cache list"):
            ratio = by_name[name]["rps"] / by_name[static]["rps"]
            print(f"  {name} / {static}: {ratio:.1%}")


if __name__ == "__main__":
    main()
