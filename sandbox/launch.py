"""Helpers for running the sandbox (and localstripe) as separate local processes: used by
the demo, the test suite and the benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Listener:
    """A socket already listening on a port the kernel chose, for a child process to serve on
    (``--fd``): the port is held from before the child starts, so no other process can take
    it in between, and connections made meanwhile wait in its backlog."""

    sock: socket.socket
    url: str

    @property
    def fd(self) -> int:
        return self.sock.fileno()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self, argv: list[str], **popen: Any) -> subprocess.Popen:
        """Start ``argv`` (which names ``self.fd``) with the socket passed down at the same
        descriptor; this process's copy is closed, so the port closes when the child exits."""
        try:
            return subprocess.Popen(argv, pass_fds=(self.fd,), **popen)
        finally:
            self.sock.close()


def listening_socket(host: str = "127.0.0.1") -> Listener:
    """A ``Listener`` on ``host``, on a port the kernel picks."""
    sock = socket.create_server((host, 0), backlog=128)
    port = sock.getsockname()[1]
    return Listener(sock, f"http://{host}:{port}")


def wait_for(
    url: str, proc: subprocess.Popen, *, log: Path | None = None, timeout: float = 60
) -> None:
    """Wait until ``url`` answers, failing fast (with the log's tail) if ``proc`` exits.

    A socket made before the server starts accepts connections at once: each try waits up to
    10 s for an answer, so requests given up on do not pile up in its backlog for the server
    to work through when it starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited ({proc.returncode}){_tail(log)}")
        try:
            httpx.get(url, timeout=httpx.Timeout(10, connect=2))
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f}s{_tail(log)}")


def _tail(log: Path | None) -> str:
    return "\n" + log.read_text()[-3000:] if log is not None and log.exists() else ""


def control(
    sandbox_url: str, key: str, method: str, path: str, json: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Call a sandbox control endpoint (see README: expire orders, stock, faults, stats)."""
    response = httpx.request(
        method,
        f"{sandbox_url}/sandbox/control/{path}",
        json=json,
        headers={"Authorization": f"Token {key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _listen_on(port: int, fd: int | None) -> list[str]:
    return ["--fd", str(fd)] if fd is not None else ["--port", str(port)]


def stripe_server_command(port: int = 8420, *, fd: int | None = None) -> list[str]:
    """argv for localstripe on 127.0.0.1:``port``, or on an inherited listening socket ``fd``
    (see ``sandbox.stripe_server``)."""
    return [sys.executable, "-m", "sandbox.stripe_server", *_listen_on(port, fd), "--quiet"]


def sandbox_command(port: int = 8100, *, fd: int | None = None) -> list[str]:
    """argv for a freshly seeded sandbox API on its own port or inherited socket (run from
    the project root)."""
    return [sys.executable, "manage.py", "runsandbox", *_listen_on(port, fd), "--seed"]
