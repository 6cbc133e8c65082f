"""Schemas for orders and returns."""

from marshmallow import Schema, fields, validate

from trace_service.schemas import EventTime, PersonIn, text

PAYMENT_CHANNELS = ("alipay", "wechat_pay", "unionpay", "bank_transfer", "card", "cash_on_delivery",
                    "other")
RETURN_REASONS = ("no_reason_7_days", "defective", "wrong_item", "damaged", "recall", "other")


class PaymentIn(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(PAYMENT_CHANNELS))
    reference = text(100, metadata={"description": "The payment provider's transaction id"})


class LineIn(Schema):
    listing_id = text(40)
    key = text(200, metadata={"description": "Unit or lot: element string, Digital Link, "
                                              "drug code or canonical key"})
    quantity = fields.Integer(load_default=1, strict=True,
                              validate=validate.Range(min=1, max=100000))


class OrderIn(Schema):
    order_no = text(64)
    buyer = fields.Nested(PersonIn, required=True)
    consignee = fields.Nested(PersonIn, load_default=None)
    payment = fields.Nested(PaymentIn, required=True)
    lines = fields.List(fields.Nested(LineIn), required=True,
                        validate=validate.Length(min=1, max=200))
    event_time = EventTime


class LineOut(Schema):
    listing_id = fields.String()
    key = fields.Function(lambda line: line.trace_key.key)
    quantity = fields.Integer()
    price_cents = fields.Integer()


class OrderOut(Schema):
    id = fields.String()
    order_no = fields.String()
    merchant_id = fields.String()
    buyer_id = fields.String()
    consignee_id = fields.String(allow_none=True)
    payment_channel = fields.String()
    payment_reference = fields.String()
    total_cents = fields.Integer()
    currency = fields.String()
    status = fields.String()
    placed_at = fields.DateTime()
    lines = fields.List(fields.Nested(LineOut))


class OrderQuery(Schema):
    status = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class ReturnIn(Schema):
    keys = fields.List(text(200), required=True, validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=validate.OneOf(RETURN_REASONS))


class ReturnOut(Schema):
    id = fields.String()
    order_id = fields.String()
    reason = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    keys = fields.Function(lambda r: [item.trace_key.key for item in r.items])
