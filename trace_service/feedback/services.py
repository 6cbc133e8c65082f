"""Reviews tied to a verified receipt, appended reviews, and complaints bound to an order."""

from __future__ import annotations

from sqlalchemy import select

from trace_service.chain.events import record_event
from trace_service.chain.services import find_key
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, Forbidden, NotFound, Unprocessable
from trace_service.feedback.models import Complaint, Review
from trace_service.orders.models import Order
from trace_service.orders.services import get_order
from trace_service.people.models import Person
from trace_service.people.services import find_by_ref, scope_of, upsert_person

COMPLAINT_FLOW = {"open": ("accepted", "rejected"), "accepted": ("resolved", "rejected")}


def _reviewer(ctx: Ctx, order: Order, reviewer: dict) -> Person | None:
    """The reviewer named by id or by the merchant's own account reference for the buyer."""
    if reviewer.get("id"):
        return ctx.db.get(Person, reviewer["id"])
    if reviewer.get("external_ref"):
        return find_by_ref(ctx.db, reviewer["external_ref"], order.merchant_id)
    return None


def add_review(ctx: Ctx, order_id: str, *, reviewer: dict, rating: int | None, text: str,
               appended: bool) -> Review:
    """A review counts only from the buyer who received the goods, after receipt."""
    order = get_order(ctx, order_id)
    person = _reviewer(ctx, order, reviewer)
    if person is None or person.id != order.buyer_id:
        raise Forbidden("not_the_buyer", "only the buyer who received this order may review it")
    if order.status not in ("delivered", "returned"):
        raise Conflict("not_received", f"order {order.id} has not been received yet "
                       f"(status {order.status}); reviews follow receipt")
    existing = ctx.db.scalars(select(Review.sequence).where(Review.order_id == order.id)).all()
    sequence = 1 if appended else 0
    if appended and 0 not in existing:
        raise Conflict("no_review_to_append", "an appended review needs a review first")
    if sequence in existing:
        raise Conflict("already_appended" if appended else "already_reviewed",
                       f"order {order.id} already has {'an appended review' if appended else 'a review'}")
    if not appended and rating is None:
        raise Unprocessable("rating_required", "rating: give 1 to 5 stars", field="rating")
    review = Review(id=new_id("rev"), order_id=order.id, reviewer_id=person.id,
                    sequence=sequence, rating=rating, text=text)
    ctx.db.add(review)
    ctx.db.flush()
    data = {"appended": appended}
    if rating is not None:
        data["rating"] = rating
    record_event(ctx.db, biz_step="review", disposition="reviewed", actor=ctx.actor,
                 keys=[line.trace_key for line in order.lines], default_offset=ctx.tz_offset,
                 parties=[order.merchant_id],
                 transactions={"order": order.id, "review": review.id}, data=data)
    return review


def file_complaint(ctx: Ctx, *, order_id: str, category: str, text: str,
                   complainant: dict | None, key: str | None) -> Complaint:
    order = ctx.db.get(Order, order_id)
    if order is None or not (ctx.actor.sees_everything
                             or ctx.actor.party_id == order.merchant_id):
        raise Unprocessable("order_not_found", f"order_id: order {order_id} does not exist; a "
                            "complaint must name a real order", field="order_id")
    keys = [line.trace_key for line in order.lines]
    trace_key = None
    if key:
        trace_key = find_key(ctx.db, key, "key")
        if trace_key.id not in {k.id for k in keys}:
            raise Unprocessable("not_in_order", f"key: {trace_key.key} is not part of order "
                                f"{order.id}", field="key")
        keys = [trace_key]
    complaint = Complaint(
        id=new_id("cmp"), order_id=order.id, merchant_id=order.merchant_id, category=category,
        text=text, trace_key_id=trace_key.id if trace_key else None,
        complainant_id=(upsert_person(ctx.db, complainant, scope_of(ctx.actor)).id
                        if complainant else None),
    )
    ctx.db.add(complaint)
    ctx.db.flush()
    record_event(ctx.db, biz_step="complaint", disposition="open", actor=ctx.actor, keys=keys,
                 default_offset=ctx.tz_offset,
                 parties=[order.merchant_id],
                 transactions={"order": order.id, "complaint": complaint.id},
                 data={"category": category})
    return complaint


def get_complaint(ctx: Ctx, complaint_id: str) -> Complaint:
    complaint = ctx.db.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("complaint_not_found", f"complaint {complaint_id} does not exist")
    ctx.own_party(complaint.merchant_id, "complaint", complaint_id)
    return complaint


def update_complaint(ctx: Ctx, complaint_id: str, *, status: str,
                     resolution: str | None) -> Complaint:
    complaint = get_complaint(ctx, complaint_id)
    if status not in COMPLAINT_FLOW.get(complaint.status, ()):
        raise Conflict("complaint_transition", f"a complaint that is {complaint.status} cannot "
                       f"become {status}", current=complaint.status, requested=status)
    complaint.status = status
    complaint.resolution = resolution or complaint.resolution
    complaint.updated_at = utcnow()
    order = ctx.db.get(Order, complaint.order_id)
    keys = [line.trace_key for line in order.lines]
    if complaint.trace_key_id:
        keys = [k for k in keys if k.id == complaint.trace_key_id]
    record_event(ctx.db, biz_step="complaint", disposition=status, actor=ctx.actor, keys=keys,
                 default_offset=ctx.tz_offset,
                 parties=[order.merchant_id],
                 transactions={"order": order.id, "complaint": complaint.id},
                 data={"status": status})
    return complaint
