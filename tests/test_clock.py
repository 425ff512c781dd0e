"""The pinned clock (tests/clock.py) reaches every process: a child, its own children and
what it execs move by the same offset and keep ticking, their monotonic clocks do not move,
and the sandbox and localstripe this run started agree with this process on "now"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime

import httpx
import time_machine
from django.conf import settings

from . import clock
from .conftest import PUBLISHABLE_KEY, ROOT

# A process's wall clock from every side, against its monotonic clock (one for the machine).
REPORT = (
    "import datetime, json, os, time\n"
    "wall, mono = time.time(), time.monotonic()\n"
    "now = datetime.datetime.now(datetime.UTC).timestamp()\n"
    "print(json.dumps({'pid': os.getpid(), 'wall': wall, 'now': now, 'mono': mono}), flush=True)\n"
)
# Reports, starts a child that reports, then becomes another process that reports (an exec,
# as `make serve` becomes granian).
FAMILY = (
    REPORT + "import subprocess, sys\n"
    "subprocess.run([sys.executable, '-c', sys.argv[1]], check=True)\n"
    "os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])\n"
)


def real_time() -> float:
    hatch = time_machine.escape_hatch
    return hatch.time.time() if hatch.is_travelling() else time.time()


def test_children_grandchildren_and_execs_move_by_the_offset():
    offset = 400 * 86400 + 1234.5
    before = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", FAMILY, REPORT],
        cwd=ROOT,
        env=clock.shifted_env(offset),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    after = time.monotonic()
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    child, grandchild, execed = (r["pid"] for r in reports)
    assert execed == child != grandchild, result.stdout + result.stderr
    real_minus_mono = real_time() - time.monotonic()
    for report in reports:
        assert before <= report["mono"] <= after
        for seen in (report["wall"], report["now"]):
            assert abs(seen - report["mono"] - real_minus_mono - offset) < 2, report


def test_without_a_shift_children_keep_the_real_clock():
    env = clock.shifted_env(0.0)
    env.pop(clock.SHIFT_VAR)
    result = subprocess.run(
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert abs(report["wall"] - report["mono"] - (real_time() - time.monotonic())) < 2


def test_the_sandbox_and_localstripe_keep_this_process_time(sandbox, gm):
    pin = clock.pinned()
    if pin is not None:
        # Pinned and ticking: the real clock moved by the offset (both read the machine's
        # wall clock, so a step of that clock during the run moves both alike).
        assert abs(time.time() - real_time() - pin.offset) < 2
        assert time.time() - pin.at.timestamp() > 0

    before = time.time()
    order = gm.create_order(currency="USD")
    stamp = httpx.post(
        f"{sandbox.stripe_url}/v1/tokens",
        data={
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        },
        timeout=10,
    ).json()["created"]
    after = time.time()

    expires = datetime.fromisoformat(order["expires_at"].replace("Z", "+00:00"))
    sandbox_now = expires.timestamp() - settings.SANDBOX["ORDER_TTL"]
    assert before - 2 <= sandbox_now <= after + 2, (order["expires_at"], before, after)
    assert before - 2 <= stamp <= after + 2, (stamp, before, after)
