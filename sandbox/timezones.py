"""The API's time zone names (see the Objects section) and their IANA identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ZONES = {
    "Hawaii": "Pacific/Honolulu",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Mountain Time (US & Canada)": "America/Denver",
    "Central Time (US & Canada)": "America/Chicago",
    "Eastern Time (US & Canada)": "America/New_York",
    "Atlantic Time (Canada)": "America/Halifax",
    "Newfoundland": "America/St_Johns",
    "Brasilia": "America/Sao_Paulo",
    "Dublin": "Europe/Dublin",
    "London": "Europe/London",
    "Lisbon": "Europe/Lisbon",
    "Paris": "Europe/Paris",
    "Berlin": "Europe/Berlin",
    "Amsterdam": "Europe/Amsterdam",
    "Madrid": "Europe/Madrid",
    "Athens": "Europe/Athens",
    "Tokyo": "Asia/Tokyo",
    "Singapore": "Asia/Singapore",
    "Brisbane": "Australia/Brisbane",
    "Sydney": "Australia/Sydney",
    "Melbourne": "Australia/Melbourne",
    "Auckland": "Pacific/Auckland",
    "UTC": "UTC",
}


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(ZONES.get(name, "UTC"))


def tzinfo(name: str, at: datetime | None = None) -> dict[str, object]:
    tz = zone(name)
    offset = (at or datetime.now(tz)).astimezone(tz).utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return {
        "name": name,
        "identifier": ZONES.get(name, "UTC"),
        "offset": seconds,
        "formatted_offset": f"{sign}{hours:02d}:{minutes:02d}",
    }


def moment(value: datetime, tz_name: str) -> dict[str, str]:
    """The API's start/end object: tz name, local time with offset, and UTC."""
    return {
        "tz": tz_name,
        "local": value.astimezone(zone(tz_name)).isoformat(timespec="seconds"),
        "utc": iso(value, "seconds"),
    }


def iso(value: datetime | None, timespec: str = "microseconds") -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
