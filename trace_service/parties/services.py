"""Onboarding parties with real-name and licence records; points, devices and staff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from trace_service.context import Ctx
from trace_service.db import new_id
from trace_service.errors import Conflict, NotFound, Unprocessable, check_identifier
from trace_service.identifiers import parse_credit_code, validate_gln
from trace_service.parties.models import Device, Licence, LogisticsPoint, Party, Staff
from trace_service.people.services import upsert_person


def get_party(ctx: Ctx, party_id: str) -> Party:
    party = ctx.db.get(Party, party_id)
    if party is None:
        raise NotFound("party_not_found", f"party {party_id} does not exist", party=party_id)
    return party


def create_party(ctx: Ctx, *, kind: str, name: str, credit_code: str, verified: bool) -> Party:
    code = check_identifier(parse_credit_code, credit_code, "credit_code")
    if ctx.db.scalar(select(Party.id).where(Party.credit_code == code)):
        raise Conflict("credit_code_taken",
                       f"a party with credit code {code} is already registered",
                       credit_code=code)
    party = Party(id=new_id("pty"), kind=kind, name=name, credit_code=code, verified=verified)
    ctx.db.add(party)
    ctx.db.flush()
    return party


def add_licence(ctx: Ctx, party_id: str, *, kind: str, number: str, categories: list[str],
                valid_from: dt.date, valid_until: dt.date, issuer: str | None) -> Licence:
    party = get_party(ctx, party_id)
    if valid_until < valid_from:
        raise Unprocessable("licence_dates", "valid_until is before valid_from",
                            valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
    if ctx.db.scalar(select(Licence.id).where(Licence.party_id == party.id,
                                              Licence.kind == kind, Licence.number == number)):
        raise Conflict("licence_exists", f"licence {kind} {number} is already on record")
    licence = Licence(id=new_id("lic"), party_id=party.id, kind=kind, number=number,
                      categories=sorted(set(categories)), valid_from=valid_from,
                      valid_until=valid_until, issuer=issuer)
    ctx.db.add(licence)
    ctx.db.flush()
    return licence


def create_point(ctx: Ctx, *, name: str, city: str, latitude: float | None,
                 longitude: float | None, gln: str | None, carrier_id: str | None) -> LogisticsPoint:
    if gln:
        gln = check_identifier(validate_gln, gln, "gln")
        if ctx.db.scalar(select(LogisticsPoint.id).where(LogisticsPoint.gln == gln)):
            raise Conflict("gln_taken", f"GLN {gln} already names another point", gln=gln)
    if carrier_id:
        _party_of_kind(ctx, carrier_id, "carrier")
    point = LogisticsPoint(id=new_id("pt"), name=name, city=city, latitude=latitude,
                           longitude=longitude, gln=gln, carrier_id=carrier_id)
    ctx.db.add(point)
    ctx.db.flush()
    return point


def get_point(ctx: Ctx, point_id: str) -> LogisticsPoint:
    point = ctx.db.get(LogisticsPoint, point_id)
    if point is None:
        raise NotFound("point_not_found", f"logistics point {point_id} does not exist",
                       point=point_id)
    return point


def create_device(ctx: Ctx, *, label: str, point_id: str, carrier_id: str) -> Device:
    get_point(ctx, point_id)
    _party_of_kind(ctx, carrier_id, "carrier")
    device = Device(id=new_id("dev"), label=label, point_id=point_id, carrier_id=carrier_id)
    ctx.db.add(device)
    ctx.db.flush()
    return device


def create_staff(ctx: Ctx, *, carrier_id: str, staff_no: str, person: dict,
                 point_id: str | None) -> Staff:
    ctx.own_party(carrier_id, "party", carrier_id)
    _party_of_kind(ctx, carrier_id, "carrier")
    if point_id:
        point = ctx.db.get(LogisticsPoint, point_id)
        if point is None or point.carrier_id != carrier_id:
            raise Unprocessable("point_not_found", f"point_id: no point {point_id} of carrier "
                                f"{carrier_id}", field="point_id")
    if ctx.db.scalar(select(Staff.id).where(Staff.carrier_id == carrier_id,
                                            Staff.staff_no == staff_no)):
        raise Conflict("staff_exists", f"staff number {staff_no} is already registered")
    staff = Staff(id=new_id("stf"), carrier_id=carrier_id, staff_no=staff_no,
                  person_id=upsert_person(ctx.db, person, carrier_id).id, point_id=point_id)
    ctx.db.add(staff)
    ctx.db.flush()
    return staff


def _party_of_kind(ctx: Ctx, party_id: str, kind: str) -> Party:
    party = ctx.db.get(Party, party_id)
    if party is None:
        raise Unprocessable("party_not_found", f"party {party_id} does not exist",
                            party=party_id)
    if party.kind != kind:
        raise Unprocessable("party_kind_mismatch",
                            f"party {party_id} is a {party.kind}, not a {kind}",
                            party=party_id, expected=kind, found=party.kind)
    return party
