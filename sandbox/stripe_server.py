"""Run localstripe (a fake Stripe API plus a Stripe.js mock at /js.stripe.com/v3/) bound to
127.0.0.1 with nothing written to disk.

    python -m sandbox.stripe_server --port 8420
    python -m sandbox.stripe_server --fd 3    # a listening socket the parent passed down
"""

from __future__ import annotations

import argparse
import logging
import socket

from aiohttp import web


def build_app():
    from localstripe import resources, server

    # The stock server pickles its whole state to /tmp on every write; keep it in memory.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    accept_numbers_as_typed(resources)
    server.app.middlewares.append(_whole_number_before_moving_on)
    return server.app


MOVES_ON = "this.value.card.number.length >= 16"


@web.middleware
async def _whole_number_before_moving_on(request, handler):
    """The mock card field moves on to the expiry after 16 characters, spaces included: a
    number typed in groups would lose its last digits. It counts digits instead."""
    response = await handler(request)
    if request.path == "/js.stripe.com/v3/" and isinstance(response, web.Response):
        script = response.text.replace(
            MOVES_ON, "this.value.card.number.replace(/[ -]/g, '').length >= 16"
        )
        return web.Response(text=script, content_type=response.content_type)
    return response


def accept_numbers_as_typed(resources) -> None:
    """Stripe's card field takes a number typed in groups ("4242 4242 4242 4242"); the
    mock's plain input passes it on as typed, which the fake API would refuse."""
    card_init, method_init = resources.Card.__init__, resources.PaymentMethod.__init__

    def card(self, source=None, **kwargs):
        card_init(self, source=_digits_of(source), **kwargs)

    def payment_method(self, *args, card=None, **kwargs):
        method_init(self, *args, card=_digits_of(card), **kwargs)

    resources.Card.__init__ = card
    resources.PaymentMethod.__init__ = payment_method


def _digits_of(card):
    if isinstance(card, dict) and isinstance(card.get("number"), str):
        return {**card, "number": "".join(c for c in card["number"] if c not in " -")}
    return card


def main(argv: list[str] | None = None) -> None:
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
