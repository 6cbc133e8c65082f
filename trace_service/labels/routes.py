"""/api/v1/labels: one symbol as PNG or SVG, and A4 sheets as PDF or PNG."""

from __future__ import annotations

from flask import Response, current_app
from flask_smorest import Blueprint

from trace_service import http
from trace_service.errors import NotFound
from trace_service.http import require
from trace_service.labels import services, sheets
from trace_service.labels.schemas import LabelArgs, SheetIn
from trace_service.labels.symbols import SYMBOLOGIES

blp = Blueprint("labels", __name__, url_prefix="/api/v1/labels",
                description="Labels: QR (Digital Link), GS1 DataMatrix, GS1-128, EAN-13, "
                            "Code 128, A4 sheets")

_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def _binary(*types):
    return {"content": {t: {"schema": {"type": "string", "format": "binary"}} for t in types}}


@blp.route("/sheets", methods=["POST"])
@require("label:write")
@blp.arguments(SheetIn)
@blp.doc(responses={"200": dict(_binary("application/pdf", "image/png"),
                                description="The sheet")})
def sheet(body):
    """A4 sheet of labels for a serial range of a lot, or copies of a lot's label.

    Up to 1000 labels a sheet; one request draws the pages asked for (``page``,
    ``pages``), at most 200 labels: ask for a long run's pages a few at a time."""
    ctx = http.ctx()
    labels = services.sheet_labels(
        ctx, symbology=body["symbology"], gtin=body["gtin"], lot=body["lot"],
        serials=body["serials"], copies=body["copies"],
        base_url=current_app.config["PUBLIC_BASE_URL"], with_expiry=body["expiry"])
    data = services.sheet(labels, body["format"], columns=body["columns"], rows=body["rows"],
                          ec=body["ec"], page=body["page"], pages=body["pages"],
                          limit=sheets.MAX_DRAWN)
    filename = f"labels-{body['gtin']}-{body['lot'] or 'product'}.{body['format']}"
    total = services.page_count(labels, body["columns"], body["rows"])
    return Response(data, mimetype=_TYPES[body["format"]],
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "X-Sheet-Pages": str(total)})


@blp.route("/symbols/<symbology>", methods=["GET"])
@require("label:write")
@blp.arguments(LabelArgs, location="query")
@blp.doc(responses={"200": dict(_binary("image/png", "image/svg+xml"),
                                description="The symbol"),
                    "404": {"description": "Unknown symbology, key or product"}})
def label(args, symbology):
    """One symbol for a unit, lot or parcel (``key``) or a product (``gtin``).

    Symbologies: ``qr`` (the consumer page's Digital Link), ``datamatrix`` (GS1),
    ``gs1-128``, ``ean13`` (product GTIN-13), ``code128`` (drug code, waybill)."""
    if symbology not in SYMBOLOGIES:
        raise NotFound("unknown_symbology", f"symbology must be one of {', '.join(SYMBOLOGIES)}",
                       symbology=symbology[:40])
    ctx = http.ctx()
    symbol = services.label(ctx, symbology, key=args["key"], gtin=args["gtin"],
                            base_url=current_app.config["PUBLIC_BASE_URL"],
                            with_expiry=args["expiry"])
    data = services.render(symbol, args["format"], size=args["size"], margin=args["margin"],
                           ec=args["ec"])
    return Response(data, mimetype=_TYPES[args["format"]],
                    headers={"Cache-Control": "private, max-age=300"})
