"""A cheap version of the catalog: a number that moves whenever an event, a registration
type, a price, its stock (set through the control endpoint or the API), a category or a
venue is saved or deleted, so a client holding a copy of the catalog can tell it is still
current without reading it. Stock that orders hold and release moves in bulk updates and
leaves the version alone: it changes with every order. Per process, with a token of this
run, so a restarted sandbox never repeats a version."""

from __future__ import annotations

import itertools
import secrets
import threading

from django.db.models.signals import m2m_changed, post_delete, post_save

_run = secrets.token_hex(4)
_counter = itertools.count(1)
_lock = threading.Lock()
_value = 0


def catalog_models() -> tuple[type, ...]:
    from . import models as m

    return (m.Event, m.RegistrationType, m.Price, m.Category, m.Venue, m.TicketType)


def bump() -> None:
    global _value
    with _lock:
        _value = next(_counter)


def current() -> str:
    with _lock:
        return f"{_run}-{_value}"


def _on_change(sender: type, **kwargs: object) -> None:
    bump()


def connect() -> None:
    from . import models as m

    for model in catalog_models():
        post_save.connect(_on_change, sender=model, dispatch_uid=f"catalogversion-{model}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"catalogversion-d-{model}")
    m2m_changed.connect(
        lambda **kwargs: bump(),
        sender=m.Event.categories.through,
        dispatch_uid="catalogversion-categories",
        weak=False,
    )
