"""What an event says, read from its hashed bytes.

The ``events`` columns (``event_id``, ``biz_step``, ``event_time``, ``point_id`` ...) are
indexes: they find events, they are not what the service shows. Everything a trail, a
console page, a consumer page, an export or an evidence bundle says about an event is read
here from ``events.content`` — the exact bytes the Merkle log hashes — so changing a column
behind the service's back changes what is found, never what is shown as verified (and
``trace-service verify`` reports the column that disagrees with the content).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Facts:
    """One event as its content states it. ``damaged`` says why the content could not be
    read (then only ``pk`` is known, and the event's integrity status is a failure)."""

    pk: int
    event_id: str | None = None
    biz_step: str | None = None
    event_time: dt.datetime | None = None
    record_time: dt.datetime | None = None
    zone_offset: str = "+00:00"
    party_id: str | None = None
    point_id: str | None = None
    device_id: str | None = None
    gln: str | None = None
    parties: tuple[str, ...] = ()
    content: dict = field(default_factory=dict)
    damaged: str | None = None

    @property
    def data(self) -> dict:
        return self.content.get("data") or {}

    @property
    def transactions(self) -> dict:
        return self.content.get("biz_transactions") or {}


def _time(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def read(pk: int, content: str | bytes | None) -> Facts:
    """The facts of event ``pk`` from its stored content."""
    try:
        if isinstance(content, bytes):
            content = content.decode("utf-8")
        body = json.loads(content)
    except (TypeError, ValueError, RecursionError):
        return Facts(pk=pk, damaged="its stored content is not readable JSON")
    if not isinstance(body, dict):
        return Facts(pk=pk, damaged="its stored content is not a JSON object")

    def text(name):
        value = body.get(name)
        return value if isinstance(value, str) else None

    parties = body.get("parties")
    return Facts(
        pk=pk, event_id=text("event_id"), biz_step=text("biz_step"),
        event_time=_time(body.get("event_time")), record_time=_time(body.get("record_time")),
        zone_offset=text("event_time_zone_offset") or "+00:00",
        party_id=text("party"), point_id=text("read_point"), device_id=text("device"),
        gln=text("gln"),
        parties=tuple(p for p in parties if isinstance(p, str))
        if isinstance(parties, list) else (),
        content=body)


def of(event) -> Facts:
    """The facts of an ``Event`` row (or any row with ``id`` and ``content``)."""
    return read(event.id, event.content)


#: The columns indexed from the content, and how each is read back from it (``verify``).
INDEXED = {
    "event_id": lambda f: f.event_id,
    "biz_step": lambda f: f.biz_step,
    "event_time": lambda f: f.event_time,
    "record_time": lambda f: f.record_time,
    "party_id": lambda f: f.party_id,
    "point_id": lambda f: f.point_id,
    "device_id": lambda f: f.device_id,
}
