"""Schemas for products, lots, units and listings."""

from marshmallow import Schema, fields, validate

from trace_service.parties.models import CATEGORIES
from trace_service.schemas import EventTime, text


class ProductIn(Schema):
    gtin = fields.String(required=True, metadata={"description": "GTIN-8/12/13/14"})
    name = text(200)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    maker_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                             metadata={"description": "Default: the brand owner (the holder "
                                                      "of the GTIN's GS1 company prefix)"})
    drug_product_code = fields.String(load_default=None, validate=validate.Regexp(r"^\d{7}$"))


class ProductOut(Schema):
    gtin = fields.String()
    name = fields.String()
    category = fields.String()
    maker_id = fields.String()
    registrant_id = fields.String()
    brand_owner_id = fields.String(allow_none=True)
    maker_confirmed = fields.Boolean()
    drug_product_code = fields.String(allow_none=True)


class LotIn(Schema):
    gtin = fields.String(required=True)
    lot = text(20, metadata={"description": "GS1 AI (10)"})
    production_date = fields.Date(load_default=None)
    expiry_date = fields.Date(load_default=None)
    origin = fields.String(load_default=None, validate=validate.Length(max=200))
    quantity = fields.Integer(load_default=None, strict=True,
                              validate=validate.Range(min=1, max=10**9),
                              metadata={"description": "Declared quantity: held by the "
                                                       "commissioner, then moved by transfers"})
    event_time = EventTime


class LotOut(Schema):
    id = fields.String()
    gtin = fields.String()
    lot = fields.String()
    production_date = fields.Date(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    origin = fields.String(allow_none=True)
    quantity = fields.Integer(allow_none=True)
    recalled = fields.Function(lambda lot: lot.recalled_at is not None)


class UnitsIn(Schema):
    gtin = fields.String(required=True)
    lot = fields.String(load_default=None, validate=validate.Length(min=1, max=20))
    serials = fields.List(fields.String(), load_default=list,
                          validate=validate.Length(max=1000))
    drug_codes = fields.List(fields.String(), load_default=list,
                             validate=validate.Length(max=1000))
    event_time = EventTime


class TraceKeyOut(Schema):
    kind = fields.String()
    key = fields.String()
    state = fields.String()


class UnitsOut(Schema):
    units = fields.List(fields.Nested(TraceKeyOut))


class ListingIn(Schema):
    gtin = fields.String(required=True)
    lot = fields.String(load_default=None, validate=validate.Length(min=1, max=20))
    title = text(200)
    price_cents = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=0, max=10**10))
    currency = fields.String(load_default="CNY", validate=validate.Regexp(r"^[A-Z]{3}$"))


class ListingOut(Schema):
    id = fields.String()
    merchant_id = fields.String()
    gtin = fields.String()
    lot_id = fields.String(allow_none=True)
    title = fields.String()
    price_cents = fields.Integer()
    currency = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
