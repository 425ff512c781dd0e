"""Request parameters as the API takes them: bracket-notation query strings
(``filter[starts_at][from]=...``), a JSON body, or both (a JSON body on GET is allowed)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, QueryDict

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


class BadJSON(ValueError):
    pass


def nest(query: QueryDict) -> dict[str, Any]:
    """``a[b][c]=1`` -> ``{"a": {"b": {"c": "1"}}}``; ``a[]=1&a[]=2`` -> ``{"a": ["1", "2"]}``."""
    result: dict[str, Any] = {}
    for raw_key, values in query.lists():
        parts = [m.group(1) or m.group(2) for m in _KEY.finditer(raw_key)]
        if not parts:
            continue
        node = result
        for part in parts[:-1]:
            if part == "":
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = parts[-1]
        if last == "" and len(parts) > 1:
            node_key = parts[-2]
            # a[]=1&a[]=2 arrives as parts ["a", ""]
            parent = result
            for part in parts[:-2]:
                parent = parent.setdefault(part, {})
            parent[node_key] = list(values)
        else:
            node[last] = values[-1]
    return result


def request_params(request: HttpRequest) -> dict[str, Any]:
    """Query parameters merged with the JSON body (body wins)."""
    params = nest(request.GET)
    if request.body:
        content_type = request.headers.get("Content-Type", "")
        if "json" in content_type or request.body[:1] in (b"{", b"["):
            try:
                body = json.loads(request.body)
            except ValueError as exc:
                raise BadJSON(str(exc)) from exc
            if isinstance(body, dict):
                params.update(body)
        elif "form-urlencoded" in content_type:
            params.update(nest(QueryDict(request.body)))
    return params


def as_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"1", "true", "yes"}


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def as_int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
