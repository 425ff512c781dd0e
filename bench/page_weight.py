"""Bytes a first visit transfers: the event page and the events list with every stylesheet,
script and image they load, as served (gzip/brotli), counted by Chromium (prints figures;
not a test).

Starts the usual stack (``bench.common``), opens each page in a fresh browser context (empty
cache) with Playwright and ``/usr/bin/chromium``, and adds up every response's encoded body
and headers (``request.sizes()``).

    .venv/bin/python -m bench.page_weight
"""

from __future__ import annotations

from playwright.sync_api import Browser, Request, sync_playwright

from bench.common import stack


def weigh(browser: Browser, url: str) -> list[tuple[str, int, int, str]]:
    """(url, body bytes, header bytes, content-encoding) for each response of one visit."""
    context = browser.new_context()
    page = context.new_page()
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(url, wait_until="networkidle")
    rows = []
    for request in finished:
        sizes = request.sizes()
        response = request.response()
        encoding = (response.headers.get("content-encoding") if response else None) or "-"
        status = response.status if response else 0
        label = f"{status} {encoding}"
        rows.append((request.url, sizes["responseBodySize"], sizes["responseHeadersSize"], label))
    context.close()
    return rows


def main() -> None:
    with stack() as s, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        pages = [
            ("event page", s.storefront + s.event_path("Sandbox Showcase")),
            ("events list", s.storefront + "/"),
        ]
        for name, url in pages:
            rows = weigh(browser, url)
            body = sum(r[1] for r in rows)
            total = body + sum(r[2] for r in rows)
            print(f"{name}: {len(rows)} responses, {body:,} B bodies, {total:,} B with headers")
            for resource, size, headers, encoding in rows:
                print(f"  {size:8,} B  +{headers:4} B headers  {encoding:8s} {resource}")
        browser.close()


if __name__ == "__main__":
    main()
