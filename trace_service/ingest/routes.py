"""/api/v1/scans/batch (scanner uploads), /scans/limits, /blocklist (offline warnings)."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from trace_service import http
from trace_service.http import require
from trace_service.ingest import services

blp = Blueprint("ingest", __name__, url_prefix="/api/v1", description="Scanner ingestion")


class BatchScanIn(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUIDv7; the "
                                                            "idempotency key"})
    key = fields.String(required=True, validate=validate.Length(min=1, max=300),
                        metadata={"description": "The code as scanned"})
    step = fields.String(required=True, validate=validate.OneOf(services.STEPS))
    device_time = fields.AwareDateTime(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**53))
    staff_no = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class BatchIn(Schema):
    scans = fields.List(fields.Nested(BatchScanIn), required=True,
                        validate=validate.Length(min=1))


class ScanReceiptOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "accepted, duplicate or rejected"})
    code = fields.String()
    message = fields.String()
    warnings = fields.List(fields.String())
    event_id = fields.String()


class BatchOut(Schema):
    receipts = fields.List(fields.Nested(ScanReceiptOut))
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
