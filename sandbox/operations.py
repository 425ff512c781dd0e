"""Event operations: the asynchronous work after an event is saved, as the operations page
(001) describes it — phases that run one after another, ``pending`` → ``running`` →
``completed`` or ``failed`` with the phase and a code.

An operation's state is derived from the time since it started. Tests steer it through the
control endpoints: a *plan* (per company) shapes the operations started after it — a phase
that fails, with which code, a phase to stop in — and a started operation can be held in a
phase (it stays ``running``), released, or made to fail. Like the injected faults, this
steering lives in the process, not the database."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import models as m

PHASES = ["tickets", "inventory", "publish"]
RECURRING_PHASES = ["recurrences", *PHASES]
# Share of a phase's length an operation stays pending before its first phase starts.
PENDING_SHARE = 0.3
# How far into a phase a held operation stops, and a failing phase fails: holding a phase
# that is set to fail keeps it running until it is released.
HOLD_AT = 0.4
FAIL_AT = 0.5


class Refused(ValueError):
    """The operation cannot be steered that way (unknown phase, already past it)."""


@dataclass(frozen=True)
class Plan:
    event_name: str = ""  # part of the event's name (any case); "" = every event
    fail: str = ""  # the phase that fails
    code: str = ""  # its error code; default <PHASE>_RECONCILE_RAISED
    hold: str = ""  # the phase the operation stops in until released


@dataclass
class Control:
    code: str = ""
    hold_at: float | None = None  # elapsed seconds it stops at, while held
    shift: float = 0.0  # seconds spent held: they do not count as progress


_lock = threading.Lock()
_plans: dict[int, list[Plan]] = {}
_controls: dict[int, Control] = {}


def phase_seconds() -> float:
    return settings.SANDBOX["OPERATION_PHASE_SECONDS"]


def phases_for(event: m.Event) -> list[str]:
    return RECURRING_PHASES if event.type == "recurring" else PHASES


def default_code(phase: str) -> str:
    return f"{phase.upper()}_RECONCILE_RAISED"


# --- starting -----------------------------------------------------------------------------


def start(event: m.Event, action: str = "save") -> m.Operation:
    """A new operation for ``event``, shaped by its company's plans and by the sandbox's name
    convention: ``[fail:inventory]`` in the name fails that phase."""
    plan = _plan_for(event)
    fail = plan.fail
    marker = "[fail:"
    if marker in event.name:
        fail = event.name.split(marker, 1)[1].split("]", 1)[0].strip()
    op = m.Operation.objects.create(
        event=event, action=action, phases=phases_for(event), fail_phase=fail
    )
    if plan.code or plan.hold in op.phases:
        hold_at = _hold_point(op, plan.hold) if plan.hold in op.phases else None
        with _lock:
            _controls[op.id] = Control(code=plan.code, hold_at=hold_at)
    return op


def _plan_for(event: m.Event) -> Plan:
    """The company's matching plans merged, the newest winning."""
    merged: dict[str, str] = {}
    with _lock:
        plans = list(_plans.get(event.company_id, []))
    for plan in plans:
        if plan.event_name.lower() in event.name.lower():
            merged.update({k: v for k, v in asdict(plan).items() if v})
    merged.pop("event_name", None)
    return Plan(**merged)


def add_plan(company: m.Company, plan: Plan) -> None:
    for phase in (plan.fail, plan.hold):
        if phase and phase not in RECURRING_PHASES:
            raise Refused(f"Unknown phase {phase!r}: use one of {', '.join(RECURRING_PHASES)}.")
    with _lock:
        _plans.setdefault(company.id, []).append(plan)


def plans(company: m.Company) -> list[dict[str, str]]:
    with _lock:
        return [asdict(p) for p in _plans.get(company.id, [])]


def reset_plans(company: m.Company) -> None:
    with _lock:
        _plans.pop(company.id, None)


# --- the timeline -------------------------------------------------------------------------


def elapsed(op: m.Operation) -> float:
    """Seconds of progress the operation has made: time since it started, less time held,
    stopping at its hold point while held."""
    raw = (timezone.now() - op.created_at).total_seconds()
    with _lock:
        control = _controls.get(op.id)
        if control is None:
            return raw
        progress = raw - control.shift
        if control.hold_at is not None:
            progress = min(progress, control.hold_at)
        return progress


def error_code(op: m.Operation, phase: str) -> str:
    with _lock:
        control = _controls.get(op.id)
    return (control.code if control else "") or default_code(phase)


def state(op: m.Operation) -> dict[str, Any]:
    """The operation's status, progress units and phase nodes right now."""
    seconds = phase_seconds()
    t = elapsed(op) - seconds * PENDING_SHARE
    nodes = [{"name": n, "status": "pending", "units": 0, "error": None} for n in op.phases]
    if t < 0:
        return {"status": "pending", "nodes": nodes, "failed": None}
    for i, node in enumerate(nodes):
        fraction = (t - i * seconds) / seconds
        if fraction < 0:
            break
        if node["name"] == op.fail_phase and fraction >= FAIL_AT:
            node.update(status="failed", units=FAIL_AT)
            code = error_code(op, node["name"])
            node["error"] = {"code": code, "message": f"The {node['name']} phase raised."}
            return {"status": "failed", "nodes": nodes, "failed": node}
        node.update(status="completed" if fraction >= 1 else "running", units=min(1.0, fraction))
    done = all(node["status"] == "completed" for node in nodes)
    return {"status": "completed" if done else "running", "nodes": nodes, "failed": None}


def is_running(op: m.Operation) -> bool:
    return state(op)["status"] not in ("completed", "failed")


def phase_done(op: m.Operation, phase: str) -> bool:
    node = next((n for n in state(op)["nodes"] if n["name"] == phase), None)
    return node is None or node["status"] == "completed"


# --- steering a started operation --------------------------------------------------------


def _hold_point(op: m.Operation, phase: str) -> float:
    seconds = phase_seconds()
    return seconds * PENDING_SHARE + (op.phases.index(phase) + HOLD_AT) * seconds


def _phase_end(op: m.Operation, index: int) -> float:
    seconds = phase_seconds()
    return seconds * PENDING_SHARE + (index + 1) * seconds


def hold(op: m.Operation, phase: str = "") -> None:
    """Stop the operation in ``phase`` (default: the one it is in), still running."""
    if not is_running(op):
        raise Refused("The operation has finished.")
    now = elapsed(op)
    if not phase:
        index = max(0, int((now - phase_seconds() * PENDING_SHARE) // phase_seconds()))
        phase = op.phases[min(index, len(op.phases) - 1)]
    if phase not in op.phases:
        raise Refused(f"This operation has no phase {phase!r}: {', '.join(op.phases)}.")
    if now >= _phase_end(op, op.phases.index(phase)):
        raise Refused(f"The operation is past its {phase} phase.")
    with _lock:
        control = _controls.setdefault(op.id, Control())
        control.hold_at = max(now, _hold_point(op, phase))


def release(op: m.Operation) -> None:
    """Let a held operation go on from where it stopped."""
    now = elapsed(op)
    raw = (timezone.now() - op.created_at).total_seconds()
    with _lock:
        control = _controls.get(op.id)
        if control is None or control.hold_at is None:
            return
        control.shift = raw - now
        control.hold_at = None


def fail(op: m.Operation, phase: str, code: str = "") -> None:
    """Make ``phase`` fail (with ``code``) when the operation gets half-way through it."""
    if phase not in op.phases:
        raise Refused(f"This operation has no phase {phase!r}: {', '.join(op.phases)}.")
    if phase_done(op, phase) or not is_running(op):
        raise Refused(f"The operation is past its {phase} phase.")
    op.fail_phase = phase
    op.save(update_fields=["fail_phase"])
    with _lock:
        _controls.setdefault(op.id, Control()).code = code


def is_held(op: m.Operation) -> bool:
    with _lock:
        control = _controls.get(op.id)
        return bool(control and control.hold_at is not None)
