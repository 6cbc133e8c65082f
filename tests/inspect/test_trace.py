"""Trace forward and backward in one call: through sales, packing, returns; hops, time
window and cursor paging."""

from __future__ import annotations

import datetime as dt

from tests.chain.flows import MILK_LOT, deliver, drug_code, pack, sell, sell_drug, ship
from tests.helpers import error_of
from tests.inspect.conftest import scan, upload


def trace(caller, key, **params):
    return caller.ok("GET", "/api/v1/inspect/trace", key=key, **params)


def test_forward_from_a_lot_gives_every_sale_parcel_and_current_position(history):
    out = trace(history.inspector, MILK_LOT, direction="forward")
    assert out["backward"] is None
    rows = {r["order_id"]: r for r in out["forward"]["items"]}
    assert set(rows) == {history.ids["order_a"], history.ids["order_b"]}
    a, b = rows[history.ids["order_a"]], rows[history.ids["order_b"]]
    assert (a["parcel_key"], a["parcel_state"], a["position"]) == (
        history.ids["parcel_a"], "delivered", "delivered")
    assert (b["parcel_key"], b["parcel_state"], b["city"], b["point"]) == (
        history.ids["parcel_b"], "in_transit", "Shanghai", "SH hub")
    assert b["position"] == "in transit, last seen at SH hub (Shanghai)"
    assert (b["merchant"], b["carrier"], b["quantity"], b["hop"]) == ("Fresh Foods", "Swift", 2, 1)
    summary = out["forward"]["summary"]
    assert summary["orders"] == 2 and summary["quantity"] == 4
    assert summary["quantity_by_parcel_state"] == {"delivered": 2, "in_transit": 2}
    assert summary["in_transit_by_city"] == {"Shanghai": 2}
    assert "buyer" not in str(out) and "13700001111" not in str(out)


def test_forward_from_a_drug_lot_reaches_its_units_sales_including_unpacked_ones(history):
    out = trace(history.inspector, history.ids["drug_lot"], direction="forward")
    rows = {r["item_key"]: r for r in out["forward"]["items"]}
    one, two = rows[f"drug/{drug_code(1)}"], rows[f"drug/{drug_code(2)}"]
    assert (one["hop"], one["parcel_state"], one["position"]) == (
        2, "dispatched", "dispatched, no logistics scan yet")
    assert (two["parcel_key"], two["position"], two["item_state"]) == (
        None, "sold, not packed", "sold")
    assert out["forward"]["summary"]["units_by_state"] == {
        "received": 4, "dispatched": 1, "sold": 1}
    only_lot = trace(history.inspector, history.ids["drug_lot"], direction="forward", hops=1)
    assert only_lot["forward"]["items"] == []


def test_backward_from_a_unit_names_lot_product_maker_listing_and_merchant(history):
    out = trace(history.inspector, drug_code(1), direction="backward")
    found = {(s["relation"], s["kind"]): s for s in out["backward"]["items"]}
    assert found[("from_lot", "lot")]["name"] == "B1"
    assert found[("product", "product")]["name"] == "Ibuprofen" and \
        found[("product", "product")]["hop"] == 2
    assert found[("made_by", "party")]["name"] == "Pharma"
    assert found[("sold_through", "listing")]["ref"] == history.ids["drug_listing"]
    merchant = found[("sold_by", "party")]
    assert merchant["name"] == "Pharmacy" and merchant["details"]["licences"][0]["number"] == "DL1"
    assert out["forward"] is None
    short = trace(history.inspector, drug_code(1), direction="backward", hops=1)
    assert {s["hop"] for s in short["backward"]["items"]} == {1}


def test_from_a_parcel_both_ways_contents_order_and_where_the_contents_went(history):
    out = trace(history.inspector, history.ids["parcel_c"], hops=4)
    back = {(s["relation"], s["ref"]) for s in out["backward"]["items"]}
    assert ("contains", f"drug/{drug_code(1)}") in back
    assert ("shipped_for_order", history.ids["order_c"]) in back
    assert ("carried_by", history.ids["carrier"]) in back
    assert any(rel == "made_by" for rel, _ in back)
    forward = out["forward"]["items"]
    assert [(r["item_key"], r["parcel_key"], r["hop"]) for r in forward] == [
        (f"drug/{drug_code(1)}", history.ids["parcel_c"], 2)]


def test_a_sale_split_over_two_parcels_gives_one_movement_per_parcel(world):
    order = sell(world).get_json()  # two of the milk lot
    first = pack(world, order["id"], items=[{"key": MILK_LOT, "quantity": 1}]).get_json()
    second = pack(world, order["id"], items=[{"key": MILK_LOT, "quantity": 1}]).get_json()
    rows = trace(world.inspector, MILK_LOT, direction="forward")["forward"]["items"]
    assert sorted((r["parcel_key"], r["packed_quantity"], r["quantity"]) for r in rows) == sorted(
        [(first["key"], 1, 2), (second["key"], 1, 2)])
    assert len({r["line_id"] for r in rows}) == 1


def test_a_returned_and_resold_pack_shows_both_sales_and_the_return(world):
    order, parcel = ship(world, world.pharmacy,
                         lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(3)}])
    upload(world.device, scan(parcel, "arrive", 1))
    assert deliver(world, parcel).status_code == 201
    ret = world.pharmacy.ok("POST", f"/api/v1/orders/{order['id']}/returns",
                            {"keys": [drug_code(3)], "reason": "defective"})
    world.pharmacy.ok("POST", f"/api/v1/returns/{ret['id']}/receive", status=200)
    resale = sell_drug(world, 3, buyer={"external_ref": "buyer-9"}).get_json()
    rows = trace(world.inspector, parcel, direction="forward")["forward"]["items"]
    assert [(r["order_id"], r["returned"], r["parcel_key"]) for r in rows] == [
        (order["id"], "received", parcel), (resale["id"], None, None)]
    assert rows[0]["position"] == "returned to the merchant"


def test_forward_movements_page_with_a_cursor_and_a_time_window(world):
    orders = [ship(world)[0]["id"] for _ in range(5)]
    first = trace(world.inspector, MILK_LOT, direction="forward", limit=2)
    assert first["forward"]["summary"]["orders"] == 5
    seen, page = [r["order_id"] for r in first["forward"]["items"]], first
    while page["next_cursor"]:
        page = trace(world.inspector, MILK_LOT, direction="forward", limit=2,
                     cursor=page["next_cursor"])
        assert page["forward"]["summary"] is None and page["backward"] is None
        seen += [r["order_id"] for r in page["forward"]["items"]]
    assert seen == orders
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    later = trace(world.inspector, MILK_LOT, direction="forward", since=future)
    assert later["forward"]["items"] == [] and later["forward"]["summary"]["orders"] == 0


def test_trace_refuses_bad_arguments_with_the_envelope(world):
    insp = world.inspector
    assert error_of(insp.get("/api/v1/inspect/trace"))["code"] == "key_required"
    assert insp.get("/api/v1/inspect/trace", key=MILK_LOT, hops=9).status_code == 422
    assert insp.get("/api/v1/inspect/trace", key=MILK_LOT, direction="up").status_code == 422
    bad = insp.get("/api/v1/inspect/trace", key=MILK_LOT, cursor="bm90LWEtY3Vyc29y")
    assert error_of(bad)["code"] == "bad_cursor"
