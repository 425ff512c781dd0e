"""Django's threaded WSGI server, as the sandbox process (and the demo) use it.

Its handler writes a response's headers and body separately; with Nagle's algorithm on, the
body then waits for the client's delayed ACK (about 40 ms on Linux) on every keep-alive
request. Answers go out at once here.

A response carrying ``DROP_HEADER`` (the sandbox's injected faults: "unreachable", "reply
lost") is not sent at all: the connection closes, as when a network drops a reply."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
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


class LocalServer(socketserver.ThreadingMixIn, WSGIServer):
    request_queue_size = 128
    daemon_threads = True  # a request still running does not hold up the process's exit

    def __init__(self, address: Any, handler: type, *args: Any, **kwargs: Any) -> None:
        super().__init__(address, DroppingRequestHandler, *args, **kwargs)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def set_app(self, application: WSGIApp) -> None:
        super().set_app(_drop_marked(application))

    def adopt(self, sock: socket.socket) -> None:
        """Serve on ``sock``, already bound and listening (made by the parent process)."""
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()
        host, self.server_port = self.server_address[:2]
        self.server_name = socket.getfqdn(host)
        self.setup_environ()


def make_server(host: str = "127.0.0.1", port: int = 0, *, fd: int | None = None) -> LocalServer:
    """This process's Django project, threaded, without autoreload, on ``host:port`` or on
    the inherited listening socket ``fd``."""
    if fd is None:
        server = LocalServer((host, port), DroppingRequestHandler)
    else:
        sock = socket.socket(fileno=fd)
        server = LocalServer(sock.getsockname(), DroppingRequestHandler, bind_and_activate=False)
        server.adopt(sock)
    server.set_app(get_wsgi_application())
    return server


def serve(host: str = "127.0.0.1", port: int = 0, *, fd: int | None = None) -> None:
    make_server(host, port, fd=fd).serve_forever()
