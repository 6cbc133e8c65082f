"""Recalls and the lots they cover.

The flag every rule reads stays ``lots.recalled_at`` (sale, packing, dispatch and listing
refuse; scanners warn; the blocklist lists the lot, its units and the parcels carrying
them). A recall sets it for its lots when it opens and clears it when it closes; a lot is
under at most one open recall at a time (``recalls.services.open_recall`` checks this
under a row lock on the lots).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow

# Severity classes as in drug and medical-device recall rules: I = may cause serious
# harm or death, II = may cause temporary or reversible harm, III = unlikely to harm.
SEVERITIES = ("I", "II", "III")
RECALL_STATUSES = ("open", "closed")


class Recall(Base):
    __tablename__ = "recalls"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    severity: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    # The authority that ordered it (e.g. a market-regulation bureau) and its document no.
    authority: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    close_note: Mapped[str | None] = mapped_column(Text)

    lots: Mapped[list[RecallLot]] = relationship(lazy="selectin", order_by="RecallLot.lot_id")


class RecallLot(Base):
    __tablename__ = "recall_lots"
    __table_args__ = (Index("ix_recall_lots_lot_id", "lot_id"),)

    recall_id: Mapped[str] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), primary_key=True)

    lot = relationship("Lot", lazy="joined")
