"""Products, lots and serialised units (commissioning), and listings with the licence rule."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from trace_service.brands.services import authorised, check_may_register
from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.events import record_event
from trace_service.chain.models import TraceKey
from trace_service.context import Ctx
from trace_service.custody import services as custody
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, Forbidden, NotFound, Unprocessable, check_identifier
from trace_service.identifiers import (
    drug_unit_key, lot_key, normalize_gtin, parse_drug_code, unit_key,
)
from trace_service.parties.models import Party

MAX_UNITS_PER_REQUEST = 1000


def get_product(ctx: Ctx, gtin: str) -> Product:
    gtin14 = check_identifier(normalize_gtin, gtin, "gtin")
    product = ctx.db.get(Product, gtin14)
    if product is None:
        raise NotFound("product_not_found", f"no product with GTIN {gtin14}", gtin=gtin14)
    return product


def create_product(ctx: Ctx, *, gtin: str, name: str, category: str, maker_id: str | None,
                   drug_product_code: str | None) -> Product:
    """Register a GTIN: only its brand owner (the holder of its GS1 company prefix) or a
    party the owner authorised may (``trace_service.brands``). The maker is the brand owner
    unless another maker is named; that maker is shown as such once it confirms."""
    gtin14 = check_identifier(normalize_gtin, gtin, "gtin")
    owner = check_may_register(ctx, gtin14)
    if ctx.db.get(Product, gtin14) is not None:
        raise Conflict("product_exists", f"GTIN {gtin14} is already registered", gtin=gtin14)
    maker_id = maker_id or owner.party_id
    maker = ctx.db.get(Party, maker_id)
    if maker is None:
        raise Unprocessable("party_not_found", f"maker {maker_id} does not exist",
                            maker_id=maker_id)
    if maker.kind not in ("manufacturer", "merchant"):
        raise Unprocessable("party_kind_mismatch",
                            f"maker {maker_id} is a {maker.kind}, not a manufacturer")
    if drug_product_code and ctx.db.scalar(
        select(Product.gtin).where(Product.drug_product_code == drug_product_code)
    ):
        raise Conflict("drug_product_code_taken",
                       f"drug product code {drug_product_code} already names another product")
    product = Product(gtin=gtin14, name=name, category=category, maker_id=maker_id,
                      registrant_id=ctx.actor.party_id or owner.party_id,
                      brand_owner_id=owner.party_id,
                      maker_confirmed=maker_id in (owner.party_id, ctx.actor.party_id),
                      drug_product_code=drug_product_code)
    ctx.db.add(product)
    ctx.db.flush()
    return product


def confirm_maker(ctx: Ctx, gtin: str) -> Product:
    """The named maker confirms it makes this product (only it can)."""
    product = get_product(ctx, gtin)
    if ctx.actor.party_id != product.maker_id:
        raise Forbidden("not_the_maker", f"only the named maker of GTIN {product.gtin} can "
                        "confirm it makes the product", gtin=product.gtin)
    product.maker_confirmed = True
    return product


def _commissioner(ctx: Ctx, product: Product) -> str:
    """Who may commission lots and units of ``product`` (and so holds them first): the brand
    owner, the confirmed maker, or a party the owner authorised for this GTIN; an
    administrator commissions for the maker."""
    if ctx.actor.sees_everything:
        return product.maker_id if product.maker_confirmed else product.brand_owner_id
    me = ctx.actor.party_id
    if me == product.brand_owner_id or (me == product.maker_id and product.maker_confirmed):
        return me
    if product.brand_owner_id and authorised(ctx.db, me, product.brand_owner_id, product.gtin,
                                             ctx.today()):
        return me
    raise Forbidden("not_your_product", f"GTIN {product.gtin} belongs to another brand owner; "
                    "only it, its confirmed maker or a party it authorised can commission its "
                    "goods", gtin=product.gtin)


def create_lot(ctx: Ctx, *, gtin: str, lot: str, production_date: dt.date | None,
               expiry_date: dt.date | None, origin: str | None, quantity: int | None,
               event_time: dt.datetime | None = None) -> Lot:
    product = get_product(ctx, gtin)
    commissioner = _commissioner(ctx, product)
    ref = check_identifier(lambda v: lot_key(product.gtin, v), lot, "lot")
    if production_date and expiry_date and expiry_date < production_date:
        raise Unprocessable("lot_dates", "expiry_date is before production_date")
    if ctx.db.scalar(select(TraceKey.id).where(TraceKey.key == ref.key)):
        raise Conflict("lot_exists", f"lot {lot} of GTIN {product.gtin} is already registered",
                       key=ref.key)
    row = Lot(id=new_id("lot"), gtin=product.gtin, lot=lot, production_date=production_date,
              expiry_date=expiry_date, origin=origin, quantity=quantity)
    ctx.db.add(row)
    ctx.db.flush()
    key = TraceKey(kind="lot", key=ref.key, gtin=product.gtin, lot_id=row.id, state="active",
                   owner_id=commissioner)
    ctx.db.add(key)
    ctx.db.flush()
    custody.commissioned(ctx.db, key, commissioner, quantity)
    data = {k: v.isoformat() for k, v in
            (("production_date", production_date), ("expiry_date", expiry_date)) if v}
    if quantity is not None:
        data["quantity"] = quantity
    record_event(ctx.db, biz_step="commissioning", disposition="active", action="ADD",
                 actor=ctx.actor, keys=[key], default_offset=ctx.tz_offset, data=data,
                 event_time=event_time,
                 destination=commissioner, parties=[product.brand_owner_id])
    return row


def get_lot(ctx: Ctx, gtin14: str, lot: str) -> Lot:
    row = ctx.db.scalar(select(Lot).where(Lot.gtin == gtin14, Lot.lot == lot))
    if row is None:
        raise NotFound("lot_not_found", f"lot {lot} of GTIN {gtin14} is not registered",
                       gtin=gtin14, lot=lot)
    return row


def register_units(ctx: Ctx, *, gtin: str, lot: str | None, serials: list[str],
                   drug_codes: list[str], event_time: dt.datetime | None = None
                   ) -> list[TraceKey]:
    """Commission serialised units (GTIN+serial, or 20-digit drug codes) of one product."""
    product = get_product(ctx, gtin)
    commissioner = _commissioner(ctx, product)
    if not serials and not drug_codes:
        raise Unprocessable("no_units", "give serials or drug_codes")
    if len(serials) + len(drug_codes) > MAX_UNITS_PER_REQUEST:
        raise Unprocessable("too_many_units",
                            f"at most {MAX_UNITS_PER_REQUEST} units per request")
    lot_row = get_lot(ctx, product.gtin, lot) if lot else None
    refs = [check_identifier(lambda v: unit_key(product.gtin, v), s, f"serials[{i}]")
            for i, s in enumerate(serials)]
    for i, code in enumerate(drug_codes):
        parsed = check_identifier(parse_drug_code, code, f"drug_codes[{i}]")
        if product.drug_product_code != parsed.product_code:
            raise Unprocessable(
                "drug_code_product_mismatch",
                f"drug_codes[{i}]: product code {parsed.product_code} does not belong to "
                f"GTIN {product.gtin} (expected {product.drug_product_code or 'none set'})",
                field=f"drug_codes[{i}]", expected=product.drug_product_code,
                found=parsed.product_code)
        refs.append(drug_unit_key(parsed.code))
    wanted = [r.key for r in refs]
    if len(set(wanted)) != len(wanted):
        raise Unprocessable("duplicate_units", "the same unit is listed twice in the request")
    taken = ctx.db.scalars(select(TraceKey.key).where(TraceKey.key.in_(wanted))).all()
    if taken:
        raise Conflict("unit_exists", f"{len(taken)} unit(s) already registered, e.g. {taken[0]}",
                       keys=sorted(taken)[:20])
    keys = [TraceKey(kind="unit", key=k, gtin=product.gtin,
                     lot_id=lot_row.id if lot_row else None, state="commissioned",
                     owner_id=commissioner) for k in wanted]
    ctx.db.add_all(keys)
    ctx.db.flush()
    record_event(ctx.db, biz_step="commissioning", disposition="active", action="ADD",
                 actor=ctx.actor, keys=keys, default_offset=ctx.tz_offset,
                 data={"lot": lot_row.lot} if lot_row else None, event_time=event_time,
                 destination=commissioner, parties=[product.brand_owner_id])
    return keys


def create_listing(ctx: Ctx, *, gtin: str, lot: str | None, title: str, price_cents: int,
                   currency: str) -> Listing:
    """List a product. Refused unless the merchant is real-name verified and holds a licence
    valid today whose category scope covers the product's category."""
    product = get_product(ctx, gtin)
    merchant = ctx.db.get(Party, ctx.actor.party_id)
    if not merchant.verified:
        raise Conflict("merchant_not_verified",
                       f"{merchant.name} has not completed real-name verification")
    today = ctx.today()
    if not any(lic.covers(product.category, today) for lic in merchant.licences):
        lapsed = [lic for lic in merchant.licences if product.category in lic.categories]
        why = (f"; licence {lapsed[0].number} is valid {lapsed[0].valid_from.isoformat()} to "
               f"{lapsed[0].valid_until.isoformat()}" if lapsed else "")
        raise Conflict("no_valid_licence",
                       f"{merchant.name} holds no licence valid today for category "
                       f"{product.category}{why}", category=product.category)
    lot_row = get_lot(ctx, product.gtin, lot) if lot else None
    keys = []
    if lot_row is not None:
        from trace_service.chain.services import refuse_if_blocked

        lot_trace = ctx.db.scalar(select(TraceKey).where(TraceKey.lot_id == lot_row.id,
                                                         TraceKey.kind == "lot"))
        refuse_if_blocked(lot_trace, today, "listed")
        if not custody.holds_any_of_lot(ctx.db, lot_trace, merchant.id):
            raise Conflict("not_in_custody", f"{lot_trace.key}: you hold none of this lot; "
                           "list a lot once goods of it reach you", key=lot_trace.key)
        keys = [lot_trace]
    listing = Listing(id=new_id("lst"), merchant_id=merchant.id, gtin=product.gtin,
                      lot_id=lot_row.id if lot_row else None, title=title,
                      price_cents=price_cents, currency=currency)
    ctx.db.add(listing)
    ctx.db.flush()
    record_event(ctx.db, biz_step="listing", disposition="active", actor=ctx.actor, keys=keys,
                 default_offset=ctx.tz_offset,
                 parties=[merchant.id], transactions={"listing": listing.id},
                 data={"gtin": product.gtin, "price_cents": price_cents, "currency": currency})
    return listing


def get_listing(ctx: Ctx, listing_id: str) -> Listing:
    listing = ctx.db.get(Listing, listing_id)
    if listing is None:
        raise NotFound("listing_not_found", f"listing {listing_id} does not exist",
                       listing=listing_id)
    ctx.own_party(listing.merchant_id, "listing", listing_id)
    return listing


def withdraw_listing(ctx: Ctx, listing_id: str) -> Listing:
    listing = get_listing(ctx, listing_id)
    if listing.status != "active":
        raise Conflict("listing_not_active", f"listing {listing_id} is already withdrawn")
    listing.status = "withdrawn"
    listing.withdrawn_at = utcnow()
    record_event(ctx.db, biz_step="delisting", disposition="inactive", actor=ctx.actor, keys=[],
                 default_offset=ctx.tz_offset, parties=[listing.merchant_id],
                 transactions={"listing": listing.id})
    return listing
