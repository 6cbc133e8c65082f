"""/api/v1/inspect/recalls: open a recall on lots, follow its progress, close it."""

from __future__ import annotations

from flask_smorest import Blueprint

from trace_service import http
from trace_service.http import require
from trace_service.inspect import access
from trace_service.inspect.schemas import (
    BuyerPage, CloseIn, InspectPageArgs, RecallDetailOut, RecallIn, RecallListArgs, RecallOut,
    RecallPage,
)
from trace_service.recalls import services
from trace_service.schemas import decode_cursor, encode_cursor

blp = Blueprint("recalls", __name__, url_prefix="/api/v1/inspect/recalls",
                description="Recalls of lots: no sale, no dispatch, scanners warn, consumer "
                            "pages show the banner; progress; close")


def recall_view(db, recall) -> dict:
    view = {c: getattr(recall, c) for c in (
        "id", "status", "severity", "reason", "authority", "reference", "opened_at",
        "opened_by", "closed_at", "closed_by", "close_note")}
    view["lots"] = services.lot_views(db, recall)
    return view


def detail_view(db, recall) -> dict:
    from trace_service.inspect.exports import jsonable

    view = recall_view(db, recall)
    view["lots"] = jsonable(view["lots"])
    view["progress"] = services.progress(db, recall)
    view["parcels_stopped"] = jsonable(services.stopped_parcels(db, recall))
    view["holders"] = services.holders(db, recall)
    return view


@blp.route("", methods=["POST"])
@require("recall:write")
@blp.arguments(RecallIn)
@blp.response(201, RecallDetailOut)
def open_recall(body):
    """Open a recall on lots: from this moment they cannot be listed, sold, packed or
    dispatched, scanners warn, the blocklist and consumer pages show it."""
    c = http.ctx()
    recall = services.open_recall(c, **body)
    access.note_subject(recall.id)
    return detail_view(c.db, recall)


@blp.route("", methods=["GET"])
@require("inspect:read")
@blp.arguments(RecallListArgs, location="query")
@blp.response(200, RecallPage)
def list_recalls(args):
    """Recalls, oldest first (``status`` open or closed)."""
    c = http.ctx()
    rows, last = services.list_recalls(c.db, status=args["status"], limit=args["limit"],
                                       after=decode_cursor(args["cursor"]))
    from trace_service.inspect.exports import jsonable

    return {"items": [dict(recall_view(c.db, r), lots=jsonable(services.lot_views(c.db, r)))
                      for r in rows], "next_cursor": encode_cursor(last)}


@blp.route("/<recall_id>", methods=["GET"])
@require("inspect:read")
@blp.response(200, RecallDetailOut)
def get_recall(recall_id):
    """A recall with its progress: units by state and returned, quantity sold and
    delivered, parcels stopped (not delivered), buyers to contact."""
    c = http.ctx()
    access.note_subject(recall_id)
    return detail_view(c.db, services.get_recall(c.db, recall_id))


@blp.route("/<recall_id>/buyers", methods=["GET"])
@require("inspect:read")
@blp.arguments(InspectPageArgs, location="query")
@blp.response(200, BuyerPage)
def buyers(args, recall_id):
    """Buyers to contact: one row per sale of recalled goods, personal data masked."""
    c = http.ctx()
    access.note_subject(recall_id)
    recall = services.get_recall(c.db, recall_id)
    items, last = services.buyers(c.db, recall, limit=args["limit"],
                                  after=decode_cursor(args["cursor"], int))
    return {"items": items, "next_cursor": encode_cursor(last)}


@blp.route("/<recall_id>/close", methods=["POST"])
@require("recall:write")
@blp.arguments(CloseIn)
@blp.response(200, RecallOut)
def close_recall(body, recall_id):
    """Close a recall: its lots are no longer blocked."""
    c = http.ctx()
    access.note_subject(recall_id)
    recall = services.close_recall(c, recall_id, note=body["note"])
    from trace_service.inspect.exports import jsonable

    return dict(recall_view(c.db, recall), lots=jsonable(services.lot_views(c.db, recall)))
