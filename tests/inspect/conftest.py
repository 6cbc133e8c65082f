"""Fixtures of the inspector tests: the world, a small history through the chain, scans."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select, text

from tests.chain.flows import MILK_LOT, deliver, drug_code, sell, ship
from tests.world import build_world

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def world(app, client):
    return build_world(app, client)


def scan(key, step="arrive", seq=0, when=None):
    return {"id": str(uuid.uuid4()), "key": key, "step": step, "seq": seq,
            "device_time": (when or dt.datetime.now(CST)).isoformat()}


def upload(caller, *scans):
    response = caller.post("/api/v1/scans/batch", {"scans": list(scans)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["receipts"]


def drug_lot_key() -> str:
    from tests.world import DRUG

    return f"01/0{DRUG}/10/B1"


@pytest.fixture
def history(world):
    """Milk sold twice: order A delivered after a scan in Hangzhou, order B in transit
    (last seen in Shanghai); drug pack 1 dispatched and never scanned, drug pack 2 sold
    and not packed."""
    order_a, parcel_a = ship(world)
    upload(world.device, scan(parcel_a, "arrive", 1))
    assert deliver(world, parcel_a).status_code == 201
    order_b, parcel_b = ship(world, buyer={"external_ref": "buyer-2", "name": "王芳",
                                           "phone": "13700001111", "address": "上海市浦东新区世纪大道1号"})
    upload(world.device_b, scan(parcel_b, "arrive", 1))
    order_c, parcel_c = ship(world, world.pharmacy,
                             lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(1)}])
    order_d = sell(world, world.pharmacy, lines=[{"listing_id": world.ids["drug_listing"],
                                                  "key": drug_code(2)}]).get_json()
    world.ids.update(order_a=order_a["id"], parcel_a=parcel_a, order_b=order_b["id"],
                     parcel_b=parcel_b, order_c=order_c["id"], parcel_c=parcel_c,
                     order_d=order_d["id"], drug_lot=drug_lot_key())
    return world


@pytest.fixture
def sql(app):
    """Run SQL directly, as someone with database access could."""

    def run(statement: str, **params):
        with app.extensions["trace_db"].engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    return run


def count(app, model, *where) -> int:
    with app.extensions["trace_db"].read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


__all__ = ["CST", "MILK_LOT", "count", "csrf_of", "scan", "upload"]
