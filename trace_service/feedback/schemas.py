"""Schemas for reviews and complaints."""

from marshmallow import Schema, fields, validate

from trace_service.feedback.models import COMPLAINT_CATEGORIES, COMPLAINT_STATUSES
from trace_service.schemas import PersonId, PersonIn, PersonRef, text


class ReviewIn(Schema):
    reviewer = fields.Nested(PersonRef, required=True)
    rating = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    text = fields.String(load_default="", validate=validate.Length(max=2000))


class ReviewOut(Schema):
    id = fields.String()
    order_id = fields.String()
    reviewer_id = PersonId(allow_none=True)
    sequence = fields.Integer()
    rating = fields.Integer(allow_none=True)
    text = fields.String()
    created_at = fields.DateTime()


class ComplaintIn(Schema):
    order_id = text(40)
    category = fields.String(required=True, validate=validate.OneOf(COMPLAINT_CATEGORIES))
    text = text(4000)
    complainant = fields.Nested(PersonIn, load_default=None)
    key = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                        metadata={"description": "The unit or lot complained about"})


class ComplaintUpdate(Schema):
    status = fields.String(required=True, validate=validate.OneOf(COMPLAINT_STATUSES[1:]))
    resolution = fields.String(load_default=None, validate=validate.Length(max=4000))


class ComplaintOut(Schema):
    id = fields.String()
    order_id = fields.String()
    merchant_id = fields.String()
    complainant_id = PersonId(allow_none=True)
    category = fields.String()
    text = fields.String()
    status = fields.String()
    resolution = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ComplaintQuery(Schema):
    status = fields.String(validate=validate.OneOf(COMPLAINT_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
