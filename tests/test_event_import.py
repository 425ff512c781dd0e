"""``manage.py import_events`` against the sandbox: events from CSV, operations followed,
409s waited out, bad rows reported by line, re-runs that duplicate nothing, comp tickets."""

from __future__ import annotations

import functools
import io
import itertools
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from merchant_tools import eventimport, eventsync

from .helpers import eventually
from .test_merchants import make_merchant

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
VENUE, GA, NAMED = 2, 1, 2  # Harbor Hall (New York); General admission; Named ticket
HEADER = (
    "external_id,type,name,venue_id,starts_at,ends_at,published,session,session_starts_at,"
    "session_ends_at,repeat_unit,repeat_days,repeat_count,registration_type,ticket_type_id,"
    "price,inventory"
)
COMP_HEADER = "external_id,session,ticket_type_id,name,email,dispatch"


def at(days: int, hour: int = 19) -> str:
    """A time far enough ahead to stay off the storefront's first pages."""
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=days)).isoformat()


def csv_file(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def run(*args, schedule: str = "0.05") -> tuple[str, CommandError | None]:
    """Run the command with fast polling: its output, and its error if it failed."""
    out = io.StringIO()
    try:
        call_command("import_events", *map(str, args), "--poll-schedule", schedule, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def top_level(gm, name: str) -> list[dict]:
    events = [e for p in gm.iter_events(filters={"name": name}, page_size=200) for e in p]
    return [e for e in events if not e["parent_event_id"]]


def children(gm, event_id: int) -> list[dict]:
    pages = gm.iter_events(
        filters={"parent_event_id": event_id}, include="registration_types", page_size=200
    )
    return [e for p in pages for e in p]


@pytest.fixture
def importing(storefront_settings, sandbox):
    """The default merchant (settings) on the sandbox; operation plans forgotten after."""
    storefront_settings.IMPORT_MIN_POLL_SECONDS = 0.05
    yield sandbox
    sandbox.control("POST", "operations", {"reset": True})


# The example files hold dates in 2027: they are imported as of a day before them.
BEFORE_THE_EXAMPLES = datetime(2027, 1, 15, 12, tzinfo=UTC)


def test_example_files_import_then_rerun_changes_nothing(importing, gm):
    events, comps = ROOT / "examples" / "events.csv", ROOT / "examples" / "comps.csv"
    with time_machine.travel(BEFORE_THE_EXAMPLES):
        out, error = run(events, "--comps", comps)
    assert error is None, out
    assert "3 events: 3 created, 0 updated, 0 retried, 0 unchanged, 0 failed." in out
    assert "Comps: 3 issued, 0 already issued, 0 not issued." in out
    gala = top_level(gm, "Spring Gala")
    assert len(gala) == 1
    tour = top_level(gm, "Harbour Tasting Tour")[0]
    assert sorted(s["name"] for s in children(gm, tour["id"])) == ["Session A", "Session B"]
    weekly = top_level(gm, "Pier Jazz Nights")[0]
    dates = children(gm, weekly["id"])
    assert {d["start"]["local"][:10] for d in dates} >= {"2027-05-03", "2027-05-05"}

    with time_machine.travel(BEFORE_THE_EXAMPLES):
        again, error = run(events, "--comps", comps)
    assert error is None, again
    assert "3 events: 0 created, 0 updated, 0 retried, 3 unchanged, 0 failed." in again
    assert "Comps: 0 issued, 3 already issued, 0 not issued." in again
    assert ", operation " not in again  # nothing changed, so no work was started
    assert len(top_level(gm, "Spring Gala")) == 1
    assert len(children(gm, weekly["id"])) == len(dates)
    comp_tickets = gm.list_tickets(filters={"event_ids": [gala[0]["id"]]}).data
    assert [t["email"] for t in comp_tickets] == ["jane@example.com"]


def test_rerun_updates_what_changed_and_duplicates_nothing(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end = at(600), at(600, 23)
    rows = [
        f"gala-{tag},date,Gala {tag},{VENUE},{start},{end},,,,,,,,GA,{GA},40,100",
        f"tour-{tag},parent,Tour {tag},{VENUE},{start},{end},,A,{start},{at(600, 21)}"
        f",,,,GA,{GA},50,50",
    ]
    first, error = run(csv_file(tmp_path, rows))
    assert error is None, first
    assert "2 created" in first
    tour = top_level(gm, f"Tour {tag}")[0]

    changed = [
        rows[0].replace(",40,100", ",45,100"),
        f"gala-{tag},,,,,,,,,,,,,VIP,{NAMED},90,10",
        rows[1],
        f"tour-{tag},,,,,,,B,{at(600, 21)},{end},,,,GA,{GA},50,50",
    ]
    second, error = run(csv_file(tmp_path, changed))
    assert error is None, second
    assert "2 events: 0 created, 2 updated, 0 retried, 0 unchanged, 0 failed." in second
    gala = top_level(gm, f"Gala {tag}")
    assert len(gala) == 1
    types = gm.get_event(gala[0]["id"], include="registration_types")["registration_types"]
    assert {t["name"]: t["price"] for t in types} == {"GA": "45.0", "VIP": "90.0"}
    sessions = children(gm, tour["id"])
    assert sorted(s["name"] for s in sessions) == ["A", "B"]
    assert all(len(s["registration_types"]) == 1 for s in sessions)

    third, error = run(csv_file(tmp_path, changed))
    assert error is None and "2 unchanged" in third
    assert len(top_level(gm, f"Gala {tag}")) == len(top_level(gm, f"Tour {tag}")) == 1


def test_bad_rows_name_their_line_and_the_apis_message(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end = at(610), at(610, 22)
    rows = [
        f"ok-{tag},date,Fine {tag},{VENUE},{start},{end},,,,,,,,GA,{GA},10,10",  # line 2
        f"venue-{tag},date,Nowhere {tag},999999,{start},{end},,,,,,,,GA,{GA},10,10",  # 3
        f"types-{tag},date,Types {tag},{VENUE},{start},{end},,,,,,,,GA,{GA},10,10",  # 4
        f"types-{tag},,,,,,,,,,,,,VIP,424242,30,5",  # 5: no such ticket type
        f"times-{tag},date,Backwards {tag},{VENUE},{end},{start},,,,,,,,GA,{GA},10,10",  # 6
        f"price-{tag},date,Priced {tag},{VENUE},{start},{end},,,,,,,,GA,{GA},ten,10",  # 7
        f"tour-{tag},parent,Tour {tag},{VENUE},{start},{end},,A,{start},{end},,,,GA,{GA},5,5",
        f"tour-{tag},,,,,,,A,,,,,,VIP,424242,9,5",  # 9: a session's type
        f"late-{tag},date,Later {tag},{VENUE},{start},{end},,,,,,,,GA,{GA},10,10",  # 10
    ]
    out, error = run(csv_file(tmp_path, rows))
    assert error is not None
    assert "line 3: venue_id 999999 is invalid" in out
    assert "line 5: ticket_type_id 424242 is invalid" in out
    assert "line 6: ends_at must be after starts_at" in out
    assert re.search(r"line 7: price must be a number .*'ten'", out)
    assert "line 9: ticket_type_id 424242 is invalid" in out
    assert (
        "9 events" not in out
        and "7 events: 2 created, 0 updated, 0 retried, 0 unchanged, 5 failed." in out
    )
    assert len(top_level(gm, f"Fine {tag}")) == len(top_level(gm, f"Later {tag}")) == 1
    assert not top_level(gm, f"Types {tag}") and not top_level(gm, f"Tour {tag}")


def test_default_waits_for_the_tickets_phase_only(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    importing.control("POST", "operations", {"event_name": f"Slow {tag}", "hold": "inventory"})
    rows = [f"slow-{tag},date,Slow {tag},{VENUE},{at(620)},{at(620, 22)},,,,,,,,GA,{GA},10,10"]
    comps = csv_file(tmp_path, [f"slow-{tag},,{GA},Pat Comp,pat@example.com,no"], COMP_HEADER)
    out, error = run(csv_file(tmp_path, rows), "--comps", comps)
    assert error is None, out
    assert "tickets completed, inventory running" in out
    assert re.search(
        r"tickets ready: event \d+ can take tickets now; still running: inventory", out
    )
    assert "Comps: 1 issued" in out
    event = top_level(gm, f"Slow {tag}")[0]
    state = importing.control("GET", f"events/{event['id']}/operations/latest")
    assert state["held"] and state["data"]["status"] == "running"


def test_wait_all_waits_for_every_phase(importing, gm, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:6]
    name = f"Whole {tag}"
    importing.control("POST", "operations", {"event_name": name, "hold": "publish"})
    rows = [f"whole-{tag},date,{name},{VENUE},{at(630)},{at(630, 22)},,,,,,,,GA,{GA},10,10"]
    waits_past_tickets = 0

    def release_once_past_tickets() -> None:
        # Each wait is followed by a poll: once a wait finds the tickets phase done, the poll
        # after it sees so too, and a further wait means the importer went on waiting. Only
        # then is the held phase let go: an importer that stopped at tickets never gets here.
        nonlocal waits_past_tickets
        event_id, operation = _latest_operation(importing, gm, name)
        if _phase_done(operation, "tickets"):
            waits_past_tickets += 1
            if waits_past_tickets == 2:
                _release(importing, event_id)

    _act_while_waiting(monkeypatch, release_once_past_tickets)
    out, error = run(csv_file(tmp_path, rows), "--wait-all")
    assert error is None, out
    assert waits_past_tickets >= 2  # it waited past the tickets phase
    assert "publish running" in out and "done: every phase of event" in out
    assert "tickets ready" not in out


def _act_while_waiting(monkeypatch, act: Callable[[], None]) -> None:
    """Call ``act`` after each of the importer's waits, before it polls again."""

    def sleep(seconds: float) -> None:
        time.sleep(seconds)  # the sandbox's phases advance in real time, in its own process
        act()

    monkeypatch.setattr(eventsync, "Importer", functools.partial(eventsync.Importer, sleep=sleep))


def _latest_operation(sandbox, gm, name: str) -> tuple[int, dict]:
    event_id = top_level(gm, name)[0]["id"]
    return event_id, sandbox.control("GET", f"events/{event_id}/operations/latest")["data"]


def _phase_done(operation: dict, phase: str) -> bool:
    return any(p["name"] == phase and p["status"] == "completed" for p in operation["phases"])


def _release(sandbox, event_id: int) -> None:
    sandbox.control("POST", f"events/{event_id}/operations/latest", {"release": True})


def test_a_failing_phase_is_reported_with_its_code(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    plan = {
        "event_name": f"Broken {tag}",
        "fail": "inventory",
        "code": "INVENTORY_RECONCILE_RAISED",
    }
    importing.control("POST", "operations", plan)
    rows = [
        f"broken-{tag},date,Broken {tag},{VENUE},{at(640)},{at(640, 22)},,,,,,,,GA,{GA},10,10",
        f"fine-{tag},date,Fine {tag},{VENUE},{at(641)},{at(641, 22)},,,,,,,,GA,{GA},10,10",
    ]
    out, error = run(csv_file(tmp_path, rows), "--wait-all")
    assert error is not None
    assert "FAILED in phase inventory: INVENTORY_RECONCILE_RAISED" in out
    assert "(its tickets phase had completed)" in out
    assert (
        "2 events: 2 created, 0 updated, 0 retried, 0 unchanged, 1 failed." not in out
    )  # counted once
    assert "2 events: 1 created, 0 updated, 0 retried, 0 unchanged, 1 failed." in out


def test_comps_are_skipped_for_an_event_whose_tickets_phase_failed(importing, tmp_path):
    tag = uuid.uuid4().hex[:6]
    plan = {"event_name": f"Doomed {tag}", "fail": "tickets", "code": "TICKETS_BUILD_RAISED"}
    importing.control("POST", "operations", plan)
    rows = [
        f"doomed-{tag},date,Doomed {tag},{VENUE},{at(650)},{at(650, 22)},,,,,,,,GA,{GA},10,10",
        f"fine-{tag},date,Fine {tag},{VENUE},{at(651)},{at(651, 22)},,,,,,,,GA,{GA},10,10",
    ]
    comps = csv_file(
        tmp_path,
        [
            f"doomed-{tag},,{GA},Ann,ann@example.com,no",  # line 2
            f"fine-{tag},,{GA},Bo,bo@example.com,yes",  # line 3
            f"missing-{tag},,{GA},Cy,,no",  # line 4
            f"fine-{tag},,{GA},,,no",  # line 5
        ],
        COMP_HEADER,
    )
    out, error = run(csv_file(tmp_path, rows), "--comps", comps)
    assert error is not None
    assert "FAILED in phase tickets: TICKETS_BUILD_RAISED" in out
    assert re.search(r"comps line 2: skipped: event 'doomed-\w+' isn't ready", out)
    assert re.search(r"comps line 3: issued ticket \d+", out)
    assert "comps line 4: no event with external_id" in out
    assert "comps line 5: Give the ticket holder's name or email." in out


def test_a_409_while_an_operation_runs_is_waited_out(importing, gm, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:6]
    importing.control("POST", "operations", {"event_name": f"Busy {tag}", "hold": "inventory"})
    row = f"busy-{tag},date,Busy {tag},{VENUE},{at(660)},{at(660, 22)},,,,,,,,GA,{GA},10,10"
    out, error = run(csv_file(tmp_path, [row]))
    assert error is None and "tickets ready" in out
    importing.control("POST", "operations", {"reset": True})

    released: list[int] = []

    def release_once() -> None:  # the first wait is for the running operation (a 409)
        if not released:
            released.append(_latest_operation(importing, gm, f"Busy {tag}")[0])
            _release(importing, released[0])

    _act_while_waiting(monkeypatch, release_once)
    out, error = run(csv_file(tmp_path, [row.replace(",10,10", ",12,10")]))
    assert error is None, out
    assert "busy with another operation; waiting for it" in out
    assert re.search(r"updated event \d+ 'Busy \w+' \(GA price\), operation \d+", out)
    assert "FAILED" not in out and "1 updated" in out
    event = top_level(gm, f"Busy {tag}")[0]
    types = gm.get_event(event["id"], include="registration_types")["registration_types"]
    assert types[0]["price"] == "12.0"


def test_recurring_dates_follow_the_rule_and_take_comps(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start = datetime.fromisoformat(at(700, 18))
    monday = start - timedelta(days=start.weekday())
    rows = [
        f"weekly-{tag},recurring,Weekly {tag},{VENUE},{monday.isoformat()},"
        f"{(monday + timedelta(hours=2)).isoformat()},,,,,week,mon wed,4,Seat,{GA},15,20"
    ]
    wednesday = (monday + timedelta(days=2)).astimezone(UTC).date().isoformat()
    comps = csv_file(
        tmp_path, [f"weekly-{tag},{wednesday},{GA},Dee,dee@example.com,no"], COMP_HEADER
    )
    out, error = run(csv_file(tmp_path, rows), "--comps", comps)
    assert error is None, out
    template = top_level(gm, f"Weekly {tag}")[0]
    assert template["type"] == "recurring"
    assert len(children(gm, template["id"])) == 4
    assert "recurrences completed" in out and "Comps: 1 issued" in out


def test_merchant_option_uses_that_merchants_key(importing, gm, tmp_path):
    northwind = make_merchant(
        "northwind-import", "Northwind", importing.api_url, settings.SANDBOX["COMPANY2_WRITE_KEY"]
    )
    with importing.client(settings.SANDBOX["COMPANY2_WRITE_KEY"]) as theirs:
        arena = next(v for v in theirs.list_venues() if v["name"] == "Northwind Arena")
        opening = top_level(theirs, "Northwind Opening Night")[0]
        floor = theirs.get_event(opening["id"], include="registration_types.ticket_type")
        ticket_type = floor["registration_types"][0]["ticket_type"]["id"]
        tag = uuid.uuid4().hex[:6]
        row = (
            f"nw-{tag},date,Late Show {tag},{arena['id']},{at(670)},{at(670, 22)},"
            f",,,,,,,Floor,{ticket_type},30,40"
        )
        out, error = run(csv_file(tmp_path, [row]), "--merchant", northwind.slug)
        assert error is None, out
        assert len(top_level(theirs, f"Late Show {tag}")) == 1
    assert not top_level(gm, f"Late Show {tag}")
    _, error = run(csv_file(tmp_path, [row]), "--merchant", "nobody")
    assert error is not None and "No merchant 'nobody'" in str(error)


def test_file_problems_stop_before_any_call(importing, tmp_path):
    _, error = run(csv_file(tmp_path, ["x,date"], "external_id,kind"))
    assert error is not None and "Unknown column(s): kind" in str(error)
    _, error = run(tmp_path / "absent.csv")
    assert error is not None and "Can't read" in str(error)


def test_rows_of_one_event_must_agree():
    text = "\n".join(
        [
            HEADER,
            f"a,date,A,{VENUE},{at(5)},{at(5, 22)},,,,,,,,GA,{GA},1,1",
            f"a,date,B,{VENUE},,,,,,,,,,VIP,{GA},2,1",
            f"a,,,,,,,S,,,,,,X,{GA},2,1",
            f",date,C,{VENUE},{at(5)},{at(5, 22)},,,,,,,,GA,{GA},1,1",
        ]
    )
    first, orphan = eventimport.read_events(text)
    assert [(p.line, p.message) for p in first.problems] == [
        (3, "name differs from line 2 of this event."),
        (4, "session is for type parent only."),
    ]
    assert orphan.problems[0].line == 5 and "external_id" in orphan.problems[0].message


FULL_HEADER = (
    "external_id,type,name,venue_id,starts_at,ends_at,capacity,repeat_unit,repeat_days,"
    "repeat_count,registration_type,ticket_type_id,price,inventory,order_min,order_max"
)


def test_values_nobody_could_sell_are_refused_by_line_before_any_call(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end = at(620), at(620, 22)
    rows = [
        f"neg-{tag},date,Negative {tag},{VENUE},{start},{end},,,,,GA,{GA},-5.00,10,,",  # 2
        f"cap-{tag},date,Capacity {tag},{VENUE},{start},{end},-10,,,,GA,{GA},5,10,,",  # 3
        f"inv-{tag},date,Inventory {tag},{VENUE},{start},{end},,,,,GA,{GA},5,-3,,",  # 4
        f"lim-{tag},date,Limits {tag},{VENUE},{start},{end},,,,,GA,{GA},5,10,5,2",  # 5
        f"cent-{tag},date,Cents {tag},{VENUE},{start},{end},,,,,GA,{GA},5.005,10,,",  # 6
        f"rec-{tag},recurring,Forever {tag},{VENUE},{start},{end},,week,mon,,GA,{GA},5,10,,",
        f"ok-{tag},date,Fine {tag},{VENUE},{start},{end},100,,,,GA,{GA},0,10,1,4",  # 8
    ]
    before = importing.control("GET", "stats")["by_route"].get(
        "POST sandbox/api/public/v2/events", 0
    )
    out, error = run(csv_file(tmp_path, rows, FULL_HEADER))
    assert error is not None
    assert "line 2: price must not be below zero, not -5.00." in out
    assert "line 3: capacity must be at least 1, not -10." in out
    assert "line 4: inventory must be at least 0, not -3." in out
    assert "line 5: order_min (5) is more than order_max (2): nobody could buy this type." in out
    assert "line 6: price has at most two decimals (cents), not 5.005." in out
    assert "line 7: A recurring event needs repeat_until or repeat_count" in out
    after = importing.control("GET", "stats")["by_route"].get(
        "POST sandbox/api/public/v2/events", 0
    )
    assert after == before + 1  # only the fine one was sent
    assert len(top_level(gm, f"Fine {tag}")) == 1
    for name in ("Negative", "Capacity", "Inventory", "Limits", "Cents", "Forever"):
        assert not top_level(gm, f"{name} {tag}"), name


def test_a_file_that_is_not_utf8_names_its_line_and_likely_encoding(importing, tmp_path):
    path = tmp_path / "latin.csv"
    rows = [HEADER, f"a,date,Fine,{VENUE},{at(5)},{at(5, 22)},,,,,,,,GA,{GA},1,1"]
    rows.append(f"b,date,Caf\u00e9 Night,{VENUE},{at(5)},{at(5, 22)},,,,,,,,GA,{GA},1,1")
    path.write_bytes("\n".join(rows).encode("cp1252"))
    _, error = run(path)
    assert error is not None
    message = str(error)
    assert message.startswith("latin.csv, line 3: the file is not UTF-8")
    assert "Windows-1252" in message and "CSV UTF-8" in message
    assert "codec" not in message


def test_cells_a_spreadsheet_would_run_are_warned_about_by_line(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    rows = [f"f-{tag},date,=HYPERLINK(1) {tag},{VENUE},{at(630)},{at(630, 22)},,,,,,,,@GA,{GA},1,1"]
    out, error = run(csv_file(tmp_path, rows))
    assert error is None, out
    assert "line 2: warning: name starts with '='" in out
    assert "line 2: warning: registration_type starts with '@'" in out
    assert len(top_level(gm, f"=HYPERLINK(1) {tag}")) == 1  # still published, as written


# --- re-runs know what earlier runs left ------------------------------------------------


def _row(key: str, name: str, days: int, price: int = 10) -> str:
    return f"{key},date,{name},{VENUE},{at(days)},{at(days, 22)},,,,,,,,GA,{GA},{price},10"


def _settled(sandbox, gm, name: str, status: str) -> None:
    """Wait (polling the sandbox) until the event's latest operation has that status."""
    eventually(
        lambda: _latest_operation(sandbox, gm, name)[1]["status"] == status,
        f"{name}'s operation {status}",
    )


def test_a_rerun_reports_a_failed_tickets_phase_and_retries_it(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    name = f"Retry {tag}"
    plan = {"event_name": name, "fail": "tickets", "code": "TICKETS_BUILD_RAISED"}
    importing.control("POST", "operations", plan)
    file = csv_file(tmp_path, [_row(f"retry-{tag}", name, 680)])
    out, error = run(file)
    assert error is not None and error.returncode == 1
    assert "FAILED in phase tickets: TICKETS_BUILD_RAISED" in out

    again, error = run(file)  # the fault is still there: reported, retried, failed again
    assert error is not None and error.returncode == 1, again
    assert re.search(
        r"line 2  retry-\w+: event \d+'s operation \d+ \(from an earlier run\) FAILED in "
        r"phase tickets: TICKETS_BUILD_RAISED; sending the event again",
        again,
    )
    assert "up to date" not in again and "1 failed." in again

    importing.control("POST", "operations", {"reset": True})
    mended, error = run(file)
    assert error is None, mended
    assert re.search(r"retried event \d+ 'Retry \w+', operation \d+", mended)
    assert "done: every phase of event" in mended  # a retry is followed to the end
    assert "0 updated, 1 retried, 0 unchanged, 0 failed." in mended

    quiet, error = run(file)
    assert error is None and "is up to date" in quiet and "operation" not in quiet


def test_an_inventory_failure_after_the_run_is_reported_by_the_next(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    name = f"Stock {tag}"
    plan = {"event_name": name, "fail": "inventory", "code": "INVENTORY_RECONCILE_RAISED"}
    importing.control("POST", "operations", plan)
    file = csv_file(tmp_path, [_row(f"stock-{tag}", name, 681)])
    out, error = run(file)
    assert error is None, out  # tickets were ready when the run ended
    assert re.search(r"Still running: operation \d+ of event \d+ \(stock-\w+\)", out)
    _settled(importing, gm, name, "failed")

    again, error = run(file)
    assert error is not None and error.returncode == 1, again
    assert "FAILED in phase inventory: INVENTORY_RECONCILE_RAISED; sending the event again" in again
    assert re.search(
        r"  FAILED in phase inventory: INVENTORY_RECONCILE_RAISED .*\(its tickets", again
    )

    importing.control("POST", "operations", {"reset": True})
    mended, error = run(file)
    assert error is None, mended
    assert "1 retried" in mended and "done: every phase of event" in mended


def test_a_rerun_follows_an_operation_that_is_still_running(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    name = f"Held {tag}"
    importing.control("POST", "operations", {"event_name": name, "hold": "tickets"})
    file = csv_file(tmp_path, [_row(f"held-{tag}", name, 682)])
    out, error = run(file, "--timeout", "0.3")
    assert error is not None and "gave up waiting" in out

    again, error = run(file, "--timeout", "0.3")
    assert error is not None and error.returncode == 1, again  # not "up to date"
    assert re.search(
        r"event \d+'s operation \d+ \(from an earlier run\) is still running \(tickets "
        r"running\); following it",
        again,
    )
    assert "gave up waiting" in again
    assert re.search(r"Still running: operation \d+ of event \d+ \(held-", again)

    _release(importing, _latest_operation(importing, gm, name)[0])
    done, error = run(file)
    assert error is None, done
    assert "following it" in done or "has completed" in done
    assert "0 failed." in done


def test_ctrl_c_says_what_was_sent_what_runs_and_what_was_not(importing, gm, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:6]
    first, second, third = f"One {tag}", f"Two {tag}", f"Three {tag}"
    importing.control("POST", "operations", {"event_name": second, "hold": "tickets"})
    file = csv_file(
        tmp_path,
        [
            _row(f"one-{tag}", first, 683),  # line 2
            _row(f"two-{tag}", second, 684),  # line 3
            _row(f"three-{tag}", third, 685),  # line 4
        ],
    )
    comps = csv_file(tmp_path, [f"one-{tag},,{GA},Ida,ida@example.com,no"], COMP_HEADER)

    def press_ctrl_c_while_the_second_is_followed() -> None:
        if top_level(gm, second):
            raise KeyboardInterrupt

    _act_while_waiting(monkeypatch, press_ctrl_c_while_the_second_is_followed)
    out, error = run(file, "--comps", comps)
    assert error is not None and error.returncode == 130, out
    assert "Traceback" not in out
    two = top_level(gm, second)[0]["id"]
    assert "Interrupted. Sent before the stop:" in out
    assert re.search(rf"created: event \d+ \(one-{tag}, line 2\)", out)
    assert f"created: event {two} (two-{tag}, line 3)" in out
    assert re.search(rf"Still running: operation \d+ of event {two} \(two-{tag}\)", out)
    assert f"not sent: line 4 (three-{tag})" in out
    assert "comps not issued: line(s) 2" in out
    assert not top_level(gm, third)

    monkeypatch.undo()
    importing.control("POST", "operations", {"reset": True})
    _release(importing, two)
    again, error = run(file, "--comps", comps)
    assert error is None, again
    assert re.search(rf"event {two}'s operation \d+ \(from an interrupted run\)", again)
    assert "1 created" in again and "Comps: 1 issued" in again


def test_a_poll_schedule_under_the_floor_is_refused(importing, tmp_path, settings):
    settings.IMPORT_MIN_POLL_SECONDS = 1.0
    file = csv_file(tmp_path, [_row("x", "Never sent", 686)])
    for schedule in ("0", "1,0", "0.5", "nan", "-1"):
        out = io.StringIO()
        with pytest.raises(CommandError, match="seconds of at least 1"):
            call_command("import_events", str(file), "--poll-schedule", schedule, stdout=out)


def test_the_import_waits_for_the_shared_budget_and_says_so(importing, gm, tmp_path, settings):
    from infra import budget, upstream

    settings.UPSTREAM_BUDGET_PER_MINUTE = 600  # 100 ms a call
    settings.UPSTREAM_SYNC_RESERVE = 0
    settings.UPSTREAM_BUDGET_BURST = 40
    shop = upstream.budget.for_api(settings.GM_API_URL, settings.GM_API_KEY)
    for _ in range(25):
        shop.take()  # checkouts have booked the next 2.5 s
    tag = uuid.uuid4().hex[:6]
    out, error = run(csv_file(tmp_path, [_row(f"late-{tag}", f"Late {tag}", 687)]))
    assert error is None, out
    assert re.search(r"waiting about [23] s for the shared API budget", out)
    assert out.index("waiting about") < out.index("created event")
    assert budget.stats.snapshot()["batch_waited"] >= 1


PAST_HEADER = (
    "external_id,type,name,venue_id,starts_at,ends_at,session,session_starts_at,"
    "session_ends_at,repeat_unit,repeat_days,repeat_until,registration_type,ticket_type_id,"
    "price,inventory"
)


def calls(sandbox, method: str, route: str) -> int:
    """Requests the sandbox has answered on an API route, e.g. ("GET", "venues/<str:venue_id>")."""
    by_route = sandbox.control("GET", "stats")["by_route"]
    return by_route.get(f"{method} sandbox/api/public/v2/{route}", 0)


LOCAL_HEADER = (
    "external_id,type,name,venue_id,time_zone,starts_at,ends_at,session,session_starts_at,"
    "session_ends_at,repeat_unit,repeat_days,repeat_until,registration_type,ticket_type_id,"
    "price,inventory"
)


def test_what_has_ended_is_refused_by_line_and_what_has_begun_is_warned(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    rows = [
        f"old-{tag},date,Old {tag},{VENUE},{at(-3)},{at(-3, 22)},,,,,,,GA,{GA},5,10",  # 2
        f"on-{tag},date,Under way {tag},{VENUE},{at(-1)},{at(2)},,,,,,,GA,{GA},5,10",  # 3
        f"tour-{tag},parent,Tour {tag},{VENUE},{at(-2)},{at(9)},Early,{at(-2)},"
        f"{at(-2, 21)},,,,GA,{GA},5,10",  # 4
        f"tour-{tag},,,,,,Late,{at(9)},{at(9, 21)},,,,GA,{GA},5,10",  # 5
        f"weekly-{tag},recurring,Weekly {tag},{VENUE},{at(-30)},{at(-30, 21)},,,,week,mon,"
        f"{at(-2)[:10]},GA,{GA},5,10",  # 6
    ]
    out, error = run(csv_file(tmp_path, rows, PAST_HEADER))
    assert error is not None and error.returncode == 1
    assert re.search(r"line 2: ends_at \S+ is in the past \(now: [^)]+\): an event that", out)
    assert re.search(r"line 3: warning: starts_at \S+ has passed: it is under way", out)
    assert re.search(r"line 4: Session 'Early' ended at \S+, in the past", out)
    assert re.search(r"line 6: repeat_until \S+ is in the past", out)
    assert "4 events: 1 created" in out
    assert len(top_level(gm, f"Under way {tag}")) == 1
    for name in ("Old", "Tour", "Weekly"):
        assert not top_level(gm, f"{name} {tag}"), name


def test_times_without_an_offset_are_the_venues_local_time(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    rows = [  # Harbor Hall is in New York: EDT (-04:00) in July, EST (-05:00) in January
        f"summer-{tag},date,Summer {tag},{VENUE},,2031-07-15T19:00:00,2031-07-15T22:00:00"
        f",,,,,,,GA,{GA},10,10",
        f"winter-{tag},date,Winter {tag},{VENUE},,2031-01-15T19:00:00,2031-01-15T22:00:00"
        f",,,,,,,GA,{GA},10,10",
        f"london-{tag},date,London {tag},{VENUE},Europe/London,2031-07-15T19:00:00,"
        f"2031-07-15T22:00:00,,,,,,,GA,{GA},10,10",
        f"offset-{tag},date,Offset {tag},{VENUE},,2031-07-15T19:00:00+02:00,"
        f"2031-07-15T22:00:00+02:00,,,,,,,GA,{GA},10,10",
        f"tour-{tag},parent,Tour {tag},{VENUE},,2031-07-16T17:00:00,2031-07-16T22:00:00,A,"
        f"2031-07-16T17:00:00,2031-07-16T19:00:00,,,,GA,{GA},10,10",
        f"weekly-{tag},recurring,Weekly {tag},{VENUE},,2031-07-07T18:00:00,2031-07-07T20:00:00"
        f",,,,week,mon,2031-07-21,Seat,{GA},10,10",
        # Mondays 21:00 in New York, given in UTC: repeat_until still ends in New York.
        f"late-{tag},recurring,Late {tag},{VENUE},,2031-07-08T01:00:00Z,2031-07-08T03:00:00Z"
        f",,,,week,mon,2031-07-21,Seat,{GA},10,10",
    ]
    path = csv_file(tmp_path, rows, LOCAL_HEADER)
    lookups = calls(importing, "GET", "venues/<str:venue_id>")
    out, error = run(path)
    assert error is None, out
    assert calls(importing, "GET", "venues/<str:venue_id>") == lookups + 1  # once per venue

    def start(name: str) -> str:
        return top_level(gm, f"{name} {tag}")[0]["start"]["utc"]

    assert start("Summer") == "2031-07-15T23:00:00Z"
    assert start("Winter") == "2031-01-16T00:00:00Z"
    assert start("London") == "2031-07-15T18:00:00Z"  # its time_zone column: BST, +01:00
    assert start("Offset") == "2031-07-15T17:00:00Z"  # an offset is kept as written
    session = children(gm, top_level(gm, f"Tour {tag}")[0]["id"])[0]
    assert session["start"]["utc"] == "2031-07-16T21:00:00Z"
    for name, hour in (("Weekly", 18), ("Late", 21)):
        dates = children(gm, top_level(gm, f"{name} {tag}")[0]["id"])
        # Mondays in New York up to and with the repeat_until day there.
        assert sorted(d["start"]["local"] for d in dates) == [
            f"2031-07-{day}T{hour}:00:00-04:00" for day in ("07", "14", "21")
        ]

    again, error = run(path)
    assert error is None, again
    assert "7 events: 0 created, 0 updated, 0 retried, 7 unchanged, 0 failed." in again


def test_local_times_the_clocks_skip_or_repeat_are_refused_by_line(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    rows = [  # New York: clocks go forward at 02:00 on 2031-03-09, back at 02:00 on 2031-11-02
        f"gap-{tag},date,Gap {tag},{VENUE},,2031-03-09T02:30:00,2031-03-09T05:00:00"
        f",,,,,,,GA,{GA},10,10",  # line 2
        f"fold-{tag},date,Fold {tag},{VENUE},,2031-11-02T00:00:00,2031-11-02T01:30:00"
        f",,,,,,,GA,{GA},10,10",  # line 3
        f"tz-{tag},date,Zone {tag},{VENUE},Mars/Olympus,2031-07-15T19:00:00,"
        f"2031-07-15T22:00:00,,,,,,,GA,{GA},10,10",  # line 4
        f"tour-{tag},parent,Tour {tag},{VENUE},America/New_York,2031-11-01T20:00:00,"
        f"2031-11-02T03:00:00,A,2031-11-01T20:00:00,2031-11-01T22:00:00,,,,GA,{GA},10,10",
        f"tour-{tag},,,,,,,B,2031-11-02T01:00:00,2031-11-02T03:00:00,,,,GA,{GA},10,10",  # 6
        f"ok-{tag},date,Fine {tag},{VENUE},,2031-11-02T02:00:00,2031-11-02T04:00:00"
        f",,,,,,,GA,{GA},10,10",  # line 7: 02:00 comes once, after the fold
    ]
    created = calls(importing, "POST", "events")
    out, error = run(csv_file(tmp_path, rows, LOCAL_HEADER))
    assert error is not None
    assert (
        "line 2: starts_at 2031-03-09T02:30:00 does not exist in America/New_York: the clocks "
        "go forward that night (from -05:00 to -04:00). Give a time that exists."
    ) in out
    assert (
        "line 3: ends_at 2031-11-02T01:30:00 happens twice in America/New_York (the clocks go "
        "back that night): write the one meant with its offset, 2031-11-02T01:30:00-04:00 or "
        "2031-11-02T01:30:00-05:00."
    ) in out
    assert "line 4: time_zone must be a time zone name like America/New_York" in out
    assert "line 6: session_starts_at 2031-11-02T01:00:00 happens twice" in out
    assert calls(importing, "POST", "events") == created + 1  # only the fine one
    assert top_level(gm, f"Fine {tag}")[0]["start"]["utc"] == "2031-11-02T07:00:00Z"
    for name in ("Gap", "Fold", "Zone", "Tour"):
        assert not top_level(gm, f"{name} {tag}"), name


def test_an_unknown_venue_for_local_times_is_refused_by_line(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    rows = [
        f"a-{tag},date,Nowhere {tag},999999,,2031-07-15T19:00:00,2031-07-15T22:00:00"
        f",,,,,,,GA,{GA},10,10",
        f"b-{tag},date,Nowhere again {tag},999999,,2031-07-16T19:00:00,2031-07-16T22:00:00"
        f",,,,,,,GA,{GA},10,10",
    ]
    lookups = calls(importing, "GET", "venues/<str:venue_id>")
    out, error = run(csv_file(tmp_path, rows, LOCAL_HEADER))
    assert error is not None
    assert "line 2: venue_id 999999 is not a venue of this account" in out
    assert "line 3: venue_id 999999 is not a venue of this account" in out
    assert calls(importing, "GET", "venues/<str:venue_id>") == lookups + 1


def test_an_inventory_edit_on_an_existing_type_is_said_not_applied(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end = at(680), at(680, 22)
    gala = f"gala-{tag},date,Gala {tag},{VENUE},{start},{end},,,,,,,,"
    first, error = run(csv_file(tmp_path, [gala + f"GA,{GA},40,100", gala + f"VIP,{NAMED},90,50"]))
    assert error is None, first

    fewer = [gala + f"GA,{GA},40,100", gala + f"VIP,{NAMED},90,40"]
    out, error = run(csv_file(tmp_path, fewer))
    assert error is None, out
    assert (
        "line 3: inventory 40 for 'VIP' not applied: the type exists with 50 in stock and "
        "tickets may have sold; change stock in Guest Manager."
    ) in out
    assert re.search(r"event \d+ is up to date but for the inventory noted above", out)
    assert "1 unchanged" in out

    dearer = [gala + f"GA,{GA},40,100", gala + f"VIP,{NAMED},95,40"]
    out, error = run(csv_file(tmp_path, dearer))
    assert error is None, out
    assert "line 3: inventory 40 for 'VIP' not applied" in out
    assert re.search(rf"updated event \d+ 'Gala {tag}' \(VIP price\), operation", out)
    event = top_level(gm, f"Gala {tag}")[0]
    types = gm.get_event(event["id"], include="registration_types.stock_item")
    stock = {t["name"]: t["stock_item"]["available"] for t in types["registration_types"]}
    assert stock == {"GA": 100, "VIP": 50}


def test_an_update_names_what_it_changed(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end, middle = at(690), at(690, 23), at(690, 21)
    header = (
        "external_id,type,name,venue_id,starts_at,ends_at,capacity,session,session_starts_at,"
        "session_ends_at,registration_type,ticket_type_id,price,inventory,order_max"
    )
    gala = f"gala-{tag},date,Gala {tag},{VENUE},{start},{end}"
    tour = f"tour-{tag},parent,Tour {tag},{VENUE},{start},{end},"
    rows = [
        f"{gala},100,,,,GA,{GA},40,100,",
        f"{tour},A,{start},{middle},GA,{GA},50,50,",
    ]
    first, error = run(csv_file(tmp_path, rows, header))
    assert error is None, first
    changed = [
        f"{gala},120,,,,GA,{GA},45,100,4",
        f"gala-{tag},,,,,,,,,,VIP,{NAMED},90,10,",
        f"{tour},A,{at(690, 20)},{middle},GA,{GA},55,50,",
        f"tour-{tag},,,,,,,B,{middle},{end},GA,{GA},50,50,",
    ]
    out, error = run(csv_file(tmp_path, changed, header))
    assert error is None, out
    assert re.search(
        rf"updated event \d+ 'Gala {tag}' \(capacity, GA price, GA order_max, VIP added\)", out
    )
    assert re.search(
        rf"updated event \d+ 'Tour {tag}' "
        r"\(session A starts_at, session A GA price, session B added\)",
        out,
    )


def test_the_apis_wording_is_put_in_the_files_columns(importing, gm, tmp_path):
    tag = uuid.uuid4().hex[:6]
    start, end, later = at(710, 18), at(710, 20), at(710, 22)
    header = LOCAL_HEADER.replace("repeat_until", "repeat_count")
    rows = [
        f"rec-{tag},recurring,Fortnightly {tag},{VENUE},,{start},{end},,,,fortnight,,3,"
        f"Seat,{GA},15,20",  # line 2
        f"tour-{tag},parent,Tour {tag},{VENUE},,{start},{later},A,{start},{end},,,,"
        f"GA,{GA},5,5",  # line 3
        f"tour-{tag},,,,,,,B,,,,,,GA,{GA},5,5",  # line 4: session B has no times
        f"days-{tag},recurring,Days {tag},{VENUE},,{start},{end},,,,week,mon funday,3,"
        f"Seat,{GA},15,20",  # line 5
        f"ok-{tag},date,Fine {tag},{VENUE},,{start},{end},,,,,,,GA,{GA},5,5",  # line 6
        f"ok-{tag},,,,,,,,,,,,,VIP,424242,5,5",  # line 7
    ]
    out, error = run(csv_file(tmp_path, rows, header))
    assert error is not None
    # The API says "Recurrences[0].repeat unit is not included in the list", "Sessions[1].starts
    # at can't be blank", "Recurrences[0].days ..." and "Ticket type is invalid".
    assert "line 2: repeat_unit 'fortnight' is not included in the list" in out
    assert "line 4: session_starts_at can't be blank" in out
    assert "line 4: session_ends_at can't be blank" in out
    assert "line 5: repeat_days 'monday funday' is not included in the list" in out
    assert "line 7: ticket_type_id 424242 is invalid" in out
    assert "Recurrences[" not in out and "Sessions[" not in out


def test_without_a_terminal_a_long_wait_says_so_every_ten_seconds(
    importing, gm, tmp_path, monkeypatch
):
    tag = uuid.uuid4().hex[:6]
    name = f"Long {tag}"
    importing.control("POST", "operations", {"event_name": name, "hold": "tickets"})
    clock = [0.0]  # the importer's seconds: its waits pass them without waiting
    written: list[tuple[float, str]] = []
    seen: list[tuple[float, list]] = []  # (since when, the operation's phases)
    released: list[float] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        time.sleep(0.01)  # the sandbox's phases advance in real time, in its own process
        if released or not top_level(gm, name):
            return
        event_id, operation = _latest_operation(importing, gm, name)
        if not seen or seen[-1][1] != operation["phases"]:
            seen.append((clock[0], operation["phases"]))
        elif clock[0] - seen[-1][0] >= 60:  # a minute stuck where it is held: let it go
            _release(importing, event_id)
            released.append(clock[0])

    real = eventsync.Importer

    def importer(client, write, **options) -> eventsync.Importer:
        def timed(text: str) -> None:
            written.append((clock[0], text))
            write(text)

        return real(client, timed, sleep=sleep, monotonic=lambda: clock[0], **options)

    monkeypatch.setattr(eventsync, "Importer", importer)
    row = f"long-{tag},date,{name},{VENUE},{at(720)},{at(720, 22)},,,,,,,,GA,{GA},10,10"
    out, error = run(csv_file(tmp_path, [row]), schedule="15")
    assert error is None, out
    assert "tickets ready" in out
    waiting = [when for when, text in written if text.startswith("  ")]
    assert released and waiting[-1] > released[0]  # it waited on, polling every 15 s
    assert all(b - a <= 10 for a, b in itertools.pairwise([0.0, *waiting]))
    repeated = Counter(t.split("  (still waiting")[0] for t in out.splitlines() if "(still" in t)
    assert max(repeated.values()) >= 5  # the minute it was held: the same line, with seconds
