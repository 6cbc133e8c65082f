"""Who owns a brand: GS1 company prefixes held by parties, and the written authorisations a
brand owner gives another party (a licensee, a contract maker) to register its GTINs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime, utcnow


class CompanyPrefix(Base):
    """A GS1 company prefix and the party holding it, recorded by an administrator from the
    evidence the party gave (its GS1 membership certificate, 系统成员证书)."""

    __tablename__ = "company_prefixes"

    prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    evidence: Mapped[str] = mapped_column(String(200))
    verified_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BrandAuthorisation(Base):
    """A brand owner's written permission for another party to register and make products
    under its GTINs: either named GTINs (``scope_kind`` ``gtin``) or everything under one of
    its prefixes (``prefix``), valid between two dates, revocable."""

    __tablename__ = "brand_authorisations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    grantor_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    grantee_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    scope_kind: Mapped[str] = mapped_column(String(10))
    scope_value: Mapped[str] = mapped_column(String(14))
    reference: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def covers(self, gtin14: str, on: dt.date) -> bool:
        if self.revoked_at is not None or not self.valid_from <= on <= self.valid_until:
            return False
        if self.scope_kind == "gtin":
            return self.scope_value == gtin14
        return gtin14[1:].startswith(self.scope_value)
