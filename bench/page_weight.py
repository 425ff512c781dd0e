"""Bytes a first visit transfers: the event page and the events list with every stylesheet,
script and image they load, as served (gzip/brotli), counted by Chromium (prints figures;
not a test).

Starts the usual stack (``bench.common``), opens each page in a fresh browser context (empty
cache) with Playwright and ``/usr/bin/chromium``, and adds up every response's encoded body
and headers (``request.sizes()``).

    .venv/bin/python -m bench.page_weight [--lighthouse path/to/node_modules/.bin/lighthouse]

With ``--lighthouse``, each page is also audited by that Lighthouse CLI (mobile, the default)
in the same Chromium: its category scores and total byte weight are printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from playwright.sync_api import Browser, Request, sync_playwright

from bench.common import arguments, stack


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


def lighthouse(cli: str, url: str) -> str:
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "report.json")
        subprocess.run(
            [
                cli,
                url,
                "--quiet",
                "--output=json",
                f"--output-path={report}",
                "--chrome-flags=--headless=new --no-sandbox",
                "--only-categories=performance,accessibility,best-practices",
            ],
            env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
        )
        if not os.path.exists(report):
            return "lighthouse: no report (see its error above)"
        with open(report) as f:
            result = json.load(f)
    scores = ", ".join(
        f"{c['id']} {c['score']:.2f}"
        for c in result["categories"].values()
        if c["score"] is not None
    )
    weight = result["audits"]["total-byte-weight"]["numericValue"]
    return f"lighthouse: {scores}; total byte weight {weight:,.0f} B"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--lighthouse", help="a Lighthouse CLI to audit each page with")
    args = parser.parse_args()
    with stack(sandbox_images=True) as s, sync_playwright() as p:
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
            if args.lighthouse:
                print(f"  {lighthouse(args.lighthouse, url)}")
                print(f"  {lighthouse(args.lighthouse, url)}")
        browser.close()


if __name__ == "__main__":
    main()
