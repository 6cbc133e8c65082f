"""The rules for moving a parcel, shared by the single-step API and batch scan ingestion.

Each ``check_*`` raises a ``Conflict`` naming the refusal, or returns; ``apply_move``
changes the parcel's and its units' state in memory (the caller's flush writes it).
"""

from __future__ import annotations

from trace_service.chain.models import TraceKey
from trace_service.chain.services import refuse_if_blocked
from trace_service.db import utcnow
from trace_service.errors import Conflict


def check_dispatch(tk: TraceKey, contents: list[TraceKey], today) -> None:
    if tk.state != "packed":
        raise Conflict("already_dispatched", f"parcel {tk.key} was already dispatched "
                       f"(state {tk.state})", key=tk.key, state=tk.state)
    for key in contents:
        if key.kind == "unit" and key.state != "packed":
            raise Conflict("not_sold", f"{key.key} is {key.state}; the parcel can only carry "
                           "sold goods", key=key.key, state=key.state)
        refuse_if_blocked(key, today, "dispatched")


def check_scan(tk: TraceKey, delivered_at) -> None:
    if tk.state == "delivered":
        when = f" on {delivered_at.isoformat()}" if delivered_at else ""
        raise Conflict("already_received", f"parcel {tk.key} was signed for{when}; no scans "
                       "after receipt", key=tk.key)
    if tk.state == "packed":
        raise Conflict("not_dispatched", f"parcel {tk.key} has not been dispatched yet",
                       key=tk.key)


def check_receipt(tk: TraceKey) -> None:
    if tk.state == "delivered":
        raise Conflict("already_received", f"parcel {tk.key} was already signed for",
                       key=tk.key)
    if tk.state == "packed":
        raise Conflict("not_dispatched", f"parcel {tk.key} was never dispatched; it cannot "
                       "be received", key=tk.key)


def apply_move(tk: TraceKey, contents: list[TraceKey], state: str, now=None) -> None:
    now = now or utcnow()
    tk.state = state
    tk.updated_at = now
    for key in contents:
        if key.kind == "unit":
            key.state = state
            key.updated_at = now
        if state == "delivered":
            key.container_id = None


def blocked_contents(contents: list[TraceKey], today) -> list[str]:
    """Keys of recalled or expired goods in a parcel (a warning on scans in transit)."""
    out = []
    for key in contents:
        try:
            refuse_if_blocked(key, today, "moved")
        except Conflict as exc:
            out.append(exc.code)
    return sorted(set(out))
