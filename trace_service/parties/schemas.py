"""Schemas for parties, licences, points, devices and staff."""

from marshmallow import Schema, fields, validate

from trace_service.parties.models import CATEGORIES, PARTY_KINDS
from trace_service.schemas import PersonIn, text


class LicenceIn(Schema):
    kind = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,40}$"),
                         metadata={"example": "food_business"})
    number = text(64)
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)),
                             required=True, validate=validate.Length(min=1))
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    issuer = fields.String(validate=validate.Length(max=200), load_default=None)


class LicenceOut(LicenceIn):
    id = fields.String()


class PartyIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PARTY_KINDS))
    name = text(200)
    credit_code = fields.String(required=True, metadata={
        "description": "18-character unified social credit code (GB 32100)"})
    verified = fields.Boolean(load_default=False)


class PartyOut(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    credit_code = fields.String()
    verified = fields.Boolean()
    created_at = fields.DateTime()
    licences = fields.List(fields.Nested(LicenceOut))


class PartyQuery(Schema):
    kind = fields.String(validate=validate.OneOf(PARTY_KINDS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class PointIn(Schema):
    name = text(200)
    city = text(100)
    latitude = fields.Float(validate=validate.Range(-90, 90), load_default=None)
    longitude = fields.Float(validate=validate.Range(-180, 180), load_default=None)
    gln = fields.String(load_default=None)
    carrier_id = fields.String(load_default=None)


class PointOut(Schema):
    id = fields.String()
    name = fields.String()
    city = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    gln = fields.String(allow_none=True)
    carrier_id = fields.String(allow_none=True)


class DeviceIn(Schema):
    label = text(100)
    point_id = text(40)
    carrier_id = text(40)


class DeviceOut(Schema):
    id = fields.String()
    label = fields.String()
    point_id = fields.String()
    carrier_id = fields.String()
    active = fields.Boolean()


class StaffIn(Schema):
    carrier_id = text(40)
    staff_no = text(40)
    person = fields.Nested(PersonIn, required=True)
    point_id = fields.String(load_default=None)


class StaffOut(Schema):
    id = fields.String()
    carrier_id = fields.String()
    staff_no = fields.String()
    person_id = fields.String()
    point_id = fields.String(allow_none=True)
