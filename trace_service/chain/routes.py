"""/api/v1/trail: the whole trail of any trace key."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from trace_service import http
from trace_service.chain import services
from trace_service.http import require
from trace_service.schemas import decode_cursor, encode_cursor, text

blp = Blueprint("chain", __name__, url_prefix="/api/v1", description="Trails")


class TrailQuery(Schema):
    key = text(300, metadata={"description": "Any identifier: element string, Digital Link, "
                                             "drug code, SSCC, waybill/NUMBER, canonical key"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class EventOut(Schema):
    redacted = fields.Boolean(metadata={"description": "A step of another party: only its "
                                                       "business step and date are shown"})
    date = fields.String(metadata={"description": "Date of a redacted step (local zone)"})
    event_id = fields.String()
    biz_step = fields.String()
    event_time = fields.DateTime()
    record_time = fields.DateTime()
    point_id = fields.String(allow_none=True)
    party_id = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    via = fields.String(metadata={"description": "direct, or container (through a parcel)"})
    content = fields.Dict(metadata={"description": "The canonical event content (every other "
                                                    "field is read from it)"})
    damaged = fields.String(metadata={"description": "Why the stored content could not be "
                                                     "read (then verify names the entry)"})


class TrailOut(Schema):
    trace_key = fields.Dict()
    events = fields.List(fields.Nested(EventOut))
    next_cursor = fields.String(allow_none=True)


@blp.route("/trail", methods=["GET"])
@require("trail:read")
@blp.arguments(TrailQuery, location="query")
@blp.response(200, TrailOut)
def trail(args):
    """Every step of a unit, lot or parcel; a parcel's steps appear in its contents' trails."""
    after = decode_cursor(args["cursor"], int)
    header, events, last = services.trail(http.ctx(), args["key"], limit=args["limit"],
                                          after=after)
    return {"trace_key": _jsonable(header), "events": events,
            "next_cursor": encode_cursor(last)}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
