"""Labels for what is registered: look the identifiers up, check the caller may print them.

A label is printed for a product, lot, unit or parcel that the service knows, by a party
that has to do with it: admins for anything; a merchant for products it registered or
makes or has a listing of (and their lots and units), and for parcels it packed. Serial
ranges on sheets need not be registered yet — labels are printed before commissioning —
but their product and lot must be.
"""

from __future__ import annotations

from sqlalchemy import select

from trace_service import visibility
from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.services import find_key
from trace_service.context import Ctx
from trace_service.errors import Forbidden, NotFound, Unprocessable, check_identifier
from trace_service.identifiers import normalize_gtin
from trace_service.labels import content, sheets, symbols
from trace_service.labels.content import Subject
from trace_service.labels.symbols import Symbol, SymbolError


def _product(ctx: Ctx, gtin: str) -> Product:
    gtin14 = check_identifier(normalize_gtin, gtin, "gtin")
    product = ctx.db.get(Product, gtin14)
    if product is None:
        raise NotFound("product_not_found", f"no product with GTIN {gtin14}", gtin=gtin14)
    return product


def _may_label_product(ctx: Ctx, product: Product) -> None:
    actor = ctx.actor
    if actor.sees_everything or actor.party_id in (product.registrant_id, product.maker_id,
                                                    product.brand_owner_id):
        return
    if actor.party_id and ctx.db.scalar(select(Listing.id).where(
            Listing.gtin == product.gtin, Listing.merchant_id == actor.party_id).limit(1)):
        return
    raise Forbidden("not_your_product", f"GTIN {product.gtin} is neither registered, made nor "
                    "listed by you", gtin=product.gtin)


def subject_of_key(ctx: Ctx, key_text: str) -> Subject:
    """The identifiers of a registered trace key (any accepted form), with its lot's
    expiry; refused unless the caller may print it."""
    key = find_key(ctx.db, key_text, "key")
    if key.kind == "parcel":
        if not ctx.actor.sees_everything and key.owner_id != ctx.actor.party_id:
            raise NotFound("unknown_trace_key", f"key: {key.key} is not registered",
                           key=key.key)
        text = key.key
        return Subject(sscc=text[3:]) if text.startswith("00/") else Subject(waybill=text[8:])
    if not visibility.knows_key(ctx.db, ctx.actor, key):
        raise NotFound("unknown_trace_key", f"key: {key.key} is not registered", key=key.key)
    product = ctx.db.get(Product, key.gtin)
    _may_label_product(ctx, product)
    lot = ctx.db.get(Lot, key.lot_id) if key.lot_id else None
    expiry = lot.expiry_date if lot else None
    if key.key.startswith("drug/"):
        return Subject(drug_code=key.key[5:], gtin=None, expiry=expiry)
    parts = key.key.split("/", 3)
    serial = parts[3] if parts[2] == "21" else None
    return Subject(gtin=product.gtin, lot=lot.lot if lot else None, serial=serial,
                   expiry=expiry)


def subject_of_product(ctx: Ctx, gtin: str) -> Subject:
    product = _product(ctx, gtin)
    _may_label_product(ctx, product)
    return Subject(gtin=product.gtin)


def label(ctx: Ctx, symbology: str, *, key: str | None, gtin: str | None, base_url: str,
          with_expiry: bool) -> Symbol:
    if bool(key) == bool(gtin):
        raise Unprocessable("key_or_gtin", "give exactly one of key (a unit, lot or parcel) "
                            "or gtin (a product)")
    subject = subject_of_key(ctx, key) if key else subject_of_product(ctx, gtin)
    return _symbol(subject, symbology, base_url, with_expiry)


def _symbol(subject: Subject, symbology: str, base_url: str, with_expiry: bool) -> Symbol:
    try:
        return content.symbol_for(subject, symbology, base_url, with_expiry)
    except SymbolError as exc:
        raise Unprocessable("cannot_draw", f"{symbology}: {exc}", symbology=symbology) from None


def render(symbol: Symbol, fmt: str, *, size: int, margin: int | None, ec: str) -> bytes:
    try:
        if fmt == "svg":
            return symbols.svg(symbol, size=size, margin=margin, ec=ec).encode()
        return symbols.png(symbol, size=size, margin=margin, ec=ec)
    except SymbolError as exc:
        raise Unprocessable("cannot_draw", str(exc)) from None


def sheet_labels(ctx: Ctx, *, symbology: str, gtin: str, lot: str | None,
                 serials: dict | None, copies: int | None, base_url: str,
                 with_expiry: bool) -> list[Symbol]:
    """The labels of a sheet: one per serial of a range (units of a lot), or ``copies``
    of the lot's (or product's) label."""
    product = _product(ctx, gtin)
    _may_label_product(ctx, product)
    lot_row = None
    if lot:
        lot_row = ctx.db.scalar(select(Lot).where(Lot.gtin == product.gtin, Lot.lot == lot))
        if lot_row is None:
            raise NotFound("lot_not_found", f"lot {lot} of GTIN {product.gtin} is not "
                           "registered", gtin=product.gtin, lot=lot)
    expiry = lot_row.expiry_date if lot_row else None
    if (serials is None) == (copies is None):
        raise Unprocessable("serials_or_copies", "give serials (a range) or copies, not both")
    try:
        if serials is not None:
            names = content.serial_range(serials.get("prefix", ""), serials["start"],
                                         serials["end"], serials.get("width", 4))
            if len(names) > sheets.MAX_LABELS:
                raise SymbolError(f"at most {sheets.MAX_LABELS} labels per sheet request")
            return [content.symbol_for(Subject(gtin=product.gtin, lot=lot, serial=name,
                                               expiry=expiry), symbology, base_url,
                                       with_expiry) for name in names]
        one = content.symbol_for(Subject(gtin=product.gtin, lot=lot, expiry=expiry),
                                 symbology, base_url, with_expiry)
        return [one] * copies
    except SymbolError as exc:
        raise Unprocessable("cannot_draw", str(exc)) from None
    except ValueError as exc:  # an IdentifierError: a serial the range makes is invalid
        raise Unprocessable("bad_serial", f"serials: {exc}", field="serials") from None


def page_count(labels: list[Symbol], columns: int | None, rows: int | None) -> int:
    columns, rows = sheets.grid_for(labels[0].symbology, columns, rows)
    return -(-len(labels) // (columns * rows))


def sheet(labels: list[Symbol], fmt: str, *, columns: int | None, rows: int | None,
          ec: str, page: int = 1, pages: int | None = None,
          limit: int | None = None) -> bytes:
    """Pages ``page`` .. ``page + pages - 1`` of the sheet (PNG: one page; PDF: by
    default every page from ``page`` on). Only those pages are drawn, and at most
    ``limit`` labels on them: drawing costs ~10 ms a label, and a request holds a worker."""
    symbology = labels[0].symbology
    columns, rows = sheets.grid_for(symbology, columns, rows)
    per_page, total = columns * rows, page_count(labels, columns, rows)
    if not 1 <= page <= total:
        raise Unprocessable("no_such_page", f"page: the sheet has {total} page(s)",
                            field="page", pages=total)
    if fmt == "png" and pages not in (None, 1):
        raise Unprocessable("one_page_per_png", "pages: a PNG is one page; ask for each page "
                            "with page=N", field="pages")
    last = min(total, page + (pages or (1 if fmt == "png" else total)) - 1)
    chosen = labels[(page - 1) * per_page:last * per_page]
    if limit is not None and len(chosen) > limit:
        fit = max(1, limit // per_page)
        raise Unprocessable(
            "too_many_labels", f"pages: one request draws at most {limit} labels; pages "
            f"{page}-{last} hold {len(chosen)} (the sheet has {total} pages of {per_page}): "
            f"ask for at most {fit} page(s) at a time with page and pages", field="pages",
            max_labels=limit, labels=len(chosen), pages=total, per_page=per_page)
    try:
        images = sheets.pages(chosen, columns, rows, ec=ec)
    except SymbolError as exc:
        raise Unprocessable("cannot_draw", str(exc)) from None
    if fmt == "pdf":
        return sheets.pdf(images)
    return sheets.png(images[0])

