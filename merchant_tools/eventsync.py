"""Sends an event import to the API and follows the work it starts.

Each event of the file is found again, then created (``POST /events``) or changed
(``PATCH /events/{id}``, only what differs); the operation named by ``X-Event-Operation-ID``
is polled with a progress bar until its ``tickets`` phase is done — enough to issue
tickets — or, with ``wait_all``, until it ends. Then comp tickets are issued
(``POST /tickets``) for the events whose tickets are ready.

Of Django only the translation of its messages: the ``import_events`` command passes in the
client and the output.

Finding an event again: the API stores nothing an importer could set as a reference — the
event parameters (002) are type, name, venue, times, capacity, publishing, settings,
sessions, registration types, passes and recurrences — but it can list events by exact
name (``filter[name]``) and by start (``filter[starts_at]``). So a top-level event with the
row's name and start *is* that row's event; the ``external_id`` column groups a file's rows
and names events in reports and in the comps file.

Knowing what an earlier run left: the API cannot list an event's operations, so each
operation the import starts or follows is noted in a ``Journal`` (the command's is the
database). A re-run that finds the event again looks up its last operation: one still
running is followed, one that failed is reported with its phase and the event sent again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.utils.translation import gettext

from guestmanager import GuestManagerClient, Operation, backoff_schedule, errors

from .eventimport import (
    VERBATIM_COLUMNS,
    CompSpec,
    EventSpec,
    Payload,
    Problem,
    column_for,
    create_payload,
    localize,
    needs_zone,
    past,
    to_utc_range,
    update_payload,
    venue_zone,
)

BAR_WIDTH = 20
# Without a terminal, a wait says it is still alive at least this often (seconds): a log or a
# CI job would otherwise show nothing while an operation sits in one phase.
HEARTBEAT = 10.0
TICKETS_PHASE = "tickets"
Children = dict[int, list[dict[str, Any]]]  # an event's sessions or dates, by its id


def schedule(delays: Iterable[float] | None = None) -> Callable[[], Iterator[float]]:
    """Fresh waits for each poll loop: the given ones, the last repeated; by default the
    polling guidance, 1 → 2 → 4 → 8 s, then 15 s."""
    steps = list(delays or [])
    if not steps:
        return lambda: backoff_schedule(1.0, 15.0)
    return lambda: itertools.chain(steps, itertools.repeat(steps[-1]))


# --- output -------------------------------------------------------------------------------


def render(op: Operation) -> str:
    """One line: a bar and the percentage when the operation reports progress, else the
    phase it is in (``progress`` is null until there is something to report), then every
    phase with its status."""
    percent = op.percent
    if percent is None:
        head = f"[{_where(op):^{BAR_WIDTH}}]     "
    else:
        filled = max(0, min(BAR_WIDTH, round(percent * BAR_WIDTH / 100)))
        head = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}%"
    phases = ", ".join(_phase_text(p) for p in op.phases)
    return f"  {head}  {phases}" if phases else f"  {head}  {op.status}"


def _where(op: Operation) -> str:
    if op.status == "pending":
        return "pending"
    phase = op.current_phase
    return f"{phase.get('name')} {phase.get('status')}" if phase else op.status


def _rest(op: Operation) -> str:
    return ", ".join(str(p.get("name")) for p in op.phases if p.get("status") != "completed")


def _phase_text(phase: dict[str, Any]) -> str:
    name, status = phase.get("name", "?"), phase.get("status", "?")
    progress = phase.get("progress")
    if status == "running" and isinstance(progress, dict) and progress.get("percent") is not None:
        return f"{name} running {progress['percent']}%"
    if status == "failed":
        code = (phase.get("error") or {}).get("code")
        return f"{name} FAILED" + (f" ({code})" if code else "")
    return f"{name} {status}"


class ProgressLine:
    """Redraws one line on a terminal; elsewhere writes a line each time it changes, and the
    same line with the seconds waited when HEARTBEAT seconds pass without one."""

    def __init__(
        self,
        write: Callable[[str], None],
        tty: bool,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.write, self.tty = write, tty
        self.clock, self._sleep = clock, sleep
        self.last = ""
        self.started = self.spoke = clock()

    def show(self, op: Operation) -> None:
        text = render(op)
        if text == self.last:
            self._heartbeat()
            return
        if self.tty:
            self.write("\r" + text.ljust(len(self.last)))
        else:
            self.write(text + "\n")
        self.last, self.spoke = text, self.clock()

    def sleep(self, seconds: float) -> None:
        """Sleep, waking when a heartbeat is due: polls may be further apart than that."""
        if self.tty:
            self._sleep(seconds)
            return
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            self._sleep(max(0.0, min(left, self.spoke + HEARTBEAT - self.clock())))
            self._heartbeat()

    def _heartbeat(self) -> None:
        now = self.clock()
        if self.tty or now - self.spoke < HEARTBEAT:
            return
        text = self.last or "  " + gettext("waiting for the operation")
        waited = gettext("(still waiting, %(seconds)s s)") % {
            "seconds": f"{now - self.started:.0f}"
        }
        self.write(f"{text}  {waited}\n")
        self.spoke = now

    def close(self) -> None:
        if self.tty and self.last:
            self.write("\n")
        self.last = ""


# --- what earlier runs left ---------------------------------------------------------------

RUNNING, TICKETS_READY, INTERRUPTED = "running", "tickets_ready", "interrupted"
FAILED, COMPLETED = "failed", "completed"


@dataclass(frozen=True)
class Entry:
    """An event's last operation as the import last saw it."""

    operation_id: int
    state: str  # one of RUNNING, TICKETS_READY, INTERRUPTED, FAILED, COMPLETED
    phase: str = ""
    code: str = ""


class Journal(Protocol):
    def last(self, event_id: int) -> Entry | None: ...

    def note(self, event_id: int, external_id: str, entry: Entry) -> None: ...


class MemoryJournal:
    """A journal that lasts as long as the importer: nothing is known of earlier runs."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}

    def last(self, event_id: int) -> Entry | None:
        return self.entries.get(event_id)

    def note(self, event_id: int, external_id: str, entry: Entry) -> None:
        self.entries[event_id] = entry


def entry_for(op: Operation) -> Entry:
    if op.status == "failed":
        phase, code, _ = op.failure
        return Entry(op.id, FAILED, phase, code)
    if op.status == "completed":
        return Entry(op.id, COMPLETED)
    return Entry(op.id, TICKETS_READY if op.phase_completed(TICKETS_PHASE) else RUNNING)


# --- results ------------------------------------------------------------------------------


@dataclass
class Outcome:
    spec: EventSpec
    action: str = ""  # created, updated, retried, unchanged, failed
    event_id: int | None = None
    event_type: str = ""
    tickets_ready: bool = False
    failure: str = ""
    payload: Payload | None = None  # what was sent, to place the API's errors on lines
    retrying: bool = False  # the event's last operation failed: it is sent again
    running: int | None = None  # the operation left running when this run stopped following


def sent_line(action: str) -> str:
    """How the report of an interrupted run names an event sent before the stop."""
    if action == "created":
        return gettext("created: event %(event)s (%(key)s, %(lines)s)")
    if action == "retried":
        return gettext("retried: event %(event)s (%(key)s, %(lines)s)")
    return gettext("updated: event %(event)s (%(key)s, %(lines)s)")


def _saved_line(action: str, with_operation: bool) -> str:
    if action == "created" and with_operation:
        return gettext(
            "%(lines)s  %(key)s: created event %(event)s %(name)s%(changes)s, "
            "operation %(operation)s"
        )
    if action == "created":
        return gettext("%(lines)s  %(key)s: created event %(event)s %(name)s%(changes)s")
    if action == "retried" and with_operation:
        return gettext(
            "%(lines)s  %(key)s: retried event %(event)s %(name)s%(changes)s, "
            "operation %(operation)s"
        )
    if action == "retried":
        return gettext("%(lines)s  %(key)s: retried event %(event)s %(name)s%(changes)s")
    if with_operation:
        return gettext(
            "%(lines)s  %(key)s: updated event %(event)s %(name)s%(changes)s, "
            "operation %(operation)s"
        )
    return gettext("%(lines)s  %(key)s: updated event %(event)s %(name)s%(changes)s")


@dataclass
class Report:
    events: list[Outcome] = field(default_factory=list)
    comps_issued: int = 0
    comps_kept: int = 0
    comps_failed: int = 0
    interrupted: bool = False
    not_sent: list[EventSpec] = field(default_factory=list)
    comps_not_sent: list[CompSpec] = field(default_factory=list)

    @property
    def sent(self) -> list[Outcome]:
        return [o for o in self.events if o.action in ("created", "updated", "retried")]

    @property
    def still_running(self) -> list[Outcome]:
        return [o for o in self.events if o.running is not None]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.events if o.action == "failed"]

    def count(self, action: str) -> int:
        return sum(1 for o in self.events if o.action == action)


# --- events -------------------------------------------------------------------------------


class Importer:
    def __init__(
        self,
        client: GuestManagerClient,
        write: Callable[[str], None],
        *,
        tty: bool = False,
        wait_all: bool = False,
        timeout: float = 600.0,
        delays: Callable[[], Iterator[float]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        journal: Journal | None = None,
    ) -> None:
        self.client = client
        self.journal = journal or MemoryJournal()
        self.write = write
        self.tty = tty
        self.wait_all = wait_all
        self.timeout = timeout
        self.delays = delays or schedule()
        self.sleep = sleep
        self.now = now
        self.monotonic = monotonic
        self.report = Report()
        self.zones: dict[int, ZoneInfo | str] = {}  # by venue id: its zone, or why there is none

    def say(self, text: str) -> None:
        self.write(text + "\n")

    def import_events(self, specs: list[EventSpec]) -> Report:
        """Each event in turn. Ctrl-C stops the run between two calls: the report says what
        was sent, what is still running and which rows were not sent."""
        for index, spec in enumerate(specs):
            outcome = Outcome(spec)
            self.report.events.append(outcome)
            try:
                self._localize(spec)
                past(spec, self.now())
                self._import(outcome)
            except KeyboardInterrupt:
                self._interrupted(outcome, specs[index + 1 :])
                break
        return self.report

    def _interrupted(self, outcome: Outcome, rest: list[EventSpec]) -> None:
        self.report.interrupted = True
        if not outcome.action:  # stopped before the API answered: maybe not sent
            self.report.events.remove(outcome)
            self.report.not_sent.append(outcome.spec)
        self.report.not_sent.extend(rest)

    def _import(self, outcome: Outcome) -> None:
        spec = outcome.spec
        for warning in spec.warnings:
            self.say(
                gettext("line %(line)s: warning: %(message)s")
                % {"line": warning.line, "message": warning.message}
            )
        if spec.problems:
            self._refuse(outcome, spec.problems)
            return
        try:
            self._save(outcome)
        except errors.ValidationError as exc:
            self._refuse(outcome, _api_problems(exc, outcome.payload))
        except (errors.GuestManagerError, TimeoutError) as exc:
            self._fail(outcome, f"{spec.line_span}: {_describe(exc)}")

    def _localize(self, spec: EventSpec) -> None:
        """Read the times the file gives without an offset in the event's time zone: its
        time_zone column's, else its venue's, asked of the API once per venue and run, and
        only when needed."""
        zone = spec.time_zone or (self._venue_zone(spec) if needs_zone(spec) else None)
        if zone is not None:
            localize(spec, zone)

    def _venue_zone(self, spec: EventSpec) -> ZoneInfo | None:
        if spec.problems:
            return None  # not sent anyway: spend no call
        line = spec.line_of("venue_id")
        if spec.venue_id is None:
            why = gettext(
                "venue_id is empty: its time zone reads the times given without an offset."
            )
            spec.problems.append(Problem(line, why))
            return None
        if spec.venue_id not in self.zones:
            try:
                self.zones[spec.venue_id] = self._zone_of(spec.venue_id)
            except errors.GuestManagerError as exc:  # not kept: the next event asks again
                why = gettext("the time zone of venue %(venue)s could not be read: %(error)s") % {
                    "venue": spec.venue_id,
                    "error": _describe(exc),
                }
                spec.problems.append(Problem(line, why))
                return None
        found = self.zones[spec.venue_id]
        if isinstance(found, str):
            spec.problems.append(Problem(line, found))
            return None
        return found

    def _zone_of(self, venue_id: int) -> ZoneInfo | str:
        try:
            venue = self.client.get_venue(venue_id)
        except errors.NotFound:
            return gettext(
                "venue_id %(venue)s is not a venue of this account (its time zone would read "
                "the times given without an offset)."
            ) % {"venue": venue_id}
        return venue_zone(venue) or gettext(
            "venue %(venue)s's time zone %(zone)s is unknown here: give the times with an "
            "offset, or a time_zone column."
        ) % {"venue": venue_id, "zone": repr(venue.get("time_zone"))}

    def _refuse(self, outcome: Outcome, problems: list[Problem]) -> None:
        spec = outcome.spec
        if spec.name:
            message = gettext("%(key)s (%(name)s) not imported:")
        elif spec.key:
            message = gettext("%(key)s not imported:")
        else:
            message = gettext("(no external_id) not imported:")
        self._fail(outcome, message % {"key": spec.key, "name": spec.name})
        for problem in sorted(problems, key=lambda p: p.line):
            self.say("  " + _on_line(problem))

    def _fail(self, outcome: Outcome, message: str) -> None:
        outcome.action = "failed"
        outcome.failure = outcome.failure or message
        self.say(message)

    def _save(self, outcome: Outcome) -> None:
        spec = outcome.spec
        found = self._find(spec)
        if found is not None:
            outcome.retrying = self._settle_earlier(outcome, found["id"])
        sent = self._create(outcome) if found is None else self._change(outcome, found)
        if sent is None:
            return
        event, op_id = sent
        outcome.event_id, outcome.event_type = event["id"], event.get("type", spec.type)
        self.say(
            _saved_line(outcome.action, bool(op_id))
            % {
                "lines": spec.line_span,
                "key": spec.key,
                "event": event["id"],
                "name": repr(event.get("name")),
                "changes": _changed(outcome),
                "operation": op_id,
            }
        )
        self._follow(outcome, event["id"], op_id)

    def _create(self, outcome: Outcome) -> tuple[dict[str, Any], int | None]:
        outcome.payload = create_payload(outcome.spec, self.now())
        sent = self.client.create_event(outcome.payload.event)
        outcome.action = "created"
        return sent

    def _change(
        self, outcome: Outcome, found: dict[str, Any]
    ) -> tuple[dict[str, Any], int | None] | None:
        """PATCH what differs; None when nothing does (or the event can't become the row)."""
        spec = outcome.spec
        if found.get("type") != spec.type:
            problem = Problem(
                spec.first_line,
                gettext(
                    "Event %(event)s with this name and start is a %(found)s event, not "
                    "%(type)s; the type of an event can't change."
                )
                % {"event": found["id"], "found": found.get("type"), "type": spec.type},
            )
            self._refuse(outcome, [problem])
            return None
        outcome.payload = self._changes(spec, found)
        for note in outcome.payload.notes:
            self.say(_on_line(note))
        if not outcome.payload.event and outcome.retrying:
            # Any update starts the event's save operation again (001); the name as it is
            # changes nothing else.
            outcome.payload.event = {"name": spec.name}
            outcome.action = "retried"
            return self._update(found["id"], outcome.payload)
        if not outcome.payload.event:
            outcome.action, outcome.event_id = "unchanged", found["id"]
            outcome.event_type, outcome.tickets_ready = spec.type, True
            if outcome.payload.notes:
                message = gettext(
                    "%(lines)s  %(key)s: event %(event)s is up to date but for the inventory "
                    "noted above"
                )
            else:
                message = gettext("%(lines)s  %(key)s: event %(event)s is up to date")
            self.say(message % {"lines": spec.line_span, "key": spec.key, "event": found["id"]})
            return None
        sent = self._update(found["id"], outcome.payload)
        outcome.action = "updated"
        return sent

    def _settle_earlier(self, outcome: Outcome, event_id: int) -> bool:
        """Reports the last operation an earlier run started on this event, following it
        while it still runs. True when it failed, so the event must be sent again."""
        outcome.event_id = event_id
        entry = self.journal.last(event_id)
        if entry is None or entry.state == COMPLETED:
            return False
        try:
            op = self.client.get_operation(event_id, entry.operation_id)
        except errors.NotFound:
            return False
        spec = outcome.spec
        if entry.state == INTERRUPTED:
            head = gettext(
                "%(lines)s  %(key)s: event %(event)s's operation %(operation)s (from an "
                "interrupted run)"
            )
        else:
            head = gettext(
                "%(lines)s  %(key)s: event %(event)s's operation %(operation)s (from an "
                "earlier run)"
            )
        head %= {"lines": spec.line_span, "key": spec.key, "event": event_id, "operation": op.id}
        if not op.is_terminal and not self._enough(op):
            self.say(
                gettext("%(head)s is still running (%(where)s); following it")
                % {"head": head, "where": _where(op)}
            )
            op = self._wait(outcome, event_id, op.id)
        else:
            self.journal.note(event_id, spec.key, entry_for(op))
        if op.status == "failed":
            phase, code, _ = op.failure
            self.say(
                gettext("%(head)s FAILED in phase %(phase)s: %(code)s; sending the event again")
                % {"head": head, "phase": phase or "?", "code": code or gettext("no error code")}
            )
            return True
        if op.status == "completed" and entry.state != TICKETS_READY:
            self.say(gettext("%(head)s has completed") % {"head": head})
        elif op.status != "completed":
            self.say(
                gettext("%(head)s is still running: %(phases)s")
                % {"head": head, "phases": _rest(op)}
            )
        return False

    def _enough(self, op: Operation) -> bool:
        """Whether this run would stop waiting for the operation now."""
        return not self.wait_all and op.phase_completed(TICKETS_PHASE)

    def _find(self, spec: EventSpec) -> dict[str, Any] | None:
        """The top-level event with the row's exact name and start, if there is one."""
        if not (spec.name and spec.starts_at):
            return None
        start, end = to_utc_range(spec.starts_at)
        page = self.client.list_events(
            filters={"name": spec.name, "starts_at": {"from": start, "to": end}}, page_size=50
        )
        for event in page:
            moment = (event.get("start") or {}).get("utc")
            if event.get("parent_event_id") or not moment:
                continue  # a session or generated date, which shares its parent's name
            if datetime.fromisoformat(moment.replace("Z", "+00:00")) == spec.starts_at:
                return event
        return None

    def _changes(self, spec: EventSpec, found: dict[str, Any]) -> Payload:
        types = "registration_types.ticket_type,registration_types.stock_item"
        current = self.client.get_event(found["id"], include=f"{types},recurrences")
        sessions: list[dict[str, Any]] = []
        if spec.type == "parent":
            sessions = self._children(found["id"], types)
        return update_payload(spec, current, sessions, self.now())

    def _children(self, event_id: int, include: str | None = None) -> list[dict[str, Any]]:
        pages = self.client.iter_events(
            filters={"parent_event_id": event_id}, include=include, page_size=200
        )
        return [event for page in pages for event in page]

    def _update(self, event_id: int, payload: Payload) -> tuple[dict[str, Any], int | None]:
        """PATCH, waiting out ``409 uneditable``: an operation is still running on the event
        (one we may not know the id of), so try again on the polling schedule."""
        deadline = time.monotonic() + self.timeout
        waits = self.delays()
        told = False
        while True:
            try:
                return self.client.update_event(event_id, payload.event)
            except errors.Uneditable:
                if time.monotonic() >= deadline:
                    raise
                if not told:
                    self.say(
                        "  "
                        + gettext("event %(event)s is busy with another operation; waiting for it")
                        % {"event": event_id}
                    )
                    told = True
                self.sleep(next(waits))

    def _follow(self, outcome: Outcome, event_id: int, op_id: int | None) -> None:
        if op_id is None:
            outcome.tickets_ready = True
            return
        op = self._wait(outcome, event_id, op_id)
        outcome.tickets_ready = op.phase_completed(TICKETS_PHASE)
        self._conclude(outcome, op)

    def _wait(self, outcome: Outcome, event_id: int, op_id: int) -> Operation:
        """Poll until the operation ends (or, by default, its tickets phase does; a retry is
        followed to the end, to know whether it mended what failed), noting in the journal
        where it stands: a run that stops here leaves it findable."""
        key = outcome.spec.key
        whole = self.wait_all or outcome.retrying
        self.journal.note(event_id, key, Entry(op_id, RUNNING))
        progress = ProgressLine(self.write, self.tty, clock=self.monotonic, sleep=self.sleep)
        try:
            op = self.client.wait_for_operation(
                event_id,
                op_id,
                until_phase=None if whole else TICKETS_PHASE,
                timeout=self.timeout,
                delays=self.delays(),
                sleep=progress.sleep,
                on_poll=progress.show,
            )
        except KeyboardInterrupt:
            self.journal.note(event_id, key, Entry(op_id, INTERRUPTED))
            outcome.running = op_id
            raise
        except TimeoutError:
            outcome.running = op_id
            raise
        finally:
            progress.close()
        self.journal.note(event_id, key, entry_for(op))
        outcome.running = None if op.is_terminal else op.id
        return op

    def _conclude(self, outcome: Outcome, op: Operation) -> None:
        event_id = outcome.event_id
        if op.status == "failed":
            phase, code, message = op.failure
            if outcome.tickets_ready:
                failed = gettext(
                    "FAILED in phase %(phase)s: %(code)s%(detail)s (its tickets phase had "
                    "completed)"
                )
            else:
                failed = gettext("FAILED in phase %(phase)s: %(code)s%(detail)s")
            found = {"phase": phase or "?", "code": code or gettext("no error code")}
            found["detail"] = f" — {message}" if message else ""
            self._fail(outcome, "  " + failed % found)
        elif op.status == "completed":
            self.say(
                "  "
                + gettext("done: every phase of event %(event)s completed") % {"event": event_id}
            )
        else:
            self.say(
                "  "
                + gettext(
                    "tickets ready: event %(event)s can take tickets now; still running: "
                    "%(phases)s. Not waiting for those (--wait-all waits for the whole "
                    "operation; the next run reports how it ended)."
                )
                % {"event": event_id, "phases": _rest(op)}
            )

    # --- comps ----------------------------------------------------------------------------

    def issue_comps(self, comps: list[CompSpec]) -> Report:
        outcomes = {o.spec.key: o for o in self.report.events if o.spec.key}
        children: Children = {}
        for index, comp in enumerate(comps):
            try:
                self._comp(comp, outcomes, children)
            except errors.ValidationError as exc:
                self._comp_problem(comp, _validation_text(exc))
            except errors.GuestManagerError as exc:
                self._comp_problem(comp, _describe(exc))
            except KeyboardInterrupt:
                self.report.interrupted = True
                self.report.comps_not_sent = comps[index:]
                break
        return self.report

    def _comp_problem(self, comp: CompSpec, message: str) -> None:
        self.report.comps_failed += 1
        self.say(
            gettext("comps line %(line)s: %(message)s") % {"line": comp.line, "message": message}
        )

    def _comp(self, comp: CompSpec, outcomes: dict[str, Outcome], children: Children) -> None:
        if comp.problems:
            self._comp_problem(comp, " ".join(p.message for p in comp.problems))
            return
        outcome = outcomes.get(comp.key)
        if outcome is None:
            self._comp_problem(
                comp,
                gettext("no event with external_id %(key)s in the events file")
                % {"key": repr(comp.key)},
            )
            return
        if outcome.event_id is None or not outcome.tickets_ready:
            why = outcome.failure.strip() or gettext("its tickets phase did not complete")
            self._comp_problem(
                comp,
                gettext("skipped: event %(key)s isn't ready (%(why)s)")
                % {"key": repr(comp.key), "why": why},
            )
            return
        target = self._comp_event(comp, outcome, children)
        if target is None:
            return
        if self._already_issued(comp, target):
            self.report.comps_kept += 1
            self.say(
                gettext("comps line %(line)s: already issued to %(holder)s")
                % {"line": comp.line, "holder": comp.email or comp.name}
            )
            return
        ticket = self.client.create_ticket(
            {
                "event_id": target,
                "ticket_type_id": comp.ticket_type_id,
                "name": comp.name or None,
                "email": comp.email or None,
                "dispatch": comp.dispatch,
            }
        )
        self.report.comps_issued += 1
        self.say(
            gettext("comps line %(line)s: issued ticket %(ticket)s for event %(event)s")
            % {"line": comp.line, "ticket": ticket["id"], "event": target}
        )

    def _comp_event(self, comp: CompSpec, outcome: Outcome, children: Children) -> int | None:
        """The event the ticket is for: the event itself, or a parent's session (by name) or
        a recurring event's date (``YYYY-MM-DD``, in the venue's time)."""
        event_id = outcome.event_id
        assert event_id is not None
        if outcome.event_type == "date":
            if comp.session:
                self._comp_problem(comp, gettext("session is for parent and recurring events only"))
                return None
            return event_id
        if not comp.session:
            self._comp_problem(
                comp,
                gettext("give the session (a parent's session name, a recurring event's date)"),
            )
            return None
        if event_id not in children:
            children[event_id] = self._children(event_id)
        for child in children[event_id]:
            local = str((child.get("start") or {}).get("local") or "")
            if child.get("name") == comp.session or local[:10] == comp.session:
                child_id: int = child["id"]
                return child_id
        self._comp_problem(
            comp,
            gettext("event %(key)s has no session or date %(session)s")
            % {"key": repr(comp.key), "session": repr(comp.session)},
        )
        return None

    def _already_issued(self, comp: CompSpec, event_id: int) -> bool:
        """A ticket issued directly (not bought) for this holder and type: re-running the
        comps file issues nothing twice."""
        page = self.client.list_tickets(
            filters={"event_ids": [event_id], "search": comp.email or comp.name}, page_size=100
        )
        return any(
            t.get("source_type") is None
            and t.get("ticket_type_id") == comp.ticket_type_id
            and (t.get("email") or "").lower() == comp.email.lower()
            and (t.get("name") or "") == comp.name
            for t in page
        )


def _changed(outcome: Outcome) -> str:
    """What an update changed, as the file names it: " (capacity, VIP price)"."""
    changes = outcome.payload.changes if outcome.payload else []
    return f" ({', '.join(changes)})" if outcome.action == "updated" and changes else ""


def _api_problems(exc: errors.ValidationError, payload: Payload | None) -> list[Problem]:
    """The API's own messages, each on the CSV line of the part of the event it is about."""
    fallback = payload.fallback_line if payload else 0
    found = [
        Problem(payload.line_for(e.attribute) if payload else fallback, _in_columns(e, payload))
        for e in exc.errors.attributes
        if e.message
    ]
    return found or [Problem(fallback, exc.message or gettext("The API refused the event."))]


def _in_columns(error: errors.FieldError, payload: Payload | None) -> str:
    """The API's message about the column the file gave it in: "repeat_unit 'fortnight' is
    not included in the list", not "Recurrences[0].repeat unit is not included in the
    list". Only values sent as the file wrote them are quoted (not times, sent in UTC)."""
    column = column_for(error.attribute)
    if column is None or error.name:  # error.name: the API named a record; keep its words
        return error.sentence()
    message = error.message
    if error.label and message.lower().startswith(error.label.lower() + " "):
        message = message[len(error.label) + 1 :]
    value = payload.sent(error.attribute) if payload else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = " ".join(value)  # repeat_days
    quoted = isinstance(value, str | int) and not isinstance(value, bool)
    shown = f" {value!r}" if quoted and column in VERBATIM_COLUMNS else ""
    return f"{column}{shown} {message}"


def _validation_text(exc: errors.ValidationError) -> str:
    sentences = [e.sentence() for e in exc.errors.attributes if e.message]
    return " ".join(sentences) or exc.message or gettext("The API refused the ticket.")


def _describe(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return gettext("gave up waiting: %(error)s") % {"error": exc}
    if isinstance(exc, errors.APIError):
        return gettext("the API answered %(status)s %(type)s: %(error)s") % {
            "status": exc.status,
            "type": exc.type,
            "error": exc,
        }
    return gettext("the API failed: %(error)s") % {"error": exc}


def _on_line(problem: Problem) -> str:
    return gettext("line %(line)s: %(message)s") % {
        "line": problem.line,
        "message": problem.message,
    }
