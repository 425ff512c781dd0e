"""The launcher's child processes (devtools.processes): stopped together whatever signals
they ignore, and never outliving the launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import Children

from .conftest import ROOT
from .helpers import eventually

# Children that idle until they are stopped (600 s: longer than any test waits for them).
IGNORES_INTERRUPTS = (
    "import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_until_gone(pid: int) -> None:
    eventually(lambda: not alive(pid), f"process {pid} exited")


def test_children_are_stopped_even_when_they_ignore_interrupts():
    children = Children(grace=5)
    child = children.start([sys.executable, "-c", IGNORES_INTERRUPTS], os.environ)
    assert os.getpgid(child.pid) == child.pid  # a process group of its own
    children.stop()
    assert child.poll() is not None and not alive(child.pid)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_children_die_with_their_launcher(tmp_path):
    launcher = tmp_path / "launcher.py"
    launcher.write_text(
        "import os, sys, time\n"
        "from devtools.processes import Children\n"
        f"child = Children().start([sys.executable, '-c', {IGNORES_INTERRUPTS!r}], os.environ)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(launcher)], stdout=subprocess.PIPE, env=env, text=True
    )
    child_pid = int(proc.stdout.readline())
    assert alive(child_pid)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    wait_until_gone(child_pid)
