"""/api/v1/orders and returns."""

from flask_smorest import Blueprint
from sqlalchemy import select

from trace_service import http
from trace_service.db import paginate
from trace_service.http import require
from trace_service.orders import services
from trace_service.orders.models import Order
from trace_service.orders.schemas import OrderIn, OrderOut, OrderQuery, ReturnIn, ReturnOut
from trace_service.schemas import page_of

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Sales and returns")


@blp.route("/orders", methods=["POST"])
@require("order:write")
@blp.arguments(OrderIn)
@blp.response(201, OrderOut)
def place_order(body):
    """Record a sale: each line a listing and a unit or lot; one serial sells once."""
    return services.place_order(http.ctx(), **body)


@blp.route("/orders", methods=["GET"])
@require("order:read")
@blp.arguments(OrderQuery, location="query")
@blp.response(200, page_of(OrderOut, "OrderPage"))
def list_orders(args):
    """Orders, newest last (a merchant sees its own)."""
    c = http.ctx()
    stmt = select(Order)
    if not c.actor.sees_everything:
        stmt = stmt.where(Order.merchant_id == c.actor.party_id)
    if args.get("status"):
        stmt = stmt.where(Order.status == args["status"])
    return paginate(c.db, stmt, Order.id, args["limit"], args["cursor"])


@blp.route("/orders/<order_id>", methods=["GET"])
@require("order:read")
@blp.response(200, OrderOut)
def get_order(order_id):
    """One order with its lines."""
    return services.get_order(http.ctx(), order_id)


@blp.route("/orders/<order_id>/returns", methods=["POST"])
@require("return:write")
@blp.arguments(ReturnIn)
@blp.response(201, ReturnOut)
def request_return(body, order_id):
    """Start a return of delivered units."""
    return services.request_return(http.ctx(), order_id, **body)


@blp.route("/returns/<return_id>/receive", methods=["POST"])
@require("return:write")
@blp.response(200, ReturnOut)
def receive_return(return_id):
    """The goods came back: they can be sold again."""
    return services.receive_return(http.ctx(), return_id)
