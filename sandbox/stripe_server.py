"""Run localstripe (a fake Stripe API plus a Stripe.js mock at /js.stripe.com/v3/) bound to
127.0.0.1 with nothing written to disk.

    python -m sandbox.stripe_server --port 8420
    python -m sandbox.stripe_server --fd 3    # a listening socket the parent passed down
"""

from __future__ import annotations

import argparse
import logging
import socket


def build_app():
    from localstripe import resources, server

    # The stock server pickles its whole state to /tmp on every write; keep it in memory.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    return server.app


def main(argv: list[str] | None = None) -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)
    where = (
        {"sock": socket.socket(fileno=args.fd)}
        if args.fd is not None
        else {"host": args.host, "port": args.port}
    )
    web.run_app(
        build_app(),
        **where,
        access_log=None if args.quiet else logging.getLogger("aiohttp.access"),
        print=None if args.quiet else print,
    )


if __name__ == "__main__":
    main()
