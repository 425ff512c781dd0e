"""A stand-in merchant website on its own origin, embedding the storefront with the documented
snippets: for the demo and for browser tests. Standard library only (no Django).

    python -m devtools.embedhost --port 8100 --storefront http://localhost:8000 \\
        [--merchant slug] [--event 123]

The page logs every storefront CustomEvent into ``<ol id="events-log">`` and into
``window.storefrontEvents`` (``{type, detail, embed}``, embed = the id of the section).
It is served with a strict Content Security Policy (no inline styles, frames only from the
storefront) so the embed script is exercised the way many merchants' sites would run it.
"""

from __future__ import annotations

import argparse
import json
import re
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLUG = re.compile(r"[a-z0-9-]{1,50}")

EVENT_TYPES = (
    "storefront:ready",
    "storefront:resize",
    "storefront:error",
    "cart:updated",
    "checkout:step",
    "checkout:complete",
    "queue:waiting",
    "queue:admitted",
    "queue:sold-out",
)

LOG_SCRIPT = """
window.storefrontEvents = [];
(function () {
  var pending = [];
  function show(entry) {
    var item = document.createElement("li");
    item.textContent = entry.type + " " + JSON.stringify(entry.detail)
      + (entry.embed ? " \\u2014 " + entry.embed : "");
    document.getElementById("events-log").appendChild(item);
  }
  TYPES.forEach(function (type) {
    document.addEventListener(type, function (event) {
      var section = event.target.closest && event.target.closest("section");
      var entry = {type: type, detail: event.detail, embed: section ? section.id : ""};
      window.storefrontEvents.push(entry);
      if (document.getElementById("events-log")) show(entry);
      else pending.push(entry);
    });
  });
  document.addEventListener("DOMContentLoaded", function () { pending.forEach(show); });
})();
"""

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5a6272; --brand: #0b6e4f; }
* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.55 Georgia, "Times New Roman", serif; color: var(--ink);
  background: #f6f3ee; }
.site-header { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .75rem 1.25rem; background: var(--ink); color: #fff;
  font-family: system-ui, sans-serif; }
.site-header .logo { margin: 0; font-weight: 700; letter-spacing: .04em; }
.site-header nav a { color: #fff; margin-left: 1rem; }
main { max-width: 960px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 2.2rem; line-height: 1.15; margin: .5rem 0 .75rem; }
h2 { font-size: 1.4rem; margin: 2.25rem 0 .75rem; }
section > p { color: var(--muted); }
[data-storefront] { background: #fff; border-radius: 10px; }
#buy [data-storefront] { background: none; }
[data-storefront] > button { font: 600 1.05rem/1 system-ui, sans-serif; padding: .9rem 1.6rem;
  min-height: 48px; border: 0; border-radius: 999px; background: var(--brand); color: #fff;
  cursor: pointer; }
[data-storefront] > button:focus-visible { outline: 3px solid #f2b705; outline-offset: 2px; }
#events-log { font: 13px/1.4 ui-monospace, monospace; max-height: 16rem; overflow: auto;
  background: #fff; padding: .75rem 1rem .75rem 2.5rem; border-radius: 10px;
  overflow-wrap: anywhere; }
"""


def _clean_base(storefront_url: str) -> str:
    parts = urlsplit(storefront_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {storefront_url!r}")
    return storefront_url.rstrip("/")


def make_page(
    storefront_url: str, merchant: str | None = None, event_id: int | str | None = None
) -> str:
    """The merchant page's HTML, embedding the storefront at ``storefront_url``."""
    base = _clean_base(storefront_url)
    if merchant is not None and not SLUG.fullmatch(merchant):
        raise ValueError(f"not a merchant slug: {merchant!r}")
    if event_id is not None and not str(event_id).isdigit():
        raise ValueError(f"not an event id: {event_id!r}")
    prefix = f"/m/{merchant}" if merchant else ""
    who = f' data-merchant="{escape(merchant)}"' if merchant else ""
    list_url = escape(f"{base}{prefix}/")
    script = escape(f"{base}/embed.js")
    log_script = LOG_SCRIPT.replace("TYPES", json.dumps(EVENT_TYPES))

    featured = ""
    button_target = ""
    button_url = list_url
    if event_id is not None:
        event_url = escape(f"{base}{prefix}/events/{event_id}/")
        button_target = f' data-event="{event_id}"'
        button_url = event_url
        featured = f"""
  <section id="featured">
    <h2>Featured event</h2>
    <p>One event, shown inline on this page.</p>
    <div id="embed-event" data-storefront{who} data-event="{event_id}" data-title="Featured event">
      <a href="{event_url}">See the event and get tickets</a>
    </div>
    <script src="{script}" async></script>
  </section>"""

    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example merchant site</title>
<link rel="stylesheet" href="/host.css">
<script>{log_script}</script>
</head>
<body>
<header class="site-header">
  <p class="logo">Riverside Hall</p>
  <nav aria-label="Site"><a href="#buy">Tickets</a><a href="#all-events">What’s on</a></nav>
</header>
<main>
  <h1>Example merchant site</h1>
  <p>This page stands for a merchant’s own website, on an origin of its own. Everything
  ticket-related below comes from the storefront through one script tag.</p>
{featured}
  <section id="buy">
    <h2>Buy tickets</h2>
    <p>The button opens the checkout over this page.</p>
    <div id="embed-button" data-storefront data-mode="button"{who}{button_target}>
      <a href="{button_url}">Buy tickets</a>
    </div>
    <script src="{script}" async></script>
  </section>

  <section id="all-events">
    <h2>All events</h2>
    <script src="{script}"{who} data-title="All events" async></script>
  </section>

  <section id="log">
    <h2>Storefront events</h2>
    <ol id="events-log"></ol>
  </section>
</main>
</body>
</html>
"""


def content_security_policy(storefront_url: str) -> str:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(storefront_url))
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {origin}; style-src 'self'; "
        f"frame-src {origin}; img-src 'self' data:; object-src 'none'; base-uri 'none'"
    )


def serve(
    port: int,
    storefront_url: str,
    merchant: str | None = None,
    event_id: int | str | None = None,
    host: str = "127.0.0.1",
) -> ThreadingHTTPServer:
    """A server for the page, bound but not started: run ``serve_forever()`` (in a thread in
    tests), then ``shutdown()`` and ``server_close()``. Port 0 picks a free one."""
    page = make_page(storefront_url, merchant, event_id).encode()
    csp = content_security_policy(storefront_url)
    files = {
        "/": ("text/html; charset=utf-8", page),
        "/host.css": ("text/css; charset=utf-8", CSS.encode()),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(urlsplit(self.path).path)
            if found is None:
                self.send_error(404)
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if content_type.startswith("text/html"):
                self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--storefront", default="http://localhost:8000")
    parser.add_argument("--merchant")
    parser.add_argument("--event")
    args = parser.parse_args(argv)
    try:
        server = serve(args.port, args.storefront, args.merchant, args.event)
    except ValueError as error:
        parser.error(str(error))
    print(f"Example merchant site on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
