"""Django's threaded WSGI server, as the sandbox process (and the demo) use it.

Its handler writes a response's headers and body separately; with Nagle's algorithm on, the
body then waits for the client's delayed ACK (about 40 ms on Linux) on every keep-alive
request. Answers go out at once here.

A response carrying ``DROP_HEADER`` (the sandbox's injected faults: "unreachable", "reply
lost") is not sent at all: the connection closes, as when a network drops a reply."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer, run
from django.core.wsgi import get_wsgi_application

DROP_HEADER = "x-sandbox-drop-connection"

_dropping = threading.local()  # one thread serves one connection


class DroppingRequestHandler(WSGIRequestHandler):
    def handle_one_request(self) -> None:
        _dropping.now = False
        super().handle_one_request()
        if _dropping.now:
            self.close_connection = True


WSGIApp = Callable[..., Iterable[bytes]]


def _drop_marked(app: WSGIApp) -> WSGIApp:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(name.lower() == DROP_HEADER for name, _value in headers):
                _dropping.now = True
            return start_response(status, headers, exc_info)

        result = app(environ, start)
        if getattr(_dropping, "now", False):
            getattr(result, "close", lambda: None)()  # Django's request_finished cleanup
            # wsgiref takes this as the client having gone: nothing is written.
            raise ConnectionAbortedError("reply dropped on purpose")
        return result

    return wrapped


class LocalServer(WSGIServer):
    request_queue_size = 128

    def __init__(self, address: Any, handler: type, *args: Any, **kwargs: Any) -> None:
        super().__init__(address, DroppingRequestHandler, *args, **kwargs)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def set_app(self, application: WSGIApp) -> None:
        super().set_app(_drop_marked(application))


def serve(host: str, port: int) -> None:
    """This process's Django project on ``host:port``, threaded, without autoreload."""
    run(host, port, get_wsgi_application(), threading=True, server_cls=LocalServer)
