"""Brand ownership: who may register a GTIN and name its maker.

A GTIN belongs to the holder of the GS1 company prefix it starts with (the GTIN-13 form of
the GTIN-14, i.e. after the indicator digit). Prefixes are recorded by an administrator with
the evidence; no two recorded prefixes overlap, so every GTIN has at most one brand owner.
A product is registered by its brand owner, or by a party holding the owner's written
authorisation (a named GTIN or a whole prefix, valid today, not revoked).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from trace_service.brands.models import BrandAuthorisation, CompanyPrefix
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, Forbidden, NotFound, Unprocessable, check_identifier
from trace_service.identifiers import normalize_gtin
from trace_service.parties.models import TRADING_KINDS, Party


def brand_owner_prefix(db, gtin14: str) -> CompanyPrefix | None:
    """The recorded company prefix a GTIN-14 falls under, if any."""
    body = gtin14[1:]
    candidates = [body[:n] for n in range(4, 13)]
    return db.scalar(select(CompanyPrefix).where(CompanyPrefix.prefix.in_(candidates)))


def record_prefix(ctx: Ctx, party_id: str, *, prefix: str, evidence: str) -> CompanyPrefix:
    """An administrator records that ``party_id`` holds ``prefix`` (seen ``evidence``)."""
    party = ctx.db.get(Party, party_id)
    if party is None:
        raise NotFound("party_not_found", f"party {party_id} does not exist", party=party_id)
    if party.kind not in TRADING_KINDS:
        raise Unprocessable("party_kind_mismatch", f"a {party.kind} cannot own a brand; "
                            "company prefixes belong to makers, merchants and platforms")
    overlapping = ctx.db.scalar(select(CompanyPrefix).where(or_(
        CompanyPrefix.prefix.in_([prefix[:n] for n in range(4, len(prefix) + 1)]),
        CompanyPrefix.prefix.startswith(prefix))))
    if overlapping is not None:
        same = overlapping.party_id == party.id and overlapping.prefix == prefix
        raise Conflict("prefix_exists" if same else "prefix_overlaps",
                       f"prefix {prefix} is already on record" if same else
                       f"prefix {prefix} overlaps prefix {overlapping.prefix}, held by "
                       "another party; one GTIN has one brand owner", prefix=prefix)
    row = CompanyPrefix(prefix=prefix, party_id=party.id, evidence=evidence,
                        verified_by=ctx.actor.key_id)
    ctx.db.add(row)
    ctx.db.flush()
    return row


def prefixes_of(ctx: Ctx, party_id: str) -> list[CompanyPrefix]:
    return ctx.db.scalars(select(CompanyPrefix).where(CompanyPrefix.party_id == party_id)
                          .order_by(CompanyPrefix.prefix)).all()


def grant(ctx: Ctx, *, grantee_id: str, gtins: list[str], prefix: str | None,
          reference: str, valid_from: dt.date, valid_until: dt.date,
          grantor_id: str | None = None) -> list[BrandAuthorisation]:
    """The brand owner (the caller, or ``grantor_id`` for an administrator) authorises
    ``grantee_id`` for the named GTINs or one whole prefix of its own."""
    grantor = ctx.actor.party_id if not ctx.actor.sees_everything else grantor_id
    if not grantor:
        raise Unprocessable("grantor_required", "grantor_id: name the brand owner",
                            field="grantor_id")
    if bool(gtins) == bool(prefix):
        raise Unprocessable("scope_required", "give either gtins or prefix, not both")
    if valid_until < valid_from:
        raise Unprocessable("authorisation_dates", "valid_until is before valid_from")
    grantee = ctx.db.get(Party, grantee_id)
    if grantee is None or grantee_id == grantor:
        raise Unprocessable("party_not_found", f"grantee_id: no other party {grantee_id}",
                            field="grantee_id")
    scopes = []
    if prefix:
        held = ctx.db.get(CompanyPrefix, prefix)
        if held is None or held.party_id != grantor:
            raise Forbidden("not_your_prefix", f"prefix {prefix} is not on record as yours",
                            prefix=prefix)
        scopes.append(("prefix", prefix))
    for i, text in enumerate(gtins):
        gtin14 = check_identifier(normalize_gtin, text, f"gtins[{i}]")
        owner = brand_owner_prefix(ctx.db, gtin14)
        if owner is None or owner.party_id != grantor:
            raise Forbidden("not_your_brand", f"gtins[{i}]: GTIN {gtin14} is not under a "
                            "company prefix of yours", field=f"gtins[{i}]", gtin=gtin14)
        scopes.append(("gtin", gtin14))
    rows = [BrandAuthorisation(id=new_id("aut"), grantor_id=grantor, grantee_id=grantee.id,
                               scope_kind=kind, scope_value=value, reference=reference,
                               valid_from=valid_from, valid_until=valid_until)
            for kind, value in dict.fromkeys(scopes)]
    ctx.db.add_all(rows)
    ctx.db.flush()
    return rows


def authorisations(ctx: Ctx) -> list[BrandAuthorisation]:
    """Authorisations the caller gave or holds (all of them for an administrator)."""
    stmt = select(BrandAuthorisation).order_by(BrandAuthorisation.id)
    if not ctx.actor.sees_everything:
        me = ctx.actor.party_id
        stmt = stmt.where(or_(BrandAuthorisation.grantor_id == me,
                              BrandAuthorisation.grantee_id == me))
    return ctx.db.scalars(stmt).all()


def revoke(ctx: Ctx, authorisation_id: str) -> BrandAuthorisation:
    row = ctx.db.get(BrandAuthorisation, authorisation_id)
    if row is None or not (ctx.actor.sees_everything or row.grantor_id == ctx.actor.party_id):
        raise NotFound("authorisation_not_found", f"no authorisation {authorisation_id} "
                       "given by you")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def check_may_register(ctx: Ctx, gtin14: str) -> CompanyPrefix:
    """The brand owner's prefix of ``gtin14`` if the caller owns the brand, is authorised by
    its owner, or is an administrator acting for the owner; otherwise a 403 saying why."""
    owner = brand_owner_prefix(ctx.db, gtin14)
    if owner is None:
        raise Forbidden("no_brand_owner", f"GTIN {gtin14} falls under no GS1 company prefix on "
                        "record; an administrator records the brand owner's prefix (with its "
                        "GS1 membership evidence) before the GTIN can be registered",
                        gtin=gtin14)
    if ctx.actor.sees_everything or owner.party_id == ctx.actor.party_id:
        return owner
    if authorised(ctx.db, ctx.actor.party_id, owner.party_id, gtin14, ctx.today()):
        return owner
    raise Forbidden("not_brand_owner", f"GTIN {gtin14} belongs to the holder of company "
                    f"prefix {owner.prefix}; register it with that party's key or with its "
                    "written authorisation", gtin=gtin14, prefix=owner.prefix)


def authorised(db, party_id: str | None, owner_id: str, gtin14: str, on: dt.date) -> bool:
    if not party_id:
        return False
    rows = db.scalars(select(BrandAuthorisation).where(
        BrandAuthorisation.grantee_id == party_id,
        BrandAuthorisation.grantor_id == owner_id)).all()
    return any(row.covers(gtin14, on) for row in rows)
