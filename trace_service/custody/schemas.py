"""Schemas for transfers between parties and stock."""

from marshmallow import Schema, fields, validate

from trace_service.schemas import EventTime, text


class TransferItemIn(Schema):
    key = text(300, metadata={"description": "A unit or lot key (any accepted form)"})
    quantity = fields.Integer(load_default=None, strict=True,
                              validate=validate.Range(min=1, max=10**9),
                              metadata={"description": "Required for lots; 1 for units"})


class TransferIn(Schema):
    destination_id = text(40, metadata={"description": "The party receiving the goods"})
    items = fields.List(fields.Nested(TransferItemIn), required=True,
                        validate=validate.Length(min=1, max=1000))
    reference = text(100, metadata={"description": "Despatch advice number"})
    carrier_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    event_time = EventTime


class ReceiveIn(Schema):
    event_time = EventTime


class TransferItemOut(Schema):
    key = fields.Function(lambda item: item.trace_key.key)
    quantity = fields.Integer()


class TransferOut(Schema):
    id = fields.String()
    source_id = fields.String()
    destination_id = fields.String()
    carrier_id = fields.String(allow_none=True)
    reference = fields.String()
    status = fields.String()
    shipped_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(TransferItemOut))


class StockLot(Schema):
    key = fields.String()
    quantity = fields.Integer()


class StockUnits(Schema):
    gtin = fields.String()
    in_stock = fields.Integer()
    shipped = fields.Integer()


class StockOut(Schema):
    party_id = fields.String(allow_none=True)
    lots = fields.List(fields.Nested(StockLot))
    units = fields.List(fields.Nested(StockUnits))


class StockArgs(Schema):
    party_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                             metadata={"description": "Administrators and inspectors only"})
