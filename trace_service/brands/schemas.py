"""Schemas for company prefixes and brand authorisations."""

from marshmallow import Schema, fields, validate

from trace_service.schemas import text

PREFIX = validate.Regexp(r"^\d{4,12}$", error="a GS1 company prefix is 4 to 12 digits")


class PrefixIn(Schema):
    prefix = fields.String(required=True, validate=PREFIX)
    evidence = text(200, metadata={"description": "What the holding was checked against, "
                                                  "e.g. the GS1 membership certificate number"})


class PrefixOut(Schema):
    prefix = fields.String()
    party_id = fields.String()
    evidence = fields.String()
    created_at = fields.DateTime()


class AuthorisationIn(Schema):
    grantee_id = text(40)
    gtins = fields.List(fields.String(validate=validate.Length(min=1, max=14)),
                        load_default=list, validate=validate.Length(max=200))
    prefix = fields.String(load_default=None, validate=PREFIX)
    reference = text(100, metadata={"description": "The written authorisation's reference"})
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    grantor_id = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                               metadata={"description": "Administrators only: the owner"})


class AuthorisationOut(Schema):
    id = fields.String()
    grantor_id = fields.String()
    grantee_id = fields.String()
    scope_kind = fields.String()
    scope_value = fields.String()
    reference = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    revoked_at = fields.DateTime(allow_none=True)


class AuthorisationsOut(Schema):
    items = fields.List(fields.Nested(AuthorisationOut))


class PrefixesOut(Schema):
    items = fields.List(fields.Nested(PrefixOut))
