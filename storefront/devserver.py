"""Django's threaded WSGI server, as the demo and the sandbox process use it.

Its handler writes a response's headers and body separately; with Nagle's algorithm on, the
body then waits for the client's delayed ACK (about 40 ms on Linux) on every keep-alive
request. Answers go out at once here."""

from __future__ import annotations

import socket

from django.core.servers.basehttp import WSGIServer, run
from django.core.wsgi import get_wsgi_application


class LocalServer(WSGIServer):
    request_queue_size = 128

    def get_request(self):
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


def serve(host: str, port: int) -> None:
    run(host, port, get_wsgi_application(), threading=True, server_cls=LocalServer)
