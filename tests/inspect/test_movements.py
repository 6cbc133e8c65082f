"""The movements behind trace forward follow every step of the chain (sale, packing, a
sale split over two parcels, dispatch, scans at points, receipt, return and re-sale), and
rebuilding them from the source tables, as migration 0007's backfill did, gives the same
trace as the rows the services kept."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import select

from tests.chain.flows import MILK_LOT, deliver, drug_code, pack, sell, sell_drug, ship
from tests.inspect.conftest import drug_lot_key, scan, upload
from trace_service import migrate
from trace_service.inspect.movements import FILLED, Movement, rebuild_movements


def forward(world, key, **params) -> list[tuple]:
    """The trace's forward rows as (order, item, sold, parcel, packed, state, point,
    position), in the order the API pages them."""
    out = world.inspector.ok("GET", "/api/v1/inspect/trace", key=key, direction="forward",
                             limit=500, **params)
    return [(r["order_id"], r["item_key"], r["quantity"], r["parcel_key"],
             r["packed_quantity"], r["parcel_state"], r["point"], r["position"])
            for r in out["forward"]["items"]]


def summary(world, key, **params) -> dict:
    return world.inspector.ok("GET", "/api/v1/inspect/trace", key=key, direction="forward",
                              **params)["forward"]["summary"]


def dispatch(world, parcel_key, caller=None):
    (caller or world.merchant).ok("POST", "/api/v1/dispatches", {"parcel": parcel_key},
                                  status=200)


def test_a_lot_sale_split_over_two_parcels_is_followed_from_sale_to_receipt(world):
    order = sell(world).get_json()["id"]  # two of the milk lot
    assert forward(world, MILK_LOT) == [
        (order, MILK_LOT, 2, None, None, None, None, "sold, not packed")]

    first = pack(world, order, items=[{"key": MILK_LOT, "quantity": 1}]).get_json()["key"]
    assert forward(world, MILK_LOT) == [
        (order, MILK_LOT, 2, first, 1, "packed", None, "packed at the merchant, not dispatched")]

    second = pack(world, order).get_json()["key"]  # the one left
    p1, p2 = sorted([first, second])
    assert forward(world, MILK_LOT) == [
        (order, MILK_LOT, 2, p1, 1, "packed", None, "packed at the merchant, not dispatched"),
        (order, MILK_LOT, 2, p2, 1, "packed", None, "packed at the merchant, not dispatched")]

    dispatch(world, first)
    world.device.ok("POST", "/api/v1/scans", {"key": first, "step": "arrive"})  # HZ centre
    rows = {r[3]: r for r in forward(world, MILK_LOT)}
    assert rows[first][5:] == ("in_transit", "HZ centre", "in transit, last seen at HZ centre "
                                                          "(Hangzhou)")
    assert rows[second][5:] == ("packed", None, "packed at the merchant, not dispatched")

    dispatch(world, second)
    rows = {r[3]: r for r in forward(world, MILK_LOT)}
    assert rows[second][5:] == ("dispatched", None, "dispatched, no logistics scan yet")

    # A batch from the Shanghai hub's scanner moves both parcels there.
    upload(world.device_b, scan(first, "arrive", 1), scan(second, "arrive", 2))
    rows = {r[3]: r for r in forward(world, MILK_LOT)}
    assert {rows[p][5:7] for p in (first, second)} == {("in_transit", "SH hub")}
    assert summary(world, MILK_LOT)["in_transit_by_city"] == {"Shanghai": 2}

    assert deliver(world, first).status_code == 201
    rows = {r[3]: r for r in forward(world, MILK_LOT)}
    assert rows[first][5:] == ("delivered", "SH hub", "delivered")
    assert rows[second][5:7] == ("in_transit", "SH hub")
    totals = summary(world, MILK_LOT)
    assert (totals["movements"], totals["orders"], totals["quantity"]) == (2, 1, 2)
    assert totals["quantity_by_parcel_state"] == {"delivered": 1, "in_transit": 1}
    assert totals["in_transit_by_city"] == {"Shanghai": 1}

    # From either parcel, two hops reach the sale of what it carries, split and all.
    assert forward(world, first, hops=2) == forward(world, MILK_LOT)
    assert forward(world, first, hops=1) == []


def test_a_unit_is_followed_through_delivery_return_and_resale(world):
    pack_key = drug_code(3)
    order, parcel = ship(world, world.pharmacy,
                         lines=[{"listing_id": world.ids["drug_listing"], "key": pack_key}])
    unit = f"drug/{pack_key}"
    assert forward(world, pack_key) == [
        (order["id"], unit, 1, parcel, 1, "dispatched", None,
         "dispatched, no logistics scan yet")]

    upload(world.device_b, scan(parcel, "arrive", 1))
    world.device.ok("POST", "/api/v1/scans", {"key": parcel, "step": "depart"})
    assert forward(world, pack_key)[0][5:] == (
        "in_transit", "HZ centre", "in transit, last seen at HZ centre (Hangzhou)")

    assert deliver(world, parcel).status_code == 201
    assert forward(world, pack_key)[0][5:] == ("delivered", "HZ centre", "delivered")

    ret = world.pharmacy.ok("POST", f"/api/v1/orders/{order['id']}/returns",
                            {"keys": [pack_key], "reason": "defective"})
    assert forward(world, pack_key)[0][5:] == ("delivered", "HZ centre", "return requested")
    world.pharmacy.ok("POST", f"/api/v1/returns/{ret['id']}/receive", status=200)
    assert forward(world, pack_key)[0][5:] == (
        "delivered", "HZ centre", "returned to the merchant")

    resale = sell_drug(world, 3, buyer={"external_ref": "buyer-9"}).get_json()["id"]
    assert [r[0] for r in forward(world, pack_key)] == [order["id"], resale]
    again = pack(world, resale, world.pharmacy).get_json()["key"]
    dispatch(world, again, world.pharmacy)
    first_sale, second_sale = forward(world, pack_key)
    assert first_sale == (order["id"], unit, 1, parcel, 1, "delivered", "HZ centre",
                          "returned to the merchant")
    assert second_sale == (resale, unit, 1, again, 1, "dispatched", None,
                           "dispatched, no logistics scan yet")
    # The first parcel's contents lead to both sales; the drug lot reaches them at hop 2.
    assert [r[0] for r in forward(world, parcel, hops=2)] == [order["id"], resale]
    lot = world.inspector.ok("GET", "/api/v1/inspect/trace", key=drug_lot_key(),
                             direction="forward")["forward"]["items"]
    assert [(r["order_id"], r["hop"]) for r in lot] == [(order["id"], 2), (resale, 2)]


def _chain(world) -> list[str]:
    """Sales in every state the chain has, through the services; returns keys to trace."""
    order_a, parcel_a = ship(world)
    upload(world.device, scan(parcel_a, "arrive", 1))
    assert deliver(world, parcel_a).status_code == 201
    ship(world, buyer={"external_ref": "buyer-2", "name": "王芳"})
    split = sell(world).get_json()["id"]
    first = pack(world, split, items=[{"key": MILK_LOT, "quantity": 1}]).get_json()["key"]
    pack(world, split)
    dispatch(world, first)
    upload(world.device_b, scan(first, "arrive", 1))
    sell(world)  # not packed
    order_c, parcel_c = ship(world, world.pharmacy,
                             lines=[{"listing_id": world.ids["drug_listing"],
                                     "key": drug_code(1)}])
    assert deliver(world, parcel_c).status_code == 201
    ret = world.pharmacy.ok("POST", f"/api/v1/orders/{order_c['id']}/returns",
                            {"keys": [drug_code(1)], "reason": "defective"})
    world.pharmacy.ok("POST", f"/api/v1/returns/{ret['id']}/receive", status=200)
    sell_drug(world, 1, buyer={"external_ref": "buyer-9"})
    sell_drug(world, 2)
    return [MILK_LOT, drug_lot_key(), drug_code(1), drug_code(2),
            parcel_a, first, parcel_c]


def _traces(world, keys) -> dict:
    """Every trace of ``keys`` at every hop count: the API's first page (totals by the
    database) and the complete JSON export (totals counted over the rows)."""
    out = {}
    for key in keys:
        for hops in (1, 2, 3):
            page = world.inspector.ok("GET", "/api/v1/inspect/trace", key=key,
                                      direction="forward", hops=hops, limit=500)
            response = world.inspector.get("/api/v1/inspect/exports/trace.json", key=key,
                                           direction="forward", hops=hops)
            assert response.status_code == 200
            whole = json.loads(response.get_data())["forward"]
            assert whole["items"] == page["forward"]["items"]
            assert whole["summary"] == page["forward"]["summary"]
            out[key, hops] = page["forward"]
    return out


def _rows(app) -> list[tuple]:
    with app.extensions["trace_db"].read_session() as db:
        columns = [Movement.__table__.c[name] for name in FILLED]
        return sorted(db.execute(select(*columns)).all(), key=repr)


def test_rebuilding_the_movements_from_the_source_tables_gives_the_same_trace(app, world):
    keys = _chain(world)
    live_rows, live = _rows(app), _traces(world, keys)
    # Seven sale lines, one of them split over two parcels.
    assert len(live_rows) == 8 and len({row[0] for row in live_rows}) == 7

    with app.extensions["trace_db"].engine.begin() as conn:
        assert rebuild_movements(conn) == 8
    assert _rows(app) == live_rows
    assert _traces(world, keys) == live

    # The migration itself: down to 0006 (table dropped) and up again (table backfilled).
    database = app.extensions["trace_db"]
    database.dispose()
    try:
        command.downgrade(migrate.alembic_config(database.url), "0006")
    finally:
        migrate.upgrade(database.url)
    assert _rows(app) == live_rows
    assert _traces(world, keys) == live
