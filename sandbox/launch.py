"""Helpers for running the sandbox (and localstripe) as separate local processes: used by
the demo, the test suite and the benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    url: str, proc: subprocess.Popen, *, log: Path | None = None, timeout: float = 60
) -> None:
    """Wait until ``url`` answers, failing fast (with the log's tail) if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"the process serving {url} exited ({proc.returncode})\n{tail}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f}s")


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


def stripe_server_command(port: int) -> list[str]:
    """argv for localstripe on 127.0.0.1 (see ``sandbox.stripe_server``)."""
    return [sys.executable, "-m", "sandbox.stripe_server", "--port", str(port), "--quiet"]


def sandbox_command(port: int) -> list[str]:
    """argv for a freshly seeded sandbox API on its own port (run from the project root)."""
    return [sys.executable, "manage.py", "runsandbox", "--port", str(port), "--seed"]
