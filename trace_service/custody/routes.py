"""/api/v1/transfers and /api/v1/stock: moving goods between parties, and what each holds."""

from flask_smorest import Blueprint

from trace_service import http
from trace_service.custody import services
from trace_service.custody.schemas import ReceiveIn, StockArgs, StockOut, TransferIn, TransferOut
from trace_service.http import require
from trace_service.schemas import PageArgs, decode_cursor, encode_cursor, page_of

blp = Blueprint("custody", __name__, url_prefix="/api/v1",
                description="Custody: transfers between parties (ship / receive) and stock")


@blp.route("/transfers", methods=["POST"])
@require("transfer:write")
@blp.arguments(TransferIn)
@blp.response(201, TransferOut)
def ship(body):
    """Ship units or lot quantities in your custody to another party."""
    return services.ship(http.ctx(), **body)


@blp.route("/transfers", methods=["GET"])
@require("transfer:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(TransferOut, "TransferPage"))
def list_transfers(args):
    """Transfers you sent, received or carry."""
    rows = services.transfers(http.ctx(), limit=args["limit"],
                              after=decode_cursor(args["cursor"]))
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}


@blp.route("/transfers/<transfer_id>", methods=["GET"])
@require("transfer:read")
@blp.response(200, TransferOut)
def get_transfer(transfer_id):
    """One transfer you are party to."""
    return services.get_transfer(http.ctx(), transfer_id)


@blp.route("/transfers/<transfer_id>/receive", methods=["POST"])
@require("transfer:write")
@blp.arguments(ReceiveIn)
@blp.response(200, TransferOut)
def receive(body, transfer_id):
    """Take a transfer addressed to you into your custody."""
    return services.receive(http.ctx(), transfer_id, **body)


@blp.route("/stock", methods=["GET"])
@require("transfer:read")
@blp.arguments(StockArgs, location="query")
@blp.response(200, StockOut)
def stock(args):
    """What you hold: lot quantities and units in stock, per product."""
    return services.stock(http.ctx(), args["party_id"])
