"""What a service call needs to know about its caller, passed explicitly (never flask.request)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trace_service.auth.permissions import Actor
from trace_service.errors import NotFound


@dataclass(frozen=True)
class Ctx:
    db: Session
    actor: Actor
    tz_offset: str = "+08:00"

    @property
    def tz(self) -> dt.timezone:
        sign = 1 if self.tz_offset[0] == "+" else -1
        hours, minutes = self.tz_offset[1:].split(":")
        return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))

    def today(self) -> dt.date:
        """Today's date where the service operates (licence validity and expiry are dates)."""
        return dt.datetime.now(self.tz).date()

    def own_party(self, party_id: str, what: str, ident: str) -> None:
        """Refuse unless the caller sees everything or acts for ``party_id``: with the same
        404 as for a record that does not exist, so other parties' ids are not revealed."""
        if self.actor.sees_everything or self.actor.party_id == party_id:
            return
        raise NotFound(f"{what}_not_found", f"{what} {ident} does not exist", **{what: ident})
