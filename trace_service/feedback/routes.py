"""/api/v1/orders/<id>/reviews and /complaints."""

from flask_smorest import Blueprint
from sqlalchemy import select

from trace_service import http
from trace_service.db import paginate
from trace_service.feedback import services
from trace_service.feedback.models import Complaint
from trace_service.feedback.schemas import (
    ComplaintIn, ComplaintOut, ComplaintQuery, ComplaintUpdate, ReviewIn, ReviewOut,
)
from trace_service.http import require
from trace_service.schemas import page_of

blp = Blueprint("feedback", __name__, url_prefix="/api/v1", description="Reviews and complaints")


@blp.route("/orders/<order_id>/reviews", methods=["POST"])
@require("review:write")
@blp.arguments(ReviewIn)
@blp.response(201, ReviewOut)
def add_review(body, order_id):
    """The buyer's review, after receipt."""
    return services.add_review(http.ctx(), order_id, appended=False, **body)


@blp.route("/orders/<order_id>/reviews/appended", methods=["POST"])
@require("review:write")
@blp.arguments(ReviewIn)
@blp.response(201, ReviewOut)
def append_review(body, order_id):
    """The buyer's appended review (追评), after the first."""
    return services.add_review(http.ctx(), order_id, appended=True, **body)


@blp.route("/complaints", methods=["POST"])
@require("complaint:write")
@blp.arguments(ComplaintIn)
@blp.response(201, ComplaintOut)
def file_complaint(body):
    """File a complaint about an order (optionally one unit or lot of it)."""
    return services.file_complaint(http.ctx(), **body)


@blp.route("/complaints", methods=["GET"])
@require("complaint:read")
@blp.arguments(ComplaintQuery, location="query")
@blp.response(200, page_of(ComplaintOut, "ComplaintPage"))
def list_complaints(args):
    """Complaints (a merchant sees those about its orders)."""
    c = http.ctx()
    stmt = select(Complaint)
    if not c.actor.sees_everything:
        stmt = stmt.where(Complaint.merchant_id == c.actor.party_id)
    if args.get("status"):
        stmt = stmt.where(Complaint.status == args["status"])
    return paginate(c.db, stmt, Complaint.id, args["limit"], args["cursor"])


@blp.route("/complaints/<complaint_id>", methods=["GET"])
@require("complaint:read")
@blp.response(200, ComplaintOut)
def get_complaint(complaint_id):
    """One complaint."""
    return services.get_complaint(http.ctx(), complaint_id)


@blp.route("/complaints/<complaint_id>", methods=["PATCH"])
@require("complaint:handle")
@blp.arguments(ComplaintUpdate)
@blp.response(200, ComplaintOut)
def update_complaint(body, complaint_id):
    """Accept, resolve or reject a complaint."""
    return services.update_complaint(http.ctx(), complaint_id, **body)
