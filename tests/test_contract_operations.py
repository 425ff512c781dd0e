"""Event operations as the operations page (001) describes them, the sandbox controls that
steer them, comp tickets (POST /tickets) and the polling client."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from guestmanager import Operation, backoff_schedule, errors
from merchant_tools.eventsync import ProgressLine, render
from sandbox.launch import control

from .conftest import WRITE_KEY

VENUE, GA = 2, 1  # Harbor Hall, General admission
FAST = itertools.repeat(0.05)


def new_event(name: str, **extra) -> dict:
    start = (datetime.now(UTC) + timedelta(days=500)).replace(microsecond=0)
    return {
        "name": name,
        "venue_id": VENUE,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "registration_types": [{"name": "GA", "price": 20, "inventory": 50, "ticket_type_id": GA}],
        **extra,
    }


@pytest.fixture
def plans(sandbox):
    """Add operation plans for this company; forgotten after the test."""
    yield lambda **plan: sandbox.control("POST", "operations", plan)
    sandbox.control("POST", "operations", {"reset": True})


def steer(sandbox, event_id: int, op: int | str = "latest", **body) -> dict:
    return sandbox.control("POST", f"events/{event_id}/operations/{op}", body)


def test_a_held_operation_stays_running_and_the_event_uneditable(gm, sandbox):
    event, op_id = gm.create_event(new_event(f"Held {uuid.uuid4().hex[:6]}"))
    held = steer(sandbox, event["id"], op_id, hold="inventory")
    assert held["held"] is True
    done_tickets = gm.wait_for_operation(event["id"], op_id, until_phase="tickets", delays=FAST)
    assert done_tickets.status == "running"  # not terminal: a loop must keep polling
    with pytest.raises(errors.Uneditable) as exc:
        gm.update_event(event["id"], {"capacity": 10})
    assert exc.value.status == 409 and exc.value.type == "uneditable"
    with pytest.raises(TimeoutError):
        gm.wait_for_operation(event["id"], op_id, timeout=0.5, delays=FAST)
    op = gm.get_operation(event["id"], op_id)
    assert [p["status"] for p in op.phases] == ["completed", "running", "pending"]

    steer(sandbox, event["id"], op_id, release=True)
    done = gm.wait_for_operation(event["id"], op_id, delays=FAST)
    assert done.status == "completed" and done.percent == 100
    updated, _ = gm.update_event(event["id"], {"capacity": 10})
    assert updated["capacity"] == 10


def test_a_failing_phase_names_itself_and_its_code(gm, sandbox):
    event, op_id = gm.create_event(new_event(f"Failing {uuid.uuid4().hex[:6]}"))
    steer(sandbox, event["id"], op_id, fail="inventory", code="INVENTORY_RECONCILE_RAISED")
    done = gm.wait_for_operation(event["id"], op_id, delays=FAST)
    assert done.status == "failed"
    assert done.error["phase"] == "inventory"
    assert done.error["code"] == "INVENTORY_RECONCILE_RAISED"
    assert done.failure[:2] == ("inventory", "INVENTORY_RECONCILE_RAISED")
    # Phases after the failure were planned and never started.
    assert [p["status"] for p in done.phases] == ["completed", "failed", "pending"]
    assert done.phase("inventory")["error"]["code"] == "INVENTORY_RECONCILE_RAISED"
    # A failed operation no longer blocks edits.
    assert gm.update_event(event["id"], {"capacity": 5})[0]["capacity"] == 5


def test_plans_shape_later_operations_of_matching_events_only(gm, sandbox, plans):
    tag = uuid.uuid4().hex[:6]
    plans(event_name=f"Doomed {tag}", fail="tickets", code="TICKETS_BUILD_RAISED")
    listed = sandbox.control("GET", "operations")["plans"]
    assert {"event_name": f"Doomed {tag}", "fail": "tickets"}.items() <= listed[-1].items()
    doomed, doomed_op = gm.create_event(new_event(f"Doomed {tag}"))
    fine, fine_op = gm.create_event(new_event(f"Fine {tag}"))
    failed = gm.wait_for_operation(doomed["id"], doomed_op, until_phase="tickets", delays=FAST)
    assert failed.status == "failed"
    assert failed.error == {
        "phase": "tickets",
        "code": "TICKETS_BUILD_RAISED",
        "message": "The tickets phase raised.",
    }
    assert gm.wait_for_operation(fine["id"], fine_op, delays=FAST).status == "completed"
    with pytest.raises(Exception, match="400"):
        sandbox.control("POST", "operations", {"fail": "shopify"})


def test_operation_controls_are_scoped_to_the_callers_company(gm, sandbox):
    event, op_id = gm.create_event(new_event(f"Ours {uuid.uuid4().hex[:6]}"))
    foreign_key = "sandbox_company2_write_key"
    with pytest.raises(Exception, match="404"):
        control(sandbox.url, foreign_key, "POST", f"events/{event['id']}/operations/{op_id}", {})
    assert (
        control(sandbox.url, WRITE_KEY, "GET", f"events/{event['id']}/operations/latest")["data"][
            "id"
        ]
        == op_id
    )


def test_progress_is_null_until_there_is_something_to_report(gm):
    event, op_id = gm.create_event(new_event(f"Fresh {uuid.uuid4().hex[:6]}"))
    first = gm.get_operation(event["id"], op_id)
    assert first.status in {"pending", "running"}
    if first.status == "pending":
        assert first.raw["progress"] is None
        assert all(p["progress"] is None for p in first.phases)
    assert "sync_jobs" not in str(first.raw) and "operation" not in first.raw
    assert first.action == "save"


def test_comp_tickets_wait_for_the_tickets_phase(gm, sandbox):
    event, op_id = gm.create_event(new_event(f"Comps {uuid.uuid4().hex[:6]}"))
    steer(sandbox, event["id"], op_id, hold="tickets")
    comp = {"event_id": event["id"], "ticket_type_id": GA, "name": "Jane Doe"}
    with pytest.raises(errors.ValidationError) as exc:
        gm.create_ticket(comp)
    assert exc.value.errors.for_attribute("event_ticket_type_id")
    steer(sandbox, event["id"], op_id, release=True)
    gm.wait_for_operation(event["id"], op_id, until_phase="tickets", delays=FAST)
    ticket = gm.create_ticket({**comp, "email": "jane@example.com", "dispatch": True})
    assert ticket["status"] == "valid" and ticket["source_type"] is None
    assert ticket["dispatched_at"] is None  # the email goes after the answer
    assert gm.get_ticket(ticket["id"])["dispatched_at"]
    with pytest.raises(errors.ValidationError):
        gm.create_ticket({"event_id": event["id"], "ticket_type_id": 999999})
    with pytest.raises(errors.UnpermittedParameters):
        gm.create_ticket({**comp, "seat": "A1"})


def test_backoff_schedule_and_injected_waits(gm):
    assert list(itertools.islice(backoff_schedule(), 7)) == [1, 2, 4, 8, 15, 15, 15]
    event, op_id = gm.create_event(new_event(f"Polled {uuid.uuid4().hex[:6]}"))
    waits: list[float] = []
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(0.05)  # the sandbox's phases advance in real time, in its own process

    done = gm.wait_for_operation(
        event["id"],
        op_id,
        delays=itertools.repeat(0.01),
        sleep=sleep,
        on_poll=lambda op: seen.append(op.status),
    )
    assert done.status == "completed" and seen[-1] == "completed"
    assert "running" in seen and set(waits) == {0.01}


def test_progress_line_shows_the_phase_when_progress_is_null():
    phases = [
        {"name": "tickets", "status": "running", "progress": None, "error": None},
        {"name": "inventory", "status": "pending", "progress": None, "error": None},
    ]
    line = render(Operation({"id": 1, "status": "running", "progress": None, "phases": phases}, 1))
    assert "tickets running" in line and "%" not in line
    halfway = [
        {"name": "tickets", "status": "completed", "progress": None, "error": None},
        {
            "name": "inventory",
            "status": "failed",
            "progress": {"percent": 50},
            "error": {"code": "INVENTORY_RECONCILE_RAISED"},
        },
    ]
    raw = {"id": 1, "status": "failed", "progress": {"percent": 75}, "phases": halfway}
    line = render(Operation(raw, 1))
    assert "[###############.....]  75%" in line
    assert "inventory FAILED (INVENTORY_RECONCILE_RAISED)" in line
    pending = render(Operation({"id": 1, "status": "pending", "progress": None}, 1))
    assert "pending" in pending


def test_progress_redraws_one_line_on_a_terminal_and_prints_changes_elsewhere():
    phase = {"name": "tickets", "status": "running", "progress": {"percent": 40}, "error": None}
    ops = [
        Operation({"id": 1, "status": "pending", "progress": None, "phases": []}, 1),
        Operation({"id": 1, "status": "running", "progress": {"percent": 4}, "phases": [phase]}, 1),
    ]
    for tty in (True, False):
        written: list[str] = []
        line = ProgressLine(written.append, tty=tty)
        for op in [ops[0], ops[0], ops[1]]:
            line.show(op)
        line.close()
        if tty:
            assert [w[0] for w in written] == ["\r", "\r", "\n"]
        else:
            assert len(written) == 2 and all(w.endswith("\n") for w in written)
