"""Who may write and read what, tried by other parties with their own keys over real HTTP.

Each test is one of the ways a second pharmacy, a second merchant or a second carrier could
write what is not theirs or read what they are not party to; every request goes through a
socket to a running server (``tests.live``), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.chain.flows import BUYER, MILK_LOT, deliver, sell
from tests.helpers import error_of, gtin13, sscc
from tests.world import DRUG, MILK, drug_code, transfer

YEAR = dt.timedelta(days=365)


@pytest.fixture
def world(live_world):
    return live_world


def consumer_json(live, path):
    response = live.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 200, (path, response.get_json())
    return response.get_data(as_text=True)


def test_a_second_pharmacy_cannot_sell_a_pack_it_never_held_and_the_genuine_seller_still_can(
        world, live):
    listing = world.rival_pharmacy.ok("POST", "/api/v1/listings", {
        "gtin": DRUG, "title": "Ibuprofen", "price_cents": 1000})
    stolen = sell(world, world.rival_pharmacy,
                  lines=[{"listing_id": listing["id"], "key": f"01/0{DRUG}/21/S1"}])
    assert stolen.status_code == 409
    assert error_of(stolen)["code"] == "not_in_custody"
    assert "Pharmacy" not in error_of(stolen)["message"]  # the holder is not named

    genuine = sell(world, world.pharmacy,
                   lines=[{"listing_id": world.ids["drug_listing"], "key": f"01/0{DRUG}/21/S1"}])
    assert genuine.status_code == 201, genuine.get_json()
    page = consumer_json(live, f"/01/0{DRUG}/10/B1/21/S1")
    assert "Rival Pharmacy" not in page and "Pharmacy" in page


def test_a_lot_quantity_cannot_be_sold_beyond_what_the_seller_holds(world):
    too_many = sell(world, lines=[{"listing_id": world.ids["milk_listing"], "key": MILK_LOT,
                                   "quantity": 501}])
    assert too_many.status_code == 409
    assert error_of(too_many)["code"] == "not_enough_in_custody"
    assert error_of(too_many)["details"]["held"] == 500
    assert sell(world, lines=[{"listing_id": world.ids["milk_listing"], "key": MILK_LOT,
                               "quantity": 500}]).status_code == 201
    stock = world.merchant.ok("GET", "/api/v1/stock")
    assert all(lot["key"] != MILK_LOT for lot in stock["lots"])  # nothing left
    assert world.dairy.ok("GET", "/api/v1/stock")["lots"] == [{"key": MILK_LOT,
                                                               "quantity": 500}]


def test_nobody_registers_a_gtin_of_another_brand_or_makes_another_party_its_maker(
        world, live):
    under_pharma = gtin13("690987000011")
    refused = world.rival_shop.post("/api/v1/products", {
        "gtin": under_pharma, "name": "Fake ibuprofen", "category": "drug",
        "maker_id": world.ids["pharma"]})
    assert refused.status_code == 403 and error_of(refused)["code"] == "not_brand_owner"
    assert "690987" in error_of(refused)["message"]
    unowned = world.rival_shop.post("/api/v1/products", {
        "gtin": gtin13("693333000011"), "name": "Nobody's", "category": "food"})
    assert unowned.status_code == 403 and error_of(unowned)["code"] == "no_brand_owner"
    # Nor lots or units of another brand owner's product.
    lot = world.rival_shop.post("/api/v1/lots", {"gtin": DRUG, "lot": "FAKE"})
    assert lot.status_code == 403 and error_of(lot)["code"] == "not_your_product"
    units = world.rival_shop.post("/api/v1/units", {"gtin": DRUG, "lot": "B1",
                                                    "serials": ["FAKE1"]})
    assert units.status_code == 403 and error_of(units)["code"] == "not_your_product"

    # Under its own prefix a party may name another maker, but is not shown as made by it
    # until that maker confirms.
    world.admin.ok("POST", f"/api/v1/parties/{world.ids['rival_shop']}/prefixes",
                   {"prefix": "6944444", "evidence": "GS1 certificate 9"})
    own = gtin13("694444400001")
    product = world.rival_shop.ok("POST", "/api/v1/products", {
        "gtin": own, "name": "House brand ibuprofen", "category": "food",
        "maker_id": world.ids["pharma"]})
    assert (product["brand_owner_id"], product["maker_confirmed"]) == (
        world.ids["rival_shop"], False)
    page = consumer_json(live, f"/01/0{own}")
    assert "Rival Shop" in page and '"Pharma"' not in page
    assert world.rival_shop.post(f"/api/v1/products/{own}/maker-confirmation").status_code == 403
    confirmed = world.pharma.ok("POST", f"/api/v1/products/{own}/maker-confirmation",
                                status=200)
    assert confirmed["maker_confirmed"]  # the page names Pharma once its cache expires


def test_a_brand_owner_authorises_a_licensee_who_then_registers_and_holds_its_goods(world):
    gtin = gtin13("690987000028")
    assert world.rival_shop.post("/api/v1/products", {
        "gtin": gtin, "name": "Licensed", "category": "drug"}).status_code == 403
    today = dt.date.today()
    grant = world.pharma.ok("POST", "/api/v1/authorisations", {
        "grantee_id": world.ids["rival_shop"], "gtins": [gtin], "reference": "LIC-2026-01",
        "valid_from": today.isoformat(), "valid_until": (today + YEAR).isoformat()})
    product = world.rival_shop.ok("POST", "/api/v1/products", {
        "gtin": gtin, "name": "Licensed", "category": "drug"})
    assert product["maker_id"] == world.ids["pharma"] and product["maker_confirmed"]
    world.rival_shop.ok("POST", "/api/v1/units", {"gtin": gtin, "serials": ["L1"]})
    stock = world.rival_shop.ok("GET", "/api/v1/stock")
    assert stock["units"] == [{"gtin": "0" + gtin, "in_stock": 1, "shipped": 0}]
    # Revoked, the authorisation no longer lets the licensee commission more.
    world.pharma.ok("POST", f"/api/v1/authorisations/{grant['items'][0]['id']}/revoke",
                    status=200)
    again = world.rival_shop.post("/api/v1/units", {"gtin": gtin, "serials": ["L2"]})
    assert again.status_code == 403 and error_of(again)["code"] == "not_your_product"
    # A party cannot authorise for a brand that is not its own.
    forged = world.rival_shop.post("/api/v1/authorisations", {
        "grantee_id": world.ids["rival_pharmacy"], "gtins": [DRUG], "reference": "X",
        "valid_from": today.isoformat(), "valid_until": today.isoformat()})
    assert forged.status_code == 403 and error_of(forged)["code"] == "not_your_brand"


def test_another_partys_writes_with_the_same_external_ref_never_touch_its_customer(world):
    order = sell(world).get_json()
    mallory = {"external_ref": BUYER["external_ref"], "name": "Mallory",
               "phone": "13000000000", "address": "Elsewhere"}
    world.rival_carrier.ok("POST", "/api/v1/staff", {
        "carrier_id": world.ids["other_carrier"], "staff_no": "M-1", "person": mallory})
    # The same reference written by another merchant is another person.
    transfer(world.dairy, world.rival_shop, world.ids["rival_shop"],
             [{"key": MILK_LOT, "quantity": 10}])
    listing = world.rival_shop.ok("POST", "/api/v1/listings", {
        "gtin": MILK, "lot": "L1", "title": "Milk", "price_cents": 1})
    other = sell(world, world.rival_shop, buyer=mallory,
                 lines=[{"listing_id": listing["id"], "key": MILK_LOT, "quantity": 1}])
    assert other.status_code == 201, other.get_json()
    assert other.get_json()["buyer_id"] != order["buyer_id"]
    # The recall contact list still shows her, and Mallory as the other shop's own buyer.
    recall = world.inspector.ok("POST", "/api/v1/inspect/recalls", {
        "lots": [MILK_LOT], "reason": "test", "severity": "II", "authority": "SAMR"})
    buyers = {row["order_id"]: row["buyer"] for row in world.inspector.ok(
        "GET", f"/api/v1/inspect/recalls/{recall['id']}/buyers")["items"]}
    assert (buyers[order["id"]]["name"], buyers[order["id"]]["phone"]) == ("李*", "139****5678")
    assert buyers[other.get_json()["id"]]["name"] == "M******"


def test_a_competitor_reads_no_trail_order_or_proof_it_is_not_party_to(world):
    order, parcel = _delivered_milk(world)
    for caller in (world.rival_shop, world.rival_pharmacy, world.rival_carrier):
        for key in (MILK_LOT, parcel):
            response = caller.get("/api/v1/trail", key=key)
            assert response.status_code == 404, (key, response.get_json())
            assert error_of(response)["code"] == "unknown_trace_key"
    listing = world.rival_shop.post("/api/v1/listings", {"gtin": MILK, "lot": "L1",
                                                         "title": "Milk", "price_cents": 1})
    assert listing.status_code == 409 and error_of(listing)["code"] == "not_in_custody"
    sale = next(e for e in world.inspector.ok("GET", "/api/v1/trail", key=MILK_LOT)["events"]
                if e["biz_step"] == "sale")
    proof = world.rival_shop.get("/api/v1/log/proofs/inclusion", event_id=sale["event_id"])
    assert proof.status_code == 404
    assert world.merchant.get("/api/v1/log/proofs/inclusion",
                              event_id=sale["event_id"]).status_code == 200


def test_a_party_holding_part_of_a_lot_sees_other_parties_steps_only_as_placeholders(world):
    order, parcel = _delivered_milk(world)
    transfer(world.dairy, world.rival_shop, world.ids["rival_shop"],
             [{"key": MILK_LOT, "quantity": 10}], reference="RIVAL-DESADV")
    trail = world.rival_shop.ok("GET", "/api/v1/trail", key=MILK_LOT)
    steps = [(e["biz_step"], bool(e.get("redacted"))) for e in trail["events"]]
    assert steps[0] == ("commissioning", False)  # the origin of goods it holds
    assert ("shipping", True) in steps  # dairy -> Fresh Foods: not its business
    assert ("sale", True) in steps and ("receipt", True) in steps
    assert steps[-2:] == [("shipping", False), ("receiving", False)]
    text = str(trail)
    for secret in (order["id"], parcel, world.ids["foods"], world.ids["carrier"],
                   *world.ids["points"], "rating", "DESADV-1"):
        assert secret not in text, secret
    redacted = next(e for e in trail["events"] if e.get("redacted"))
    assert set(redacted) == {"redacted", "biz_step", "date"}


def test_a_shop_sees_how_its_pack_reached_it_and_the_maker_sees_where_it_went(world):
    sold = sell(world, world.pharmacy,
                lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(1)}])
    assert sold.status_code == 201
    shop = world.pharmacy.ok("GET", "/api/v1/trail", key=drug_code(1))
    assert [(e["biz_step"], bool(e.get("redacted"))) for e in shop["events"]] == [
        ("commissioning", False), ("shipping", False), ("receiving", False), ("sale", False)]
    assert shop["events"][1]["content"]["source"] == world.ids["pharma"]
    assert shop["events"][1]["content"]["destination"] == world.ids["pharmacy"]
    maker = world.pharma.ok("GET", "/api/v1/trail", key=drug_code(1))
    assert [(e["biz_step"], bool(e.get("redacted"))) for e in maker["events"]] == [
        ("commissioning", False), ("shipping", False), ("receiving", False), ("sale", True)]


def test_a_carrier_records_nothing_at_another_carriers_point(world):
    order = sell(world).get_json()
    parcel = world.merchant.ok("POST", "/api/v1/parcels", {
        "order_id": order["id"], "parcel": sscc(7001), "carrier_id": world.ids["other_carrier"]})
    world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel["key"]}, status=200)
    swift_point = world.ids["points"][0]
    receipt = world.rival_carrier.post("/api/v1/receipts", {
        "parcel": parcel["key"], "method": "station", "point_id": swift_point})
    assert receipt.status_code == 422 and error_of(receipt)["code"] == "point_not_found"
    staff = world.rival_carrier.post("/api/v1/staff", {
        "carrier_id": world.ids["other_carrier"], "staff_no": "X-1", "point_id": swift_point,
        "person": {"name": "Courier"}})
    assert staff.status_code == 422 and error_of(staff)["code"] == "point_not_found"
    # At its own point it may.
    assert world.rival_carrier.post("/api/v1/receipts", {
        "parcel": parcel["key"], "method": "station",
        "point_id": world.ids["rival_point"]}).status_code == 201


def test_other_parties_records_are_answered_like_records_that_do_not_exist(world):
    order, parcel = _delivered_milk(world)
    complaint = world.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": "leaked"})
    transfer_id = world.merchant.ok("GET", "/api/v1/transfers")["items"][0]["id"]
    for path, code in ((f"/api/v1/orders/{order['id']}", "order_not_found"),
                       (f"/api/v1/listings/{world.ids['milk_listing']}", "listing_not_found"),
                       (f"/api/v1/complaints/{complaint['id']}", "complaint_not_found"),
                       (f"/api/v1/transfers/{transfer_id}", "transfer_not_found"),
                       (f"/api/v1/parcels/{parcel[3:]}", "parcel_not_found")):
        theirs = world.rival_shop.get(path)
        assert theirs.status_code == 404, (path, theirs.get_json())
        assert error_of(theirs)["code"] == code
    # An unregistered parcel gets the same answer as another party's.
    missing = world.rival_shop.get(f"/api/v1/parcels/{sscc(424242)}")
    assert missing.status_code == 404 and error_of(missing)["code"] == "parcel_not_found"
    refused = world.rival_shop.post("/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": "x"})
    assert refused.status_code == 422 and error_of(refused)["code"] == "order_not_found"


def test_a_merchant_never_receives_the_person_ids_another_party_wrote(world):
    order, parcel = _delivered_milk(world)
    complaint = world.inspector.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": "x",
        "complainant": {"name": "Consumer", "phone": "13800000000"}})
    assert complaint["complainant_id"].startswith("psn_")
    listed = world.merchant.ok("GET", "/api/v1/complaints")["items"]
    assert [c["complainant_id"] for c in listed if c["id"] == complaint["id"]] == [None]
    assert world.merchant.ok("GET", f"/api/v1/complaints/{complaint['id']}")[
        "complainant_id"] is None
    # Its own buyer's id it does get.
    own = world.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": "y",
        "complainant": {"external_ref": BUYER["external_ref"]}})
    assert own["complainant_id"] == order["buyer_id"]


def _delivered_milk(world):
    response = sell(world)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    parcel = world.merchant.ok("POST", "/api/v1/parcels", {
        "order_id": order["id"], "parcel": sscc(9001), "carrier_id": world.ids["carrier"]})
    world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel["key"]}, status=200)
    world.device.ok("POST", "/api/v1/scans", {"key": parcel["key"], "step": "depart"})
    assert deliver(world, parcel["key"]).status_code == 201
    world.merchant.ok("POST", f"/api/v1/orders/{order['id']}/reviews",
                      {"reviewer": {"external_ref": BUYER["external_ref"]}, "rating": 5,
                       "text": "good"})
    return order, parcel["key"]
