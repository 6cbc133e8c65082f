"""A product through the whole chain over HTTP, each step by the party that does it."""

from tests.chain.flows import BUYER, MILK_LOT, deliver, drug_code, sell, sell_drug, ship
from tests.helpers import error_of


def steps(trail):
    return [(e["biz_step"], e["via"]) for e in trail["events"]]


def test_a_lot_goes_from_listing_to_complaint_and_every_step_is_in_its_trail(world):
    order, parcel = ship(world)
    for caller, step in ((world.device, "depart"), (world.device_b, "arrive"),
                         (world.device_b, "depart")):
        caller.ok("POST", "/api/v1/scans", {"key": parcel, "step": step})
    receipt = deliver(world, parcel)
    assert receipt.status_code == 201, receipt.get_json()
    world.merchant.ok("POST", f"/api/v1/orders/{order['id']}/reviews",
                      {"reviewer": {"external_ref": "buyer-1"}, "rating": 5, "text": "好"})
    world.merchant.ok("POST", f"/api/v1/orders/{order['id']}/reviews/appended",
                      {"reviewer": {"external_ref": "buyer-1"}, "text": "still good"})
    complaint = world.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": "one carton leaked",
        "key": MILK_LOT})
    world.inspector.ok("PATCH", f"/api/v1/complaints/{complaint['id']}", {"status": "accepted"})

    trail = world.inspector.ok("GET", "/api/v1/trail", key=MILK_LOT)
    assert trail["trace_key"]["kind"] == "lot"
    assert steps(trail) == [
        ("commissioning", "direct"), ("shipping", "direct"), ("receiving", "direct"),
        ("listing", "direct"), ("sale", "direct"),
        ("packing", "container"), ("dispatch", "container"), ("depart", "container"),
        ("arrive", "container"), ("depart", "container"), ("receipt", "container"),
        ("review", "direct"), ("review", "direct"), ("complaint", "direct"),
        ("complaint", "direct"),
    ]
    sale = trail["events"][4]["content"]
    assert sale["quantities"] == [{"key": MILK_LOT, "quantity": 2}]
    assert sale["biz_transactions"]["order"] == order["id"]
    scans = [e for e in trail["events"] if e["biz_step"] in ("arrive", "depart")]
    assert [e["point_id"] for e in scans] == [world.ids["points"][0]] + [world.ids["points"][1]] * 2

    parcel_trail = world.carrier.ok("GET", "/api/v1/trail", key=parcel)
    assert parcel_trail["trace_key"]["state"] == "delivered"
    assert [e["biz_step"] for e in parcel_trail["events"]] == [
        "packing", "dispatch", "depart", "arrive", "depart", "receipt"]
    got = world.merchant.ok("GET", f"/api/v1/orders/{order['id']}")
    assert got["status"] == "delivered"


def test_a_serialised_drug_pack_is_sold_returned_and_sold_again_visibly(world):
    code = drug_code(1)
    order, parcel = ship(world, world.pharmacy,
                         lines=[{"listing_id": world.ids["drug_listing"], "key": code}])
    world.device.ok("POST", "/api/v1/scans", {"key": parcel, "step": "arrive"})
    assert deliver(world, parcel).status_code == 201
    unit = world.pharmacy.ok("GET", "/api/v1/trail", key=code)["trace_key"]
    assert unit["state"] == "delivered" and "container" not in unit

    ret = world.pharmacy.ok("POST", f"/api/v1/orders/{order['id']}/returns",
                            {"keys": [code], "reason": "no_reason_7_days"})
    world.pharmacy.ok("POST", f"/api/v1/returns/{ret['id']}/receive", status=200)
    resale = sell_drug(world, 1, buyer={"external_ref": "buyer-2", "name": "张伟"})
    assert resale.status_code == 201, resale.get_json()

    trail = world.inspector.ok("GET", "/api/v1/trail", key=code)
    assert [e["biz_step"] for e in trail["events"]] == [
        "commissioning", "shipping", "receiving", "sale", "packing", "dispatch", "arrive",
        "receipt",
        "return_request", "return_receipt", "sale"]
    assert trail["trace_key"]["state"] == "sold"
    assert trail["trace_key"]["lot"]["lot"] == "B1"


def test_the_trail_answers_to_any_form_of_the_same_identifier(world):
    sell_drug(world, 2)
    gtin14 = "0" + __import__("tests.world", fromlist=["DRUG"]).DRUG
    forms = [f"01/{gtin14}/21/S1", f"(01){gtin14}(21)S1", f"]C101{gtin14}21S1",
             f"https://id.example.com/01/{gtin14}/21/S1"]
    for form in forms:
        body = world.inspector.ok("GET", "/api/v1/trail", key=form)
        assert body["trace_key"]["key"] == f"01/{gtin14}/21/S1"
    drug = world.inspector.ok("GET", "/api/v1/trail", key=drug_code(2))
    assert drug["trace_key"]["state"] == "sold"


def test_trails_page_with_a_cursor(world):
    order, parcel = ship(world)
    for _ in range(3):
        world.device.ok("POST", "/api/v1/scans", {"key": parcel, "step": "arrive"})
    first = world.inspector.ok("GET", "/api/v1/trail", key=parcel, limit=2)
    assert len(first["events"]) == 2 and first["next_cursor"]
    second = world.inspector.ok("GET", "/api/v1/trail", key=parcel, limit=2,
                                cursor=first["next_cursor"])
    third = world.inspector.ok("GET", "/api/v1/trail", key=parcel, limit=2,
                               cursor=second["next_cursor"])
    ids = [e["event_id"] for page in (first, second, third) for e in page["events"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None


def test_lists_page_with_a_cursor_and_end(world):
    for _ in range(3):
        assert sell(world).status_code == 201
    page = world.merchant.ok("GET", "/api/v1/orders", limit=2)
    rest = world.merchant.ok("GET", "/api/v1/orders", limit=2, cursor=page["next_cursor"])
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_the_buyer_is_stored_apart_and_orders_show_only_a_pseudonymous_id(world):
    order = sell(world).get_json()
    assert order["buyer_id"].startswith("psn_")
    assert BUYER["name"] not in str(order) and BUYER["phone"] not in str(order)
    again = sell(world, buyer={"external_ref": "buyer-1"}).get_json()
    assert again["buyer_id"] == order["buyer_id"]


def test_an_unknown_key_in_a_trail_is_a_404_with_the_canonical_key(world):
    response = world.inspector.get("/api/v1/trail", key="waybill/NOPE12345")
    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_trace_key"
