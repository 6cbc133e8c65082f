"""Scans as received from scanner devices: one row per client scan id, with its receipt.

The row is the idempotency record: a retried batch finds its scans here and gets the same
receipts back, and nothing is stored twice. Device time and server receive time are both
kept; the difference (clock skew) is never corrected.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime

SCAN_STATUSES = ("accepted", "duplicate", "rejected")


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_device_seq", "device_id", "device_seq"),
        Index("ix_scans_trace_key_device_time", "trace_key", "device_time"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    point_id: Mapped[str] = mapped_column(ForeignKey("logistics_points.id"), index=True)
    staff_no: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(10))
    code_text: Mapped[str] = mapped_column(String(300))
    trace_key: Mapped[str | None] = mapped_column(String(120))
    device_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    device_tz: Mapped[str] = mapped_column(String(6))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    skew_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(300))
    warnings: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(36))
