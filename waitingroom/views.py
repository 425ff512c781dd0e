"""The waiting page: where the buyer stands, how long it should take, what they chose, and
the moment it is their turn (or what they want sells out). htmx refreshes its status every
few seconds; without JavaScript the page says to reload it, and its button does. Apps ask
for the same with ``Accept: application/json``.

The page costs no API call: the queue is in the shared store, the event in the replica.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from catalog import cards, reads
from infra import swr
from replica import versions
from tenancy.current import TenantRequest, current

from . import details, door
from .room import Place

SELLABLE = ("on_sale", "few_left", "request", "reserve")


@dataclass(frozen=True)
class Line:
    variant_id: int
    name: str
    quantity: int
    gone: bool  # sold out (or no longer offered) since it was chosen


@dataclass(frozen=True)
class Wanted:
    event: dict[str, Any] | None
    lines: list[Line]
    waitlist: bool  # the event takes waitlist requests for some type

    @property
    def all_gone(self) -> bool:
        return bool(self.lines) and all(line.gone for line in self.lines)

    @property
    def event_sold_out(self) -> bool:
        """Nothing of the event can be had: its queue waits for nothing."""
        if self.event is None:
            return True
        states = [cards.stock_state(rt) for rt in _types(self.event)]
        return not any(s in SELLABLE for s in states)


def _types(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        rt
        for owner in [event, *(event.get("sessions") or [])]
        for rt in owner.get("registration_types") or []
    ]


_events: dict[tuple[str, int], tuple[Any, dict[str, Any]]] = {}
KEPT_EVENTS = 256


def _event(event_id: int) -> dict[str, Any] | None:
    """The event as the replica has it, kept in this process while the merchant's replica
    version stays the same (read at most once a second): every waiting page asks for it
    every few seconds."""
    namespace = current().namespace
    version = versions.current(namespace)
    kept = _events.get((namespace, event_id))
    if kept is not None and version is not None and kept[0] == version:
        return kept[1]
    try:
        event: dict[str, Any] = reads.event_detail(event_id).value
    except swr.Unavailable:
        return None
    if len(_events) >= KEPT_EVENTS:
        _events.clear()
    _events[(namespace, event_id)] = (version, event)
    return event


def forget_events() -> None:
    """Tests: read every event from the replica again."""
    _events.clear()


def wanted(choice: door.Choice) -> Wanted:
    """The chosen tickets as the replica has them now (no API call)."""
    event = _event(choice.event_id)
    types = {rt.get("variant_id"): rt for rt in _types(event)} if event else {}
    lines = []
    for variant_id, quantity in choice.chosen.items():
        rt = types.get(variant_id)
        gone = rt is None or cards.stock_state(rt) not in SELLABLE
        lines.append(Line(variant_id, (rt or {}).get("name") or "", quantity, gone))
    waitlist = any(cards.stock_state(rt) == "request" for rt in types.values())
    return Wanted(event, lines, waitlist)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def waiting(request: TenantRequest) -> HttpResponse:
    choice = door.choice(request)
    action = request.POST.get("action") if request.method == "POST" else None
    if choice is not None and action == "leave":
        door.leave(request)
        details.used(request)
        return redirect(_event_path(choice))
    details_form = details.form_for(request)
    if choice is not None and action == "details":
        details_form = details.DetailsForm(request.POST)
        if details_form.is_valid():
            details.keep(request, details_form)
            if not request.htmx and "application/json" not in request.headers.get("Accept", ""):
                return redirect("waitingroom:wait")  # a reload doesn't post them again
    if choice is not None and action == "continue":
        # The add itself is the checkout's: the same fields, posted where the event page posts.
        return HttpResponse(status=307, headers={"Location": reverse("checkout:add")})
    place = door.look(request) if choice is not None else Place("none")
    want = wanted(choice) if choice is not None else None
    state = place.state
    if choice is not None and want is not None:
        state = _settle(request, choice, want, place)
    if "application/json" in request.headers.get("Accept", ""):
        said = {}
        if details_form.errors:
            said["details_errors"] = {
                name: [e["message"] for e in found]
                for name, found in details_form.errors.get_json_data().items()
            }
        return JsonResponse(
            {
                **said,
                "state": state,
                "position": place.position,
                "wait_seconds": round(place.wait_seconds, 1),
                "turn": place.turn,
                "poll_seconds": poll_seconds(place),
                "details_given": details.given(request) is not None,
            },
            status=422 if details_form.errors else 200,
        )
    host_event = {
        "waiting": "queue:waiting",
        "admitted": "queue:admitted",
        "sold_out": "queue:sold-out",
    }
    context = {
        "state": state,
        "host_event": host_event.get(state, ""),
        "host_detail": json.dumps(
            {"position": place.position, "wait_seconds": round(place.wait_seconds)}
            if state == "waiting"
            else {}
        ),
        "gone_names": ", ".join(line.name for line in want.lines if line.gone and line.name)
        if want
        else "",
        "opens_in_minutes": _opens_in(choice),
        "place": place,
        "choice": choice,
        "wanted": want,
        "wait_minutes": _minutes(place.wait_seconds),
        "poll_seconds": poll_seconds(place),
        "event_path": _event_path(choice) if choice else reverse("home"),
        "details_form": details_form,
        "details_saved": details.given(request) is not None,
    }
    if request.htmx and action == "details":
        status = 422 if details_form.errors else 200
        return render(request, "waitingroom/waiting.html#details", context, status=status)
    if request.htmx:
        response = render(request, "waitingroom/waiting.html#status", context)
        if state != "waiting":
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(
        request, "waitingroom/waiting.html", context, status=422 if details_form.errors else 200
    )


def _settle(request: TenantRequest, choice: door.Choice, want: Wanted, place: Place) -> str:
    """The state to show, acting on what sold out: a buyer whose tickets are all gone leaves
    the queue (and is told so); an event with nothing left stops taking turns until it has."""
    is_event_queue = choice.queue.startswith("e:")
    if is_event_queue and want.event_sold_out:
        door.room().close(choice.queue)
    elif is_event_queue and place.state == "closed":
        door.room().reopen(choice.queue)
    if want.all_gone and place.state != "admitted":
        door.room().leave(door.member(request))
        return "sold_out"
    if place.state == "closed":
        return "waiting"
    return place.state


def _opens_in(choice: door.Choice | None) -> int:
    """Minutes until the chosen event's on-sale opens (0: open)."""
    if choice is None or not choice.queue.startswith("e:"):
        return 0
    _queue, opens_at = door.queue_of(choice.event_id)
    left = opens_at - door.room().clock()
    return _minutes(left) if left > 0 else 0


def poll_seconds(place: Place) -> float:
    """How soon the page looks again: often near the front (the turn is close), less often
    further back (thousands of pages looking cost the server, not the API)."""
    if place.position > settings.WAITING_ROOM_FRONT:
        return float(settings.WAITING_ROOM_POLL_BACK_SECONDS)
    return float(settings.WAITING_ROOM_POLL_SECONDS)


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def _event_path(choice: door.Choice) -> str:
    return reverse("event-short", args=[choice.event_id])
