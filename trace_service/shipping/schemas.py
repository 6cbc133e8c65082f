"""Schemas for parcels, scans and receipts."""

from marshmallow import Schema, fields, validate

from trace_service.schemas import EventTime, PersonId, PersonIn, text
from trace_service.shipping.services import RECEIPT_METHODS, SCAN_STEPS


class ItemIn(Schema):
    key = text(200)
    quantity = fields.Integer(load_default=None, strict=True,
                              validate=validate.Range(min=1, max=100000))


class PackIn(Schema):
    order_id = text(40)
    parcel = text(200, metadata={"description": "SSCC (00) or waybill/NUMBER"})
    carrier_id = text(40)
    items = fields.List(fields.Nested(ItemIn), load_default=None,
                        validate=validate.Length(min=1, max=500))
    event_time = EventTime


class ParcelItemOut(Schema):
    key = fields.Function(lambda item: item.trace_key.key)
    quantity = fields.Integer()


class ParcelOut(Schema):
    id = fields.String()
    key = fields.Function(lambda p: p.trace_key.key)
    state = fields.Function(lambda p: p.trace_key.state)
    order_id = fields.String()
    merchant_id = fields.String()
    carrier_id = fields.String()
    created_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    last_point_id = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ParcelItemOut))


class ParcelKeyIn(Schema):
    parcel = text(200)
    event_time = EventTime


class ScanIn(Schema):
    key = text(200, metadata={"description": "The parcel scanned (SSCC or waybill)"})
    step = fields.String(required=True, validate=validate.OneOf(SCAN_STEPS))
    point_id = fields.String(load_default=None,
                             metadata={"description": "Devices: omit (their own point)"})
    event_time = EventTime


class ScanOut(Schema):
    event_id = fields.String()
    parcel = fields.String()
    state = fields.String()
    point_id = fields.String()


class ReceiptIn(Schema):
    parcel = text(200)
    method = fields.String(load_default="consignee", validate=validate.OneOf(RECEIPT_METHODS))
    signer = fields.Nested(PersonIn, load_default=None)
    point_id = fields.String(load_default=None)
    event_time = EventTime


class ReceiptOut(Schema):
    id = fields.String()
    parcel_id = fields.String()
    signer_id = PersonId(allow_none=True)
    method = fields.String()
    signed_at = fields.DateTime()
    point_id = fields.String(allow_none=True)
