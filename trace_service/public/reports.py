"""Reports of a problem from the public page: validated, and always entered in the chain.

Which order? A complaint in ``complaints`` must name an order. For a *unit* (a serial or a
drug code) the order that sold it is known: the most recent sale of that unit (a returned
and re-sold pack belongs to its latest buyer). For a *parcel* it is the parcel's order.
Then the report is filed with ``feedback.services.file_complaint`` — the same function the
API uses, so the merchant sees and handles it like any complaint, and its complaint event
enters the chain on the unit (or on the order's goods, for a parcel).

Without an order — a lot (many orders sell from one lot; the page cannot know which one is
the reporter's), or a unit never sold online (e.g. bought in a shop) — the report is still
accepted: it is kept in ``consumer_reports`` and a ``complaint`` event with
``{"report": id}`` and ``data.source = "consumer"`` is appended to the key's trail, so
inspectors and the trail see it. Either way a ``consumer_reports`` row links the report to
the key and (if any) the complaint.

Contact details (name, phone) are optional and stored in ``persons`` like every other
personal datum; they are never shown on a public page.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.auth.permissions import Actor
from trace_service.chain.events import record_event
from trace_service.chain.models import Event, TraceKey
from trace_service.context import Ctx
from trace_service.db import new_id
from trace_service.feedback.services import file_complaint
from trace_service.orders.models import Order, OrderLine
from trace_service.people.services import upsert_person
from trace_service.public.models import ConsumerReport
from trace_service.shipping.models import Parcel

CATEGORIES = {
    "unit": ("counterfeit", "quality", "expired", "damaged", "wrong_item",
             "false_advertising", "other"),
    "lot": ("counterfeit", "quality", "expired", "damaged", "false_advertising", "other"),
    "parcel": ("not_delivered", "empty_parcel", "damaged", "wrong_item", "other"),
}
TEXT_MIN, TEXT_MAX = 5, 2000
_PHONE = re.compile(r"^\+?[0-9 \-]{5,20}$")

#: Public reports are filed on behalf of the platform's complaint desk. The inspector role
#: is the one whose grants include filing complaints about any order (complaint:write);
#: this actor is used only here, for the order that sold this very key.
CONSUMER_DESK = Actor(key_id="public:consumer-report", role="inspector")


class ReportInvalid(Exception):
    """The form has mistakes: ``errors`` maps a field to a message key of the i18n catalog."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


def validate(kind: str, form: dict) -> dict:
    """Clean the submitted form or raise :class:`ReportInvalid`."""
    errors = {}
    category = (form.get("category") or "").strip()
    if category not in CATEGORIES.get(kind, ()):
        errors["category"] = "e_category"
    text = (form.get("text") or "").strip()
    if not TEXT_MIN <= len(text) <= TEXT_MAX or "\x00" in text:
        errors["text"] = "e_text"
    name = (form.get("name") or "").strip()
    if len(name) > 100 or "\x00" in name:
        errors["name"] = "e_name"
    phone = (form.get("phone") or "").strip()
    if phone and not _PHONE.match(phone):
        errors["phone"] = "e_phone"
    if errors:
        raise ReportInvalid(errors)
    contact = {k: v for k, v in (("name", name), ("phone", phone)) if v}
    return {"category": category, "text": text, "contact": contact or None}


def find(db: Session, ref: str) -> ConsumerReport | None:
    """The report with reference ``ref`` (``rpt_…``), or None."""
    if not ref.startswith("rpt_") or len(ref) > 40:
        return None
    return db.get(ConsumerReport, ref)


def selling_order(db: Session, key: TraceKey) -> Order | None:
    """The order a report about ``key`` belongs to, if one can be told (module docstring)."""
    if key.kind == "unit":
        return db.scalar(select(Order).join(OrderLine, OrderLine.order_id == Order.id)
                         .where(OrderLine.trace_key_id == key.id)
                         .order_by(Order.placed_at.desc(), Order.id.desc()).limit(1))
    if key.kind == "parcel":
        parcel = db.scalar(select(Parcel).where(Parcel.trace_key_id == key.id))
        return db.get(Order, parcel.order_id) if parcel else None
    return None


def file_report(db: Session, key: TraceKey, *, category: str, text: str,
                contact: dict | None, tz_offset: str) -> ConsumerReport:
    """Store the report and put it in the chain (see module docstring). Caller commits."""
    ctx = Ctx(db=db, actor=CONSUMER_DESK, tz_offset=tz_offset)
    order = selling_order(db, key)
    report = ConsumerReport(id=new_id("rpt"), trace_key_id=key.id, category=category,
                            text=text, order_id=order.id if order else None, event_id="")
    if order is not None:
        complaint = file_complaint(ctx, order_id=order.id, category=category, text=text,
                                   complainant=contact,
                                   key=key.key if key.kind == "unit" else None)
        report.complaint_id = complaint.id
        report.reporter_id = complaint.complainant_id
        report.event_id = db.scalar(
            select(Event.event_id).where(Event.biz_step == "complaint",
                                         Event.content.contains(complaint.id))
            .order_by(Event.id.desc()).limit(1))
    else:
        person = upsert_person(db, contact, "operator") if contact else None
        report.reporter_id = person.id if person else None
        event = record_event(db, biz_step="complaint", disposition="open", actor=CONSUMER_DESK,
                             keys=[key], default_offset=tz_offset,
                             parties=[key.owner_id if key.kind != "parcel" else None],
                             transactions={"report": report.id},
                             data={"category": category, "source": "consumer"})
        report.event_id = event.event_id
    db.add(report)
    db.flush()
    return report
