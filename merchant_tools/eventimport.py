"""The event import's CSV files, read into specs, and the API payloads made from them.

Pure Python: no HTTP, and of Django only the translation of its messages.
``merchant_tools.eventsync`` sends what this module builds.

Events file — one row per registration type; rows with the same ``external_id`` make one
event (its event columns may be left blank after its first row), and a parent event's rows
name the ``session`` they belong to. Comps file — one row per ticket to issue.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext

EVENT_COLUMNS = (
    "external_id",
    "type",
    "name",
    "venue_id",
    "time_zone",
    "starts_at",
    "ends_at",
    "capacity",
    "published",
    "session",
    "session_starts_at",
    "session_ends_at",
    "repeat_unit",
    "repeat_every",
    "repeat_days",
    "repeat_until",
    "repeat_count",
    "registration_type",
    "ticket_type_id",
    "price",
    "inventory",
    "order_min",
    "order_max",
)
REQUIRED_EVENT_COLUMNS = ("external_id", "name", "venue_id", "starts_at", "ends_at")
# The event's own columns: given on its first row, blank or the same on the others.
EVENT_LEVEL = (
    "type",
    "name",
    "venue_id",
    "time_zone",
    "starts_at",
    "ends_at",
    "capacity",
    "published",
    "repeat_unit",
    "repeat_every",
    "repeat_days",
    "repeat_until",
    "repeat_count",
)
REPEAT_COLUMNS = ("repeat_unit", "repeat_every", "repeat_days", "repeat_until", "repeat_count")
COMP_COLUMNS = ("external_id", "session", "ticket_type_id", "name", "email", "dispatch")
REQUIRED_COMP_COLUMNS = ("external_id", "ticket_type_id")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class FileProblem(ValueError):
    """The file as a whole cannot be read (no header, unknown or missing columns)."""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass
class TypeSpec:
    """A registration type (GA, VIP, …) of an event or of a session."""

    line: int
    name: str
    ticket_type_id: int | None = None
    price: Decimal | None = None
    inventory: int | None = None
    order_min: int | None = None
    order_max: int | None = None


@dataclass
class SessionSpec:
    line: int
    name: str
    starts_at: datetime | None = None  # naive until localize(): written without an offset
    ends_at: datetime | None = None
    types: list[TypeSpec] = field(default_factory=list)
    origin: dict[str, int] = field(default_factory=dict)  # the line each time was read from

    def line_of(self, column: str) -> int:
        return self.origin.get(column, self.line)


@dataclass
class RuleSpec:
    """A recurring event's one recurrence rule."""

    unit: str
    every: int = 1
    days: list[str] = field(default_factory=list)
    until: date | None = None
    count: int | None = None


@dataclass
class EventSpec:
    key: str
    lines: list[int]
    type: str = "date"
    name: str = ""
    venue_id: int | None = None
    time_zone: ZoneInfo | None = None  # the file's time_zone column
    zone: tzinfo | None = None  # the zone local times were read in, once localize() has run
    starts_at: datetime | None = None  # naive until localize(): written without an offset
    ends_at: datetime | None = None
    capacity: int | None = None
    published: bool | None = None
    rule: RuleSpec | None = None
    types: list[TypeSpec] = field(default_factory=list)
    sessions: list[SessionSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # said, but the event is still sent
    origin: dict[str, int] = field(default_factory=dict)  # the line each event column came from

    @property
    def first_line(self) -> int:
        return self.lines[0]

    def line_of(self, column: str) -> int:
        return self.origin.get(column, self.first_line)

    @property
    def line_span(self) -> str:
        first, last = self.lines[0], self.lines[-1]
        if first == last:
            return gettext("line %(line)s") % {"line": first}
        return gettext("lines %(first)s-%(last)s") % {"first": first, "last": last}

    def session(self, name: str) -> SessionSpec | None:
        return next((s for s in self.sessions if s.name == name), None)


@dataclass
class CompSpec:
    line: int
    key: str
    session: str = ""
    ticket_type_id: int | None = None
    name: str = ""
    email: str = ""
    dispatch: bool = False
    problems: list[Problem] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------


def _rows(
    text: str, known: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped value}) for each non-blank row, after checking the
    header. Line numbers are the file's, counting the header as line 1."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise FileProblem(gettext("The file is empty: the first line must name the columns."))
    unknown = sorted(set(header) - set(known))
    if unknown:
        raise FileProblem(
            gettext("Unknown column(s): %(columns)s.") % {"columns": ", ".join(unknown)}
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise FileProblem(
            gettext("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)}
        )
    reader.fieldnames = header
    for row in reader:
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(values.values()):
            yield reader.line_num, values


def not_utf8(exc: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8, and what it probably is: spreadsheets often save
    Windows-1252."""
    raw = exc.object if isinstance(exc.object, bytes) else bytes(exc.object)
    line = raw[: exc.start].count(b"\n") + 1
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        message = gettext(
            "line %(line)s: the file is not UTF-8 (it looks like not UTF-8). Save it as "
            '"CSV UTF-8" and run the import again.'
        )
    else:
        message = gettext(
            "line %(line)s: the file is not UTF-8 (it looks like Windows-1252 (Excel's "
            '"CSV" on Windows)). Save it as "CSV UTF-8" and run the import again.'
        )
    return message % {"line": line}


def read_events(text: str) -> list[EventSpec]:
    """Events in the order of their first rows. Each keeps the problems found in its rows;
    an event with problems is not sent."""
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    orphans: list[EventSpec] = []
    for line, row in _rows(text, EVENT_COLUMNS, REQUIRED_EVENT_COLUMNS):
        key = row.get("external_id", "")
        if not key:
            spec = EventSpec(key="", lines=[line])
            spec.problems.append(Problem(line, _empty("external_id")))
            orphans.append(spec)
            continue
        grouped.setdefault(key, []).append((line, row))
    return [_event(key, rows) for key, rows in grouped.items()] + orphans


def _empty(column: str) -> str:
    return gettext("%(column)s is empty.") % {"column": column}


def read_comps(text: str) -> list[CompSpec]:
    comps = []
    for line, row in _rows(text, COMP_COLUMNS, REQUIRED_COMP_COLUMNS):
        comp = CompSpec(line=line, key=row.get("external_id", ""), session=row.get("session", ""))
        problems = comp.problems
        comp.ticket_type_id = _int(row, "ticket_type_id", line, problems)
        comp.name, comp.email = row.get("name", ""), row.get("email", "")
        comp.dispatch = bool(_yes_no(row, "dispatch", line, problems))
        for column in REQUIRED_COMP_COLUMNS:
            if not row.get(column):
                problems.append(Problem(line, _empty(column)))
        if not (comp.name or comp.email):
            problems.append(Problem(line, gettext("Give the ticket holder's name or email.")))
        comps.append(comp)
    return comps


# Text a spreadsheet would run as a formula when the file, or an export of what it published,
# is opened in one.
FORMULA_START = ("=", "+", "-", "@")
TEXT_COLUMNS = ("name", "session", "registration_type")


def _formula_warnings(spec: EventSpec, rows: list[tuple[int, dict[str, str]]]) -> None:
    for line, row in rows:
        for column in TEXT_COLUMNS:
            value = row.get(column, "")
            if value.startswith(FORMULA_START):
                spec.warnings.append(
                    Problem(
                        line,
                        gettext(
                            "%(column)s starts with %(start)s: a spreadsheet opening this file "
                            "(or an export of the event) would run it as a formula. Published "
                            "as written."
                        )
                        % {"column": column, "start": repr(value[0])},
                    )
                )


def _event(key: str, rows: list[tuple[int, dict[str, str]]]) -> EventSpec:
    spec = EventSpec(key=key, lines=[line for line, _ in rows])
    _formula_warnings(spec, rows)
    merged: dict[str, str] = {}
    origin: dict[str, int] = {}  # the line each event column was read from
    for line, row in rows:
        for column in EVENT_LEVEL:
            value = row.get(column, "")
            if value and merged.get(column) and value != merged[column]:
                spec.problems.append(
                    Problem(
                        line,
                        gettext("%(column)s differs from line %(line)s of this event.")
                        % {"column": column, "line": origin[column]},
                    )
                )
            elif value and column not in merged:
                merged[column], origin[column] = value, line
    spec.origin = origin
    _event_fields(spec, Row(merged, origin, spec.first_line))
    for line, row in rows:
        _type_row(spec, line, row)
    return spec


@dataclass(frozen=True)
class Row:
    """An event's own columns gathered from its rows, each with the line it came from."""

    values: dict[str, str]
    origin: dict[str, int]
    first_line: int

    def get(self, column: str, default: str = "") -> str:
        return self.values.get(column, default)

    def line(self, column: str) -> int:
        return self.origin.get(column, self.first_line)


def past(spec: EventSpec, now: datetime) -> None:
    """Nothing that has ended goes on sale: a past date is almost always a typo in the year.
    An event under way (or a recurring one whose first dates have gone) is only warned of.
    Times still without a zone (one that could not be found) are left to that problem."""
    when = f"{now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    line = spec.first_line
    rule = spec.rule
    if rule is not None and rule.until is not None and rule.until < now.date():
        spec.problems.append(
            Problem(
                line,
                gettext("repeat_until %(date)s is in the past (now: %(now)s).")
                % {"date": rule.until, "now": when},
            )
        )
    elif rule is None and _aware(spec.ends_at) and spec.ends_at <= now:
        spec.problems.append(
            Problem(
                line,
                gettext(
                    "ends_at %(time)s is in the past (now: %(now)s): an event that has ended "
                    "can't be sold. Check the year."
                )
                % {"time": spec.ends_at.isoformat(), "now": when},
            )
        )
    elif _aware(spec.starts_at) and spec.starts_at <= now:
        if rule:
            message = gettext("starts_at %(time)s has passed: its first dates are under way.")
        else:
            message = gettext("starts_at %(time)s has passed: it is under way.")
        spec.warnings.append(Problem(line, message % {"time": spec.starts_at.isoformat()}))
    for session in spec.sessions:
        if _aware(session.ends_at) and session.ends_at <= now:
            spec.problems.append(
                Problem(
                    session.line,
                    gettext("Session %(name)s ended at %(time)s, in the past (now: %(now)s).")
                    % {
                        "name": repr(session.name),
                        "time": session.ends_at.isoformat(),
                        "now": when,
                    },
                )
            )


def _aware(when: datetime | None) -> TypeGuard[datetime]:
    return when is not None and when.tzinfo is not None


def _event_fields(spec: EventSpec, row: Row) -> None:
    problems = spec.problems
    values = row.values
    spec.type = (row.get("type") or "date").lower()
    spec.name = row.get("name")
    spec.venue_id = _int(values, "venue_id", row.line("venue_id"), problems)
    spec.time_zone = _zone(values, "time_zone", row.line("time_zone"), problems)
    spec.starts_at = _when(values, "starts_at", row.line("starts_at"), problems)
    spec.ends_at = _when(values, "ends_at", row.line("ends_at"), problems)
    spec.capacity = _int(values, "capacity", row.line("capacity"), problems)
    spec.published = _yes_no(values, "published", row.line("published"), problems)
    repeat_lines = [row.line(c) for c in REPEAT_COLUMNS if row.get(c)]
    if spec.type == "recurring":
        spec.rule = _rule(row, problems)
    elif repeat_lines:
        problems.append(
            Problem(repeat_lines[0], gettext("repeat_* columns are for type recurring only."))
        )


def _rule(row: Row, problems: list[Problem]) -> RuleSpec:
    values = row.values
    days = [_weekday(d) for d in row.get("repeat_days").replace(";", " ").split()]
    rule = RuleSpec(
        unit=(row.get("repeat_unit") or "week").lower(),
        every=_int(values, "repeat_every", row.line("repeat_every"), problems) or 1,
        days=[d for d in days if d],
        until=_day(values, "repeat_until", row.line("repeat_until"), problems),
        count=_int(values, "repeat_count", row.line("repeat_count"), problems),
    )
    if rule.until and rule.count:
        problems.append(
            Problem(
                row.line("repeat_count"), gettext("Give repeat_until or repeat_count, not both.")
            )
        )
    elif not (rule.until or rule.count or row.get("repeat_until") or row.get("repeat_count")):
        problems.append(
            Problem(
                row.first_line,
                gettext(
                    "A recurring event needs repeat_until or repeat_count: without either it "
                    "would repeat for a year."
                ),
            )
        )
    return rule


def _weekday(word: str) -> str:
    """Full weekday names; their first three letters will do. Anything else goes to the API
    as written, for it to refuse."""
    word = word.strip(" ,").lower()
    return next((d for d in WEEKDAYS if len(word) >= 3 and d.startswith(word)), word)


def _type_row(spec: EventSpec, line: int, row: dict[str, str]) -> None:
    problems = spec.problems
    target = spec.types
    session_name = row.get("session", "")
    if session_name:
        if spec.type != "parent":
            problems.append(Problem(line, gettext("session is for type parent only.")))
            return
        target = _session(spec, session_name, line, row).types
    elif spec.type == "parent" and row.get("registration_type"):
        problems.append(
            Problem(line, gettext("A parent event's registration types belong to a session."))
        )
        return
    type_name = row.get("registration_type", "")
    values = [row.get(c) for c in ("ticket_type_id", "price", "inventory", "order_min")]
    if not type_name and not any(values) and not row.get("order_max"):
        return
    if any(t.name == type_name for t in target):
        problems.append(
            Problem(
                line,
                gettext("Registration type %(name)s is listed twice.") % {"name": repr(type_name)},
            )
        )
        return
    found = TypeSpec(
        line=line,
        name=type_name,
        ticket_type_id=_int(row, "ticket_type_id", line, problems),
        price=_decimal(row, "price", line, problems),
        inventory=_int(row, "inventory", line, problems),
        order_min=_int(row, "order_min", line, problems),
        order_max=_int(row, "order_max", line, problems),
    )
    if found.order_min and found.order_max and found.order_min > found.order_max:
        problems.append(
            Problem(
                line,
                gettext(
                    "order_min (%(min)s) is more than order_max (%(max)s): nobody could buy "
                    "this type."
                )
                % {"min": found.order_min, "max": found.order_max},
            )
        )
    target.append(found)


def _session(spec: EventSpec, name: str, line: int, row: dict[str, str]) -> SessionSpec:
    session = spec.session(name)
    starts = _when(row, "session_starts_at", line, spec.problems)
    ends = _when(row, "session_ends_at", line, spec.problems)
    if session is None:
        session = SessionSpec(line=line, name=name)
        spec.sessions.append(session)
    for attribute, value in (("starts_at", starts), ("ends_at", ends)):
        known = getattr(session, attribute)
        if value and known and value != known:
            spec.problems.append(
                Problem(
                    line,
                    gettext("Session %(name)s has another %(column)s on line %(line)s.")
                    % {"name": repr(name), "column": attribute, "line": session.line},
                )
            )
        elif value:
            setattr(session, attribute, value)
            session.origin[f"session_{attribute}"] = line
    return session


# --- values -------------------------------------------------------------------------------


# The least each whole-number column may hold: nothing is sent that the storefront would then
# show as a negative stock, an impossible limit or a free ticket by mistake.
MINIMUM = {
    "venue_id": 1,
    "ticket_type_id": 1,
    "capacity": 1,
    "inventory": 0,
    "order_min": 1,
    "order_max": 1,
    "repeat_every": 1,
    "repeat_count": 1,
}


def _int(row: dict[str, str], column: str, line: int, problems: list[Problem]) -> int | None:
    value = row.get(column, "")
    if not value:
        return None
    if not value.lstrip("-").isdigit():
        problems.append(
            Problem(
                line,
                gettext("%(column)s must be a whole number, not %(value)s.")
                % {"column": column, "value": repr(value)},
            )
        )
        return None
    number = int(value)
    least = MINIMUM.get(column)
    if least is not None and number < least:
        problems.append(
            Problem(
                line,
                gettext("%(column)s must be at least %(least)s, not %(value)s.")
                % {"column": column, "least": least, "value": value},
            )
        )
        return None
    return number


def _decimal(
    row: dict[str, str], column: str, line: int, problems: list[Problem]
) -> Decimal | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        problems.append(
            Problem(
                line,
                gettext("%(column)s must be a number like 25 or 12.50, not %(value)s.")
                % {"column": column, "value": repr(value)},
            )
        )
        return None
    if number < 0:
        problems.append(
            Problem(
                line,
                gettext("%(column)s must not be below zero, not %(value)s.")
                % {"column": column, "value": value},
            )
        )
        return None
    if number != number.quantize(Decimal("0.01")):
        problems.append(
            Problem(
                line,
                gettext("%(column)s has at most two decimals (cents), not %(value)s.")
                % {"column": column, "value": value},
            )
        )
        return None
    return number


def _when(row: dict[str, str], column: str, line: int, problems: list[Problem]) -> datetime | None:
    """An ISO 8601 date and time. Without an offset it is a local time, kept naive until
    ``localize`` reads it in the event's time zone."""
    value = row.get(column, "")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(
            Problem(
                line,
                gettext("%(column)s must be a date and time like 2027-03-14T19:30:00-05:00.")
                % {"column": column},
            )
        )
        return None


def _zone(row: dict[str, str], column: str, line: int, problems: list[Problem]) -> ZoneInfo | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(
                line,
                gettext(
                    "%(column)s must be a time zone name like America/New_York or "
                    "Europe/London, not %(value)s."
                )
                % {"column": column, "value": repr(value)},
            )
        )
        return None


def _day(row: dict[str, str], column: str, line: int, problems: list[Problem]) -> date | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(
            Problem(
                line, gettext("%(column)s must be a date like 2027-06-30.") % {"column": column}
            )
        )
        return None


def _yes_no(row: dict[str, str], column: str, line: int, problems: list[Problem]) -> bool | None:
    value = row.get(column, "").lower()
    if not value:
        return None
    if value in YES | NO:
        return value in YES
    problems.append(
        Problem(
            line,
            gettext("%(column)s must be yes or no, not %(value)s.")
            % {"column": column, "value": repr(value)},
        )
    )
    return None


def utc(when: datetime) -> str:
    if when.tzinfo is None:  # astimezone would read it in this machine's zone
        raise ValueError(f"{when.isoformat()} has no time zone: localize() the event first")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- local times --------------------------------------------------------------------------


def needs_zone(spec: EventSpec) -> bool:
    """Whether the event's time zone is needed: for times written without an offset, and
    for the day ``repeat_until`` ends on."""
    times = [spec.starts_at, spec.ends_at]
    times += [when for s in spec.sessions for when in (s.starts_at, s.ends_at)]
    naive = any(when is not None and when.tzinfo is None for when in times)
    return naive or bool(spec.rule and spec.rule.until)


def localize(spec: EventSpec, zone: tzinfo) -> None:
    """Read the event's times written without an offset as wall-clock times in ``zone`` (the
    time_zone column's, else the venue's). One the clocks skip, or pass twice, is a problem
    on its line: either reading would be a guess at an hour printed on every ticket, and an
    offset settles it."""
    spec.zone = zone
    spec.starts_at = _in_zone(spec.starts_at, "starts_at", spec.line_of("starts_at"), spec)
    spec.ends_at = _in_zone(spec.ends_at, "ends_at", spec.line_of("ends_at"), spec)
    for session in spec.sessions:
        for attribute in ("starts_at", "ends_at"):
            column = f"session_{attribute}"
            when = _in_zone(getattr(session, attribute), column, session.line_of(column), spec)
            setattr(session, attribute, when)


def _in_zone(when: datetime | None, column: str, line: int, spec: EventSpec) -> datetime | None:
    zone = spec.zone
    if when is None or when.tzinfo is not None or zone is None:
        return when
    earlier, later = when.replace(tzinfo=zone), when.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    name = getattr(zone, "key", str(zone))
    written = when.isoformat()
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != when:
        spec.problems.append(
            Problem(
                line,
                gettext(
                    "%(column)s %(time)s does not exist in %(zone)s: the clocks go forward that "
                    "night (from %(before)s to %(after)s). Give a time that exists."
                )
                % {
                    "column": column,
                    "time": written,
                    "zone": name,
                    "before": f"{earlier:%:z}",
                    "after": f"{later:%:z}",
                },
            )
        )
    else:
        spec.problems.append(
            Problem(
                line,
                gettext(
                    "%(column)s %(time)s happens twice in %(zone)s (the clocks go back that "
                    "night): write the one meant with its offset, %(first)s or %(second)s."
                )
                % {
                    "column": column,
                    "time": written,
                    "zone": name,
                    "first": earlier.isoformat(),
                    "second": later.isoformat(),
                },
            )
        )
    return earlier


def venue_zone(venue: dict[str, Any]) -> ZoneInfo | None:
    """A venue's time zone: the API names it (``time_zone``, e.g. "Eastern Time (US &
    Canada)") and gives its IANA identifier in ``tzinfo``."""
    identifier = (venue.get("tzinfo") or {}).get("identifier")
    try:
        return ZoneInfo(str(identifier)) if identifier else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --- payloads -----------------------------------------------------------------------------


@dataclass
class Payload:
    """An ``event`` object to send, and which CSV line each part of it came from, so an API
    error on ``sessions[1].registration_types[0].ticket_type_id`` names its row."""

    event: dict[str, Any]
    places: dict[str, int]
    fallback_line: int
    changes: list[str] = field(default_factory=list)  # an update's, as the file names them
    notes: list[Problem] = field(default_factory=list)  # what the file asks that is not sent

    def line_for(self, attribute: str) -> int:
        matches = [p for p in self.places if attribute == p or attribute.startswith(p + ".")]
        return self.places[max(matches, key=len)] if matches else self.fallback_line

    def sent(self, attribute: str) -> Any:
        """The value sent for ``recurrences[0].repeat_unit`` and the like, or None."""
        node: Any = self.event
        for part in attribute.split("."):
            name, _, index = part.partition("[")
            node = node.get(name) if isinstance(node, dict) else None
            if index:
                i = int(index.rstrip("]")) if index.rstrip("]").isdigit() else -1
                node = node[i] if isinstance(node, list) and 0 <= i < len(node) else None
        return node


# The API's attributes, by the part of the event they belong to, as this file's columns.
API_COLUMNS: dict[str, dict[str, str]] = {
    "": {
        "type": "type",
        "name": "name",
        "venue_id": "venue_id",
        "starts_at": "starts_at",
        "ends_at": "ends_at",
        "capacity": "capacity",
        "published_at": "published",
    },
    "sessions": {
        "base": "session",
        "name": "session",
        "starts_at": "session_starts_at",
        "ends_at": "session_ends_at",
    },
    "registration_types": {
        "base": "registration_type",
        "name": "registration_type",
        "ticket_type_id": "ticket_type_id",
        "price": "price",
        "inventory": "inventory",
        "order_min": "order_min",
        "order_max": "order_max",
    },
    "recurrences": {
        "starts_at": "starts_at",
        "repeat_unit": "repeat_unit",
        "repeat_value": "repeat_every",
        "days": "repeat_days",
        "ends_at": "repeat_until",
        "max_occurrences": "repeat_count",
        "ends": "repeat_until or repeat_count",
        "duration": "ends_at",
        "operating_hours": "starts_at and ends_at",
    },
}
# Columns whose value is sent as written (times go in UTC; published, as a time).
VERBATIM_COLUMNS = set(EVENT_COLUMNS) - {
    "external_id",
    "time_zone",
    "starts_at",
    "ends_at",
    "published",
    "session_starts_at",
    "session_ends_at",
    "repeat_until",
}


def column_for(attribute: str) -> str | None:
    """The column an API error's attribute is about (``recurrences[0].repeat_unit`` →
    repeat_unit, ``sessions[1].registration_types[0].ticket_type_id`` → ticket_type_id),
    if the file has one."""
    parts = [part.partition("[")[0] for part in attribute.split(".")]
    within = parts[-2] if len(parts) > 1 else ""
    return API_COLUMNS.get(within, {}).get(parts[-1])


def create_payload(spec: EventSpec, now: datetime) -> Payload:
    payload = Payload({}, {}, spec.first_line)
    event: dict[str, Any] = {
        "type": spec.type,
        "name": spec.name,
        "venue_id": spec.venue_id,
        "starts_at": utc(spec.starts_at) if spec.starts_at else None,
        "ends_at": utc(spec.ends_at) if spec.ends_at else None,
    }
    if spec.capacity is not None:
        event["capacity"] = spec.capacity
    if spec.published and spec.type != "parent":  # parents are published on create
        event["published_at"] = utc(now)
    if spec.types:
        event["registration_types"] = _new_types(spec.types, "", payload)
    if spec.type == "parent":
        event["sessions"] = [
            _new_session(s, f"sessions[{i}]", payload) for i, s in enumerate(spec.sessions)
        ]
    if spec.rule:
        event["recurrences"] = [rule_params(spec)]
    payload.event = event
    return payload


def _type_params(t: TypeSpec) -> dict[str, Any]:
    params: dict[str, Any] = {"name": t.name, "ticket_type_id": t.ticket_type_id}
    if t.price is not None:
        params["price"] = str(t.price)
    for key in ("inventory", "order_min", "order_max"):
        if getattr(t, key) is not None:
            params[key] = getattr(t, key)
    return params


def _new_types(types: Iterable[TypeSpec], path: str, payload: Payload) -> list[dict[str, Any]]:
    entries = []
    for i, t in enumerate(types):
        payload.places[f"{path}registration_types[{i}]"] = t.line
        entries.append(_type_params(t))
    return entries


def _new_session(session: SessionSpec, path: str, payload: Payload) -> dict[str, Any]:
    payload.places[path] = session.line
    entry: dict[str, Any] = {
        "name": session.name,
        "starts_at": utc(session.starts_at) if session.starts_at else None,
        "ends_at": utc(session.ends_at) if session.ends_at else None,
    }
    if session.types:
        entry["registration_types"] = _new_types(session.types, f"{path}.", payload)
    return entry


def rule_params(spec: EventSpec) -> dict[str, Any]:
    """The recurrence rule: from the event's start, for as long as the event lasts, at the
    wall-clock times the file gives."""
    rule = spec.rule
    assert rule is not None and spec.starts_at is not None and spec.ends_at is not None
    start = utc(spec.starts_at)  # refuses a time not yet localized
    zone = spec.zone or spec.starts_at.tzinfo  # the venue's, when it was looked up
    opens, closes = spec.starts_at.astimezone(zone), spec.ends_at.astimezone(zone)
    params: dict[str, Any] = {
        "starts_at": start,
        "repeat_unit": rule.unit,
        "repeat_value": rule.every,
        "duration": round((spec.ends_at - spec.starts_at).total_seconds() / 3600, 2),
        "operating_hours": [{"open": opens.strftime("%H:%M"), "close": closes.strftime("%H:%M")}],
    }
    if rule.days:
        params["days"] = rule.days
    if rule.until:  # to the end of that day where the event is
        last = datetime.combine(rule.until, time(23, 59), tzinfo=zone)
        params.update(ends="on_date", ends_at=utc(last))
    elif rule.count:
        params.update(ends="after_occurrences", max_occurrences=rule.count)
    else:
        params["ends"] = "never"
    return params


# --- updates: only what differs -----------------------------------------------------------


def update_payload(
    spec: EventSpec, current: dict[str, Any], sessions: list[dict[str, Any]], now: datetime
) -> Payload:
    """What to PATCH so the event matches the file; an empty ``event`` when it already does.
    ``changes`` names what differs; ``notes`` what differs but is not sent.

    Registration types and sessions are matched by name. Types and sessions the file does
    not list are left alone, and an existing type's ``inventory`` is never sent: once tickets
    sell, the file's number would put back stock that is gone."""
    payload = Payload({}, {}, spec.first_line)
    event: dict[str, Any] = {}
    if spec.venue_id is not None and spec.venue_id != current.get("venue_id"):
        event["venue_id"] = spec.venue_id
    if spec.ends_at and spec.ends_at != _instant(current.get("end")):
        event["ends_at"] = utc(spec.ends_at)
    if spec.capacity is not None and spec.capacity != current.get("capacity"):
        event["capacity"] = spec.capacity
    published = current.get("published_at") is not None
    if spec.type != "parent" and spec.published is not None and spec.published != published:
        event["published_at"] = utc(now) if spec.published else None
    payload.changes += ["published" if key == "published_at" else key for key in event]
    types = _changed_types(spec.types, current.get("registration_types") or [], "", payload)
    if types:
        event["registration_types"] = types
    changed_sessions = _changed_sessions(spec, sessions, payload)
    if changed_sessions:
        event["sessions"] = changed_sessions
    if spec.rule:
        rule = _changed_rule(spec, current.get("recurrences") or [])
        if rule:
            event["recurrences"] = [rule]
            payload.changes.append(gettext("repeat rule"))
    payload.event = event
    return payload


def _instant(moment: Any) -> datetime | None:
    if not isinstance(moment, dict) or not moment.get("utc"):
        return None
    return datetime.fromisoformat(str(moment["utc"]).replace("Z", "+00:00"))


def _changed_types(
    types: list[TypeSpec],
    current: list[dict[str, Any]],
    path: str,
    payload: Payload,
    owner: str = "",
) -> list[dict[str, Any]]:
    """New and changed registration types; ``owner`` ("session A ") begins their names in
    ``payload.changes``."""
    by_name = {rt.get("name"): rt for rt in current}
    entries: list[dict[str, Any]] = []
    for t in types:
        rt = by_name.get(t.name)
        if rt is None:
            entry, changed = _type_params(t), ["added"]
        else:
            _note_inventory(t, rt, payload)
            changes = _type_changes(t, rt)
            entry = _type_entry(t, rt, changes) if changes else {}
            changed = list(changes)
        if entry:
            payload.places[f"{path}registration_types[{len(entries)}]"] = t.line
            payload.changes += [f"{owner}{t.name} {key}" for key in changed]
            entries.append(entry)
    return entries


def _type_changes(t: TypeSpec, rt: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if t.ticket_type_id is not None and t.ticket_type_id != _ticket_type(rt):
        changes["ticket_type_id"] = t.ticket_type_id
    if t.price is not None and t.price != Decimal(str(rt.get("price") or "0")):
        changes["price"] = str(t.price)
    for key in ("order_min", "order_max"):
        if getattr(t, key) is not None and getattr(t, key) != rt.get(key):
            changes[key] = getattr(t, key)
    return changes


def _type_entry(t: TypeSpec, rt: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    # The API wants ticket_type_id on every entry it keeps, updates included.
    return {"id": rt["id"], "ticket_type_id": t.ticket_type_id or _ticket_type(rt), **changes}


def _ticket_type(rt: dict[str, Any]) -> Any:
    return (rt.get("ticket_type") or {}).get("id")


def _note_inventory(t: TypeSpec, rt: dict[str, Any], payload: Payload) -> None:
    """An existing type's stock is the API's (``stock_item``): the file's ``inventory`` is
    not sent, and when it differs the operator is told so."""
    stock = rt.get("stock_item")
    if t.inventory is None or not isinstance(stock, dict) or stock.get("available") is None:
        return
    available, status = stock["available"], stock.get("status")
    if t.inventory == available:
        return
    found = {"inventory": t.inventory, "name": repr(t.name), "available": available}
    if status not in (None, "selling"):
        found["status"] = str(status).replace("_", " ")
        message = gettext(
            "inventory %(inventory)s for %(name)s not applied: the type exists with "
            "%(available)s in stock (%(status)s) and tickets may have sold; change stock in "
            "Guest Manager."
        )
    else:
        message = gettext(
            "inventory %(inventory)s for %(name)s not applied: the type exists with "
            "%(available)s in stock and tickets may have sold; change stock in Guest Manager."
        )
    payload.notes.append(Problem(t.line, message % found))


def _changed_sessions(
    spec: EventSpec, sessions: list[dict[str, Any]], payload: Payload
) -> list[dict[str, Any]]:
    by_name = {s.get("name"): s for s in sessions}
    entries: list[dict[str, Any]] = []
    for session in spec.sessions:
        path = f"sessions[{len(entries)}]"
        current = by_name.get(session.name)
        if current is None:
            entries.append(_new_session(session, path, payload))
            payload.changes.append(gettext("session %(name)s added") % {"name": session.name})
            continue
        entry: dict[str, Any] = {}
        owner = f"session {session.name} "
        for key, when in (("starts_at", session.starts_at), ("ends_at", session.ends_at)):
            moment = current.get("start" if key == "starts_at" else "end")
            if when and when != _instant(moment):
                entry[key] = utc(when)
                payload.changes.append(f"{owner}{key}")
        rts = current.get("registration_types") or []
        types = _changed_types(session.types, rts, f"{path}.", payload, owner)
        if types:
            entry["registration_types"] = types
        if entry:
            payload.places[path] = session.line
            entries.append({"id": current["id"], **entry})
    return entries


RULE_KEYS = (
    "starts_at",
    "repeat_unit",
    "repeat_value",
    "duration",
    "days",
    "ends",
    "ends_at",
    "max_occurrences",
)


def _changed_rule(spec: EventSpec, current: list[dict[str, Any]]) -> dict[str, Any]:
    wanted = rule_params(spec)
    if not current:
        return wanted
    have = current[0]
    if all(_same_rule_value(key, wanted.get(key), have.get(key)) for key in RULE_KEYS):
        return {}
    return {"id": have.get("id"), **wanted}


def _same_rule_value(key: str, wanted: Any, have: Any) -> bool:
    if key in ("starts_at", "ends_at") and wanted and have:
        return _instant({"utc": wanted}) == _instant({"utc": have})
    if key == "duration" and wanted is not None and have is not None:
        return float(wanted) == float(have)
    return (wanted or None) == (have or None)


def to_utc_range(when: datetime) -> tuple[str, str]:
    """A filter[starts_at] range holding just ``when``: ``to`` is read as "before" by some
    and as an inclusive bound by others, so the range is a minute wide and the caller
    matches the exact instant itself."""
    return utc(when), utc(when + timedelta(minutes=1))
