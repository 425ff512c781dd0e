"""The child processes of a launcher (the demo).

Each child runs in a process group of its own, so a terminal's Ctrl-C reaches only the
launcher, which then stops every child the same way (SIGTERM, then SIGKILL after a grace
period) whatever signals the child inherited as ignored. On Linux each child also gets
SIGTERM when the launcher dies (``PR_SET_PDEATHSIG``), so none outlives it however it ends.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

PR_SET_PDEATHSIG = 1


def _prepare_child(parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: default signal handling, and on Linux
    SIGTERM when the parent dies."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None

    def prepare() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before the call took effect
                os._exit(1)

    return prepare


class Children:
    """Processes started with ``start``, all stopped by ``stop`` (or on leaving a ``with``)."""

    def __init__(self, grace: float = 5.0) -> None:
        self.grace = grace
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 (our own argv)
            list(argv),
            env=dict(env),
            process_group=0,
            preexec_fn=_prepare_child(os.getpid()),  # noqa: PLW1509 (no threads yet)
        )
        self.processes.append(process)
        return process

    def any_exited(self) -> bool:
        return any(p.poll() is not None for p in self.processes)

    def stop(self) -> None:
        alive = [p for p in self.processes if p.poll() is None]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + self.grace
        for process in alive:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
