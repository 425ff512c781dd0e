"""Every shared-cache key that holds one merchant's data is made here, so none can leave the
merchant out: ``key("checkout", "snapshot", 42)`` is ``checkout:<namespace>:snapshot:42``,
with the namespace of the merchant being served (``Shop.namespace``: stable, and no secret
can be read back from it). Keys that are the deployment's own (the upstream budget, shared
by every merchant) are not made here."""

from __future__ import annotations

from .current import current


def key(area: str, *parts: object) -> str:
    return ":".join([area, current().namespace, *map(str, parts)])
