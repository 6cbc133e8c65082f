"""/api/v1/parties, /points, /devices, /staff."""

from flask_smorest import Blueprint
from sqlalchemy import select

from trace_service import http
from trace_service.db import paginate
from trace_service.http import require
from trace_service.parties import services
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.parties.schemas import (
    DeviceIn, DeviceOut, LicenceIn, LicenceOut, PartyIn, PartyOut, PartyQuery, PointIn,
    PointOut, StaffIn, StaffOut,
)
from trace_service.schemas import PageArgs, page_of

blp = Blueprint("parties", __name__, url_prefix="/api/v1", description="Parties and places")


@blp.route("/parties", methods=["POST"])
@require("party:write")
@blp.arguments(PartyIn)
@blp.response(201, PartyOut)
def create_party(body):
    """Register a party (real-name: credit code checked)."""
    return services.create_party(http.ctx(), **body)


@blp.route("/parties", methods=["GET"])
@require("party:read")
@blp.arguments(PartyQuery, location="query")
@blp.response(200, page_of(PartyOut, "PartyPage"))
def list_parties(args):
    """List parties."""
    stmt = select(Party)
    if args.get("kind"):
        stmt = stmt.where(Party.kind == args["kind"])
    return paginate(http.ctx().db, stmt, Party.id, args["limit"], args["cursor"])


@blp.route("/parties/<party_id>", methods=["GET"])
@require("party:read")
@blp.response(200, PartyOut)
def get_party(party_id):
    """One party with its licences."""
    return services.get_party(http.ctx(), party_id)


@blp.route("/parties/<party_id>/licences", methods=["POST"])
@require("party:write")
@blp.arguments(LicenceIn)
@blp.response(201, LicenceOut)
def add_licence(body, party_id):
    """Record a licence with its category scope and validity."""
    return services.add_licence(http.ctx(), party_id, **body)


@blp.route("/points", methods=["POST"])
@require("point:write")
@blp.arguments(PointIn)
@blp.response(201, PointOut)
def create_point(body):
    """Register a logistics point."""
    return services.create_point(http.ctx(), **body)


@blp.route("/points", methods=["GET"])
@require("point:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(PointOut, "PointPage"))
def list_points(args):
    """List logistics points."""
    return paginate(http.ctx().db, select(LogisticsPoint), LogisticsPoint.id, args["limit"],
                    args["cursor"])


@blp.route("/devices", methods=["POST"])
@require("device:write")
@blp.arguments(DeviceIn)
@blp.response(201, DeviceOut)
def create_device(body):
    """Register a scanner device at a point, for a carrier."""
    return services.create_device(http.ctx(), **body)


@blp.route("/staff", methods=["POST"])
@require("staff:write")
@blp.arguments(StaffIn)
@blp.response(201, StaffOut)
def create_staff(body):
    """Register a carrier's staff member (name and phone kept as personal data)."""
    return services.create_staff(http.ctx(), **body)
