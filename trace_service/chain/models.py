"""Trace keys with their current state, and the append-only event rows.

A trace key is a unit (GTIN+serial or a 20-digit drug code), a lot (GTIN+lot) or a
logistic unit (SSCC or waybill). ``events`` rows are only ever inserted; ``event_keys``
is the index that makes a trail one range scan, including a parcel's events in the trails
of what it contained at the time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow

# Current states. Units: commissioned (at the maker) -> shipped -> received (B2B transfers
# between parties, any number of times) -> sold -> packed -> dispatched -> in_transit ->
# delivered -> return_requested -> returned (sellable again); lots: active (their quantities
# are counted per holder in lot_holdings); parcels: packed -> dispatched -> in_transit ->
# delivered. A recalled lot blocks its units.
UNIT_STATES = (
    "commissioned", "shipped", "received", "sold", "packed", "dispatched", "in_transit",
    "delivered", "return_requested", "returned",
)
PARCEL_STATES = ("packed", "dispatched", "in_transit", "delivered")


class TraceKey(Base):
    __tablename__ = "trace_keys"
    # Room on each page for the state changes of every scan (migration 0008).
    __table_args__ = {"postgresql_with": {"fillfactor": 70}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    gtin: Mapped[str | None] = mapped_column(ForeignKey("products.gtin"), index=True)
    lot_id: Mapped[str | None] = mapped_column(ForeignKey("lots.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    # The parcel a unit or lot quantity currently travels in.
    container_id: Mapped[int | None] = mapped_column(ForeignKey("trace_keys.id"), index=True)
    # The custodian: the party holding a unit now (the maker at commissioning, then whoever
    # received it by a transfer); for a parcel, the merchant who packed it. A lot's
    # quantities have their holders in ``lot_holdings``; its owner_id is the commissioner.
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lot = relationship("Lot", lazy="joined")


class Event(Base):
    """One step of the chain. ``content`` is the canonical JSON (see chain.events)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    biz_step: Mapped[str] = mapped_column(String(30), index=True)
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    record_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    point_id: Mapped[str | None] = mapped_column(ForeignKey("logistics_points.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)
    content: Mapped[str] = mapped_column(Text)


class EventKey(Base):
    """Which trace keys an event touched: ``subject`` directly, ``content`` through a parcel."""

    __tablename__ = "event_keys"
    __table_args__ = (Index("ix_event_keys_event_id", "event_id"),)

    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))


class EventParty(Base):
    """Which parties an event concerns (actor, source, destination, carrier, merchant, brand
    owner): the index party-scoped visibility reads. The same list is in the event's hashed
    content (``parties``), so ``verify`` can check this table against it."""

    __tablename__ = "event_parties"
    __table_args__ = (Index("ix_event_parties_event_id", "event_id"),)

    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
