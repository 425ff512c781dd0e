"""Serve the storefront (with its sandbox, in sandbox mode) on Django's threaded WSGI server,
without autoreload, as the demo and the tests run it:

    python -m devtools.devserver --port 8000
    python -m devtools.devserver --fd 3    # a listening socket the parent passed down
"""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from sandbox.server import serve  # answers at once (no Nagle delay); drops on request

    serve(args.host, args.port, fd=args.fd)


if __name__ == "__main__":
    main()
