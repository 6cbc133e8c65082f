"""What a scan is: its client-made id, the record queued, and the result of settling receipts.

Ids are RFC 9562 UUIDv7, made here: 48-bit Unix milliseconds, version 7, a 12-bit counter
that keeps the ids made by one process strictly increasing (method 1 of RFC 9562 section
6.2, started at a random value), the variant bits and 62 random bits.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

_uuid_lock = threading.Lock()
_uuid_last = [0, 0]  # [unix ms, 12-bit counter] of the last id made by this process


def uuid7() -> uuid.UUID:
    """A new RFC 9562 UUIDv7, strictly increasing within this process."""
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _uuid_last[0]:
            counter = secrets.randbits(11)  # random start, half the space left to count up
        else:
            ms, counter = _uuid_last[0], _uuid_last[1] + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        _uuid_last[:] = [ms, counter]
    value = ((ms & (1 << 48) - 1) << 80 | 0x7 << 76 | counter << 64
             | 0b10 << 62 | secrets.randbits(62))
    return uuid.UUID(int=value)


@dataclass(frozen=True)
class Scan:
    """One queued scan, as stored."""

    seq: int
    id: str
    code_text: str
    trace_key: str
    step: str
    staff_no: str | None
    device_time: str
    queued_at: float

    def wire(self) -> dict:
        """The scan as ``POST /api/v1/scans/batch`` expects it."""
        out = {"id": self.id, "key": self.trace_key, "step": self.step,
               "device_time": self.device_time, "seq": self.seq}
        if self.staff_no:
            out["staff_no"] = self.staff_no
        return out


@dataclass(frozen=True)
class Entry:
    """A scan to record: the text as scanned and the trace key the client parsed from it."""

    code_text: str
    trace_key: str
    step: str
    staff_no: str | None = None


@dataclass
class Settled:
    """What :meth:`Queue.settle` did."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    gone: int = 0  # no longer queued: settled meanwhile by another uploader
    unknown: int = 0  # a status this client does not know: the scan stays
    rejections: list = field(default_factory=list)  # [(trace_key, code, message)]
    warnings: list = field(default_factory=list)  # [(trace_key, [warning, ...])]


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()
