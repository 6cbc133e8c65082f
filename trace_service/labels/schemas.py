"""Schemas of the label routes."""

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from trace_service.labels.sheets import MAX_DRAWN, MAX_LABELS
from trace_service.labels.symbols import EC_LEVELS, SYMBOLOGIES

Symbology = fields.String(required=True, validate=validate.OneOf(SYMBOLOGIES))


class LabelArgs(Schema):
    key = fields.String(load_default=None, validate=validate.Length(min=1, max=300),
                        metadata={"description": "A unit, lot or parcel in any accepted form "
                                                 "(trace key, element string, Digital Link, "
                                                 "drug code, SSCC, waybill/NUMBER)"})
    gtin = fields.String(load_default=None, validate=validate.Length(min=8, max=14),
                         metadata={"description": "A product (EAN-13, or a product QR)"})
    format = fields.String(load_default="png", validate=validate.OneOf(("png", "svg")))
    size = fields.Integer(load_default=8, validate=validate.Range(min=1, max=40),
                          metadata={"description": "Pixels (SVG: units) per module"})
    margin = fields.Integer(load_default=None, validate=validate.Range(min=0, max=40),
                            metadata={"description": "Quiet zone in modules (default: the "
                                                     "symbology's minimum)"})
    ec = fields.String(load_default="M", validate=validate.OneOf(tuple(EC_LEVELS)),
                       metadata={"description": "QR error correction: L, M, Q, H"})
    expiry = fields.Boolean(load_default=False,
                            metadata={"description": "Carry the lot's use-by date (AI 17)"})


class SerialRange(Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=15))
    start = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))
    end = fields.Integer(required=True, validate=validate.Range(min=0, max=10**15))
    width = fields.Integer(load_default=4, validate=validate.Range(min=1, max=15))

    @validates_schema
    def _size(self, data, **_kwargs):
        if data["end"] < data["start"]:
            raise ValidationError("end is before start", "end")
        if data["end"] - data["start"] + 1 > MAX_LABELS:
            raise ValidationError(f"at most {MAX_LABELS} serials per sheet", "end")


class SheetIn(Schema):
    symbology = Symbology
    gtin = fields.String(required=True, validate=validate.Length(min=8, max=14))
    lot = fields.String(load_default=None, validate=validate.Length(min=1, max=20))
    serials = fields.Nested(SerialRange, load_default=None,
                            metadata={"description": "One label per serial of this range"})
    copies = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_LABELS),
                            metadata={"description": "Copies of the lot's (or product's) "
                                                     "label"})
    columns = fields.Integer(load_default=None, validate=validate.Range(min=1, max=10))
    rows = fields.Integer(load_default=None, validate=validate.Range(min=1, max=20))
    format = fields.String(load_default="pdf", validate=validate.OneOf(("pdf", "png")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_LABELS),
                          metadata={"description": "The (first) page to draw"})
    pages = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_LABELS),
                           metadata={"description": f"PDF: how many pages from page on "
                                                    f"(default: all); at most {MAX_DRAWN} "
                                                    f"labels are drawn a request. The "
                                                    f"response's X-Sheet-Pages header "
                                                    f"gives the sheet's page count"})
    ec = fields.String(load_default="M", validate=validate.OneOf(tuple(EC_LEVELS)))
    expiry = fields.Boolean(load_default=False)
