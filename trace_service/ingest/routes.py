"""/api/v1/scans/batch (scanner uploads), /scans/limits, /blocklist (offline warnings)."""

import datetime as dt
import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from trace_service import http
from trace_service.http import require
from trace_service.ingest import services
from trace_service.schemas import DEVICE_AHEAD, EARLIEST_EVENT, device_time

blp = Blueprint("ingest", __name__, url_prefix="/api/v1", description="Scanner ingestion")


class BatchScanIn(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUIDv7; the "
                                                            "idempotency key"})
    key = fields.String(required=True, validate=validate.Length(min=1, max=300),
                        metadata={"description": "The code as scanned"})
    step = fields.String(required=True, validate=validate.OneOf(services.STEPS))
    device_time = device_time(required=True, metadata={
        "description": "The scanner's clock, with its UTC offset: from 2000-01-01 to a year "
                       "after the server's clock (kept as it is; the skew is recorded)"})
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**53))
    staff_no = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


_SCAN_FIELDS = frozenset(BatchScanIn._declared_fields)
_SCAN_REQUIRED = frozenset(n for n, f in BatchScanIn._declared_fields.items() if f.required)


def _fast_scan(item, latest: dt.datetime) -> dict | None:
    """One scan as ``BatchScanIn`` would load it, for the plain form scanners send; None
    when anything is unusual (the schema then loads it and names what is wrong)."""
    if type(item) is not dict or not _SCAN_REQUIRED <= item.keys() <= _SCAN_FIELDS:
        return None
    id_, key, step, when, seq = (item["id"], item["key"], item["step"], item["device_time"],
                                 item["seq"])
    staff = item.get("staff_no")
    if (type(id_) is not str or type(key) is not str or not 1 <= len(key) <= 300
            or step not in services.STEPS or type(when) is not str or type(seq) is not int
            or not 0 <= seq <= 2**53
            or (staff is not None and (type(staff) is not str or not 1 <= len(staff) <= 40))):
        return None
    try:
        parsed_id = uuid.UUID(id_)
        parsed_when = dt.datetime.fromisoformat(when)
    except ValueError:
        return None
    if (parsed_when.utcoffset() is None or parsed_when < EARLIEST_EVENT
            or parsed_when > latest):
        return None
    return {"id": parsed_id, "key": key, "step": step, "device_time": parsed_when, "seq": seq,
            "staff_no": staff}


class ScanList(fields.List):
    """``List(Nested(BatchScanIn))`` (as documented) with a fast path: a batch of plain
    scans is checked here in one pass with the same parsers the schema uses; a batch with
    anything unusual goes through the schema, whose errors name the scan and the field."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is list:
            latest = dt.datetime.now(dt.timezone.utc) + DEVICE_AHEAD
            out = [_fast_scan(item, latest) for item in value]
            if None not in out:
                return out
        return super()._deserialize(value, attr, data, **kwargs)


class ReceiptList(fields.List):
    """``List(Nested(ScanReceiptOut))`` (as documented); the service's receipts are
    already plain dicts of exactly those fields, so they are written as they are."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class BatchIn(Schema):
    scans = ScanList(fields.Nested(BatchScanIn), required=True,
                     validate=validate.Length(min=1))


class ScanReceiptOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "accepted, duplicate or rejected"})
    code = fields.String()
    message = fields.String()
    warnings = fields.List(fields.String())
    event_id = fields.String()


class BatchOut(Schema):
    receipts = ReceiptList(fields.Nested(ScanReceiptOut))
    accepted = fields.Integer()
    duplicate = fields.Integer()
    rejected = fields.Integer()
    server_time = fields.DateTime()


class LimitsOut(Schema):
    max_batch = fields.Integer()
    steps = fields.List(fields.String())
    duplicate_window_seconds = fields.Integer()
    max_body_bytes = fields.Integer()


class BlockedLot(Schema):
    key = fields.String()
    gtin = fields.String()
    lot = fields.String()
    reason = fields.String()
    since = fields.String()


class BlockedUnit(Schema):
    key = fields.String()
    reason = fields.String()


class BlocklistOut(Schema):
    generated_at = fields.DateTime()
    lots = fields.List(fields.Nested(BlockedLot))
    units = fields.List(fields.Nested(BlockedUnit))
    parcels = fields.List(fields.String())
    truncated = fields.Boolean()


@blp.route("/scans/batch", methods=["POST"])
@require("scan:write")
@blp.arguments(BatchIn)
@blp.response(200, BatchOut)
def ingest(body):
    """Upload a batch of scans; one receipt per scan. Retrying a batch is safe."""
    scans = [dict(s, id=str(s["id"])) for s in body["scans"]]
    return services.ingest(http.ctx(), scans)


@blp.route("/scans/limits", methods=["GET"])
@require("scan:write")
@blp.response(200, LimitsOut)
def limits():
    """Batch limits the server enforces."""
    from flask import current_app

    return dict(services.limits(), max_body_bytes=current_app.config["MAX_CONTENT_LENGTH"])


@blp.route("/blocklist", methods=["GET"])
@require("blocklist:read")
@blp.response(200, BlocklistOut)
def blocklist():
    """Recalled and expired lots, their units and the parcels carrying them."""
    return services.blocklist(http.ctx())
