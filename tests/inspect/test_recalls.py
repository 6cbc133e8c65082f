"""Recalls: opening one blocks sale, packing, dispatch and listing, scanners warn, the
blocklist and the consumer page show it; progress; closing lifts it."""

from __future__ import annotations

from tests.chain.flows import MILK, MILK_LOT, deliver, drug_code, pack, sell, ship
from tests.helpers import error_of
from tests.inspect.conftest import scan, upload
from trace_service.catalog.models import Lot
from trace_service.recalls.services import active_recall_for_lot

RECALL = {"reason": "Listeria found in retained samples", "severity": "I",
          "authority": "杭州市市场监督管理局", "reference": "杭市监召〔2026〕7号"}


def open_recall(caller, *lots, **extra):
    return caller.ok("POST", "/api/v1/inspect/recalls", dict(RECALL, lots=list(lots), **extra))


def test_a_recall_blocks_sale_packing_dispatch_and_listing_of_its_lot(app, world):
    sold = sell(world).get_json()
    packed = pack(world, sold["id"]).get_json()["key"]
    unpacked = sell(world).get_json()
    recall = open_recall(world.inspector, f"(01)0{MILK}(10)L1")
    assert recall["status"] == "open" and recall["lots"][0]["key"] == MILK_LOT
    refused = {
        "sale": sell(world),
        "packing": pack(world, unpacked["id"]),
        "dispatch": world.merchant.post("/api/v1/dispatches", {"parcel": packed}),
        "listing": world.merchant.post("/api/v1/listings", {
            "gtin": MILK, "lot": "L1", "title": "Milk again", "price_cents": 100}),
    }
    for step, response in refused.items():
        assert response.status_code == 409, (step, response.get_json())
        assert error_of(response)["code"] == "recalled", step
    with app.extensions["trace_db"].read_session() as db:
        lot_id = db.query(Lot.id).filter(Lot.lot == "L1").scalar()
        banner = active_recall_for_lot(db, lot_id)
    assert (banner["id"], banner["severity"], banner["reason"]) == (
        recall["id"], "I", RECALL["reason"])


def test_scanners_warn_and_the_blocklist_and_consumer_page_show_the_recall(client, world):
    _order, moving = ship(world)
    order = sell(world).get_json()
    waiting = pack(world, order["id"]).get_json()["key"]
    open_recall(world.inspector, MILK_LOT)
    arrive, dispatch = upload(world.device, scan(moving, "arrive", 1), scan(waiting, "dispatch", 2))
    assert (arrive["status"], arrive["warnings"]) == ("accepted", ["recalled"])
    assert (dispatch["status"], dispatch["code"]) == ("rejected", "recalled")
    blocked = world.device.ok("GET", "/api/v1/blocklist")
    assert [(lot["key"], lot["reason"]) for lot in blocked["lots"]] == [(MILK_LOT, "recalled")]
    assert set(blocked["parcels"]) == {moving, waiting}
    page = client.get(f"/01/0{MILK}/10/L1", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert RECALL["reason"] in html and ("召回" in html or "RECALLED" in html)


def test_recall_progress_counts_what_is_stopped_delivered_returned_and_whom_to_call(world):
    code = drug_code(1)
    order, parcel = ship(world, world.pharmacy,
                         lines=[{"listing_id": world.ids["drug_listing"], "key": code}])
    assert deliver(world, parcel).status_code == 201
    _o2, stopped = ship(world, world.pharmacy, buyer={
        "external_ref": "buyer-5", "name": "赵敏", "phone": "13911112222",
        "address": "浙江省杭州市西湖区文三路100号"},
        lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(2)}])
    recall = open_recall(world.inspector, f"01/0{world_drug()}/10/B1")
    ret = world.pharmacy.ok("POST", f"/api/v1/orders/{order['id']}/returns",
                            {"keys": [code], "reason": "recall"})
    world.pharmacy.ok("POST", f"/api/v1/returns/{ret['id']}/receive", status=200)
    got = world.inspector.ok("GET", f"/api/v1/inspect/recalls/{recall['id']}")
    progress = got["progress"]
    assert (progress["units_returned"], progress["returned_since_recall"]) == (1, 1)
    assert (progress["parcels_stopped"], progress["orders"]) == (1, 2)
    assert [p["parcel"] for p in got["parcels_stopped"]] == [stopped]
    buyers = world.inspector.ok("GET", f"/api/v1/inspect/recalls/{recall['id']}/buyers")["items"]
    masked = {b["buyer"]["name"]: b["buyer"] for b in buyers}
    assert masked["赵*"]["phone"] == "139****2222"
    assert masked["赵*"]["address"].startswith("浙江省杭州市") and "文三路" not in masked["赵*"]["address"]
    assert "13911112222" not in str(buyers)


def world_drug():
    from tests.world import DRUG

    return DRUG


def test_closing_a_recall_lifts_it_and_a_lot_has_one_open_recall_at_a_time(world):
    recall = open_recall(world.inspector, MILK_LOT)
    again = world.inspector.post("/api/v1/inspect/recalls", dict(RECALL, lots=[MILK_LOT]))
    assert again.status_code == 409
    assert error_of(again)["details"]["recall_id"] == recall["id"]
    closed = world.inspector.ok("POST", f"/api/v1/inspect/recalls/{recall['id']}/close",
                                {"note": "stock destroyed under supervision"}, status=200)
    assert closed["status"] == "closed" and closed["closed_at"]
    assert sell(world).status_code == 201
    assert world.device.ok("GET", "/api/v1/blocklist")["lots"] == []
    twice = world.inspector.post(f"/api/v1/inspect/recalls/{recall['id']}/close", {"note": "x"})
    assert error_of(twice)["code"] == "recall_closed"
    listed = world.inspector.get("/api/v1/inspect/recalls", status="closed").get_json()
    assert [r["id"] for r in listed["items"]] == [recall["id"]]
    assert world.inspector.get("/api/v1/inspect/recalls", status="open").get_json()["items"] == []


def test_a_recall_names_lots_only_and_only_inspectors_open_one(world):
    unit = world.inspector.post("/api/v1/inspect/recalls", dict(RECALL, lots=[drug_code(1)]))
    assert unit.status_code == 422 and error_of(unit)["code"] == "not_a_lot"
    severity = world.inspector.post("/api/v1/inspect/recalls",
                                    dict(RECALL, lots=[MILK_LOT], severity="IV"))
    assert severity.status_code == 422
    for caller in (world.merchant, world.carrier, world.device, world.admin):
        response = caller.post("/api/v1/inspect/recalls", dict(RECALL, lots=[MILK_LOT]))
        assert response.status_code == 403, response.get_json()
    assert sell(world).status_code == 201


def test_a_recall_names_the_traders_still_holding_the_goods_and_how_much(world):
    from tests.world import DRUG

    shipped = world.pharmacy.ok("POST", "/api/v1/transfers", {
        "destination_id": world.ids["pharma"], "reference": "RETURN-TO-MAKER",
        "items": [{"key": drug_code(3)}]})
    assert sell(world, lines=[{"listing_id": world.ids["milk_listing"], "key": MILK_LOT,
                               "quantity": 20}]).status_code == 201
    recall = open_recall(world.inspector, MILK_LOT, f"01/0{DRUG}/10/B1")
    held = {(h["party"], h["lot"]): (h["quantity"], h["units_in_stock"], h["units_in_transfer"])
            for h in recall["holders"]}
    assert held == {
        ("Dairy", MILK_LOT): (500, 0, 0),
        ("Fresh Foods", MILK_LOT): (480, 0, 0),
        ("Pharmacy", f"01/0{DRUG}/10/B1"): (0, 5, 1),
    }
    world.pharma.ok("POST", f"/api/v1/transfers/{shipped['id']}/receive", {}, status=200)


def test_recalled_goods_go_back_to_their_maker_and_nowhere_else(world):
    from tests.world import DRUG

    open_recall(world.inspector, f"01/0{DRUG}/10/B1")
    elsewhere = world.pharmacy.post("/api/v1/transfers", {
        "destination_id": world.ids["foods"], "reference": "X",
        "items": [{"key": drug_code(2)}]})
    assert elsewhere.status_code == 409 and error_of(elsewhere)["code"] == "recalled"
    back = world.pharmacy.ok("POST", "/api/v1/transfers", {
        "destination_id": world.ids["pharma"], "reference": "RECALL-RETURN-1",
        "items": [{"key": drug_code(2)}]})
    world.pharma.ok("POST", f"/api/v1/transfers/{back['id']}/receive", {}, status=200)
    trail = world.pharma.ok("GET", "/api/v1/trail", key=drug_code(2))
    assert trail["events"][-1]["biz_step"] == "receiving"
