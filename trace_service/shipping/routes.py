"""/api/v1/parcels, /scans, /receipts."""

from flask_smorest import Blueprint
from sqlalchemy import select

from trace_service import http
from trace_service.db import paginate
from trace_service.http import require
from trace_service.schemas import PageArgs, page_of
from trace_service.shipping import services
from trace_service.shipping.models import Parcel
from trace_service.shipping.schemas import (
    PackIn, ParcelKeyIn, ParcelOut, ReceiptIn, ReceiptOut, ScanIn, ScanOut,
)

blp = Blueprint("shipping", __name__, url_prefix="/api/v1", description="Parcels and scans")


@blp.route("/parcels", methods=["POST"])
@require("parcel:write")
@blp.arguments(PackIn)
@blp.response(201, ParcelOut)
def pack(body):
    """Pack sold goods of an order into a parcel (SSCC or waybill)."""
    order_id = body.pop("order_id")
    return services.pack(http.ctx(), order_id, parcel_key=body.pop("parcel"), **body)


@blp.route("/parcels", methods=["GET"])
@require("parcel:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ParcelOut, "ParcelPage"))
def list_parcels(args):
    """Parcels (a merchant sees its own, a carrier those it carries)."""
    c = http.ctx()
    stmt = select(Parcel)
    if not c.actor.sees_everything:
        stmt = stmt.where((Parcel.merchant_id == c.actor.party_id)
                          | (Parcel.carrier_id == c.actor.party_id))
    return paginate(c.db, stmt, Parcel.id, args["limit"], args["cursor"])


@blp.route("/parcels/<parcel_id>", methods=["GET"])
@require("parcel:read")
@blp.response(200, ParcelOut)
def get_parcel(parcel_id):
    """One parcel with its contents."""
    return services.get_parcel(http.ctx(), parcel_id)


@blp.route("/dispatches", methods=["POST"])
@require("parcel:dispatch")
@blp.arguments(ParcelKeyIn)
@blp.response(200, ParcelOut)
def dispatch(body):
    """Hand a packed parcel to its carrier."""
    return services.dispatch(http.ctx(), body["parcel"], event_time=body["event_time"])


@blp.route("/scans", methods=["POST"])
@require("scan:write")
@blp.arguments(ScanIn)
@blp.response(201, ScanOut)
def scan(body):
    """A logistics-point scan (arrive / depart) of a parcel; moves its contents too."""
    c = http.ctx()
    parcel, tk, event = services.scan(c, key_text=body["key"], step=body["step"],
                               point_id=body["point_id"], event_time=body["event_time"])
    return {"event_id": event.event_id, "parcel": tk.key, "state": tk.state,
            "point_id": parcel.last_point_id}


@blp.route("/receipts", methods=["POST"])
@require("receipt:write")
@blp.arguments(ReceiptIn)
@blp.response(201, ReceiptOut)
def receive(body):
    """Sign-for: the consignee (or a proxy, locker, station) received the parcel."""
    return services.receive(http.ctx(), body["parcel"], signer=body["signer"],
                            method=body["method"], point_id=body["point_id"],
                            event_time=body["event_time"])
