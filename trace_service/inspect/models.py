"""Spot checks, their tasks, the access log, the console's sessions, and the indexes the
inspector's queries need.

``access_log`` is append-only: no route changes or deletes it, and the database refuses
UPDATE and DELETE on it (triggers made by migration 0005).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow
from trace_service.ingest.models import Scan
from trace_service.orders.models import ReturnItem
from trace_service.shipping.models import Parcel, ParcelItem

# INTEGER PRIMARY KEY on SQLite is the rowid; BIGINT elsewhere.
LogId = BigInteger().with_variant(Integer(), "sqlite")

TASK_STATUSES = ("pending", "passed", "failed")


class SpotCheck(Base):
    """One reproducible draw: the same population, criteria and seed give the same tasks."""

    __tablename__ = "spot_checks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    population: Mapped[str] = mapped_column(String(10))
    criteria: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    requested: Mapped[int] = mapped_column(Integer)
    population_size: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the population as drawn from ("id weight" lines in order): a redraw with
    # the same seed gives the same sample exactly when this is unchanged.
    population_digest: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(60))

    tasks: Mapped[list[SpotCheckTask]] = relationship(
        lazy="selectin", order_by="SpotCheckTask.position")


class SpotCheckTask(Base):
    __tablename__ = "spot_check_tasks"
    __table_args__ = (UniqueConstraint("spot_check_id", "position"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    spot_check_id: Mapped[str] = mapped_column(ForeignKey("spot_checks.id"))
    position: Mapped[int] = mapped_column(Integer)
    listing_id: Mapped[str | None] = mapped_column(ForeignKey("listings.id"))
    lot_id: Mapped[str | None] = mapped_column(ForeignKey("lots.id"))
    weight: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    recall_id: Mapped[str | None] = mapped_column(ForeignKey("recalls.id"))


class AccessLog(Base):
    """Who read what and when: one row per inspector request (and per request to the
    inspector's routes), written in the request's own transaction."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_key_id_id", "key_id", "id"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    role: Mapped[str] = mapped_column(String(20))
    party_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    query: Mapped[str | None] = mapped_column(String(1000))
    endpoint: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    # The thing read, when the route names one: a canonical trace key, a recall id ...
    subject: Mapped[str | None] = mapped_column(String(300))
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class ConsoleSession(Base):
    """A signed-in session of the inspector's console, kept by the server.

    The cookie carries a random token; only its SHA-256 is stored (``id``), so the table
    cannot be replayed as cookies. A session ends when it expires, when its owner signs out
    (``revoked_at``), or when its key is revoked; a cookie of an ended session is refused
    even though its signature is still good."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# Indexes on other domains' tables that only the inspector's queries use; declared here
# (with the queries that need them) and made by migration 0005.
# * parcel_items by item: which parcels carried a unit or a lot (trace, recall progress);
# * return_items by item: what of a lot came back (trace, recall progress);
# * parcels by dispatch and delivery time: the anomaly views' time windows;
# * scans by status and time: rejected scans worth a look.
Index("ix_parcel_items_trace_key_id", ParcelItem.__table__.c.trace_key_id)
Index("ix_return_items_trace_key_id", ReturnItem.__table__.c.trace_key_id)
Index("ix_parcels_dispatched_at", Parcel.__table__.c.dispatched_at)
Index("ix_parcels_delivered_at", Parcel.__table__.c.delivered_at)
Index("ix_scans_status_received_at", Scan.__table__.c.status, Scan.__table__.c.received_at)
