"""Impossible steps are refused with a stable code and a reason, and leave nothing behind."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.chain.flows import MILK, MILK_LOT, deliver, drug_code, pack, sell, sell_drug, ship
from tests.helpers import Caller, error_of, sscc
from trace_service.catalog.models import Lot
from trace_service.chain.models import Event


def event_count(app) -> int:
    with app.extensions["trace_db"].read_session() as s:
        return s.scalar(select(func.count()).select_from(Event))


def refused(app, response, status, code):
    """Assert the refusal and return its error body."""
    error = error_of(response)
    assert (response.status_code, error["code"]) == (status, code), error
    assert error["message"]
    return error


@pytest.fixture
def unchanged(app):
    """Checks that a refused request stored no event."""
    before = event_count(app)
    yield
    assert event_count(app) == before


def test_a_merchant_without_a_drug_licence_cannot_list_a_drug(app, world, unchanged):
    response = world.merchant.post("/api/v1/listings", {
        "gtin": "0" + __import__("tests.world", fromlist=["DRUG"]).DRUG, "title": "x",
        "price_cents": 1})
    error = refused(app, response, 409, "no_valid_licence")
    assert "drug" in error["message"]


def test_an_expired_licence_does_not_allow_listing(app, world):
    today = dt.date.today()
    world.admin.ok("POST", f"/api/v1/parties/{world.ids['pharmacy']}/licences", {
        "kind": "food_business", "number": "OLD", "categories": ["food"],
        "valid_from": (today - dt.timedelta(days=800)).isoformat(),
        "valid_until": (today - dt.timedelta(days=1)).isoformat()})
    before = event_count(app)
    response = world.pharmacy.post("/api/v1/listings", {"gtin": MILK, "title": "milk",
                                                        "price_cents": 100})
    error = refused(app, response, 409, "no_valid_licence")
    assert "OLD" in error["message"]
    assert event_count(app) == before


def test_an_unverified_merchant_cannot_list(app, world):
    party = world.admin.ok("POST", "/api/v1/parties", {
        "kind": "merchant", "name": "New shop", "credit_code": "91440300MA5G2R8K12"})
    key = world.admin.ok("POST", "/api/v1/keys", {"role": "merchant", "party_id": party["id"]})
    response = Caller(world.admin.client, key["key"]).post(
        "/api/v1/listings", {"gtin": MILK, "title": "x", "price_cents": 1})
    refused(app, response, 409, "merchant_not_verified")


def test_what_is_not_listed_cannot_be_sold(app, world):
    world.merchant.ok("POST", f"/api/v1/listings/{world.ids['milk_listing']}/withdraw",
                      status=200)
    with_no_event_change(app, lambda: refused(app, sell(world), 409, "listing_not_active"))
    response = sell(world, lines=[{"listing_id": "lst_missing", "key": MILK_LOT}])
    refused(app, response, 422, "listing_not_found")


def test_a_unit_of_another_product_cannot_be_sold_under_a_listing(app, world):
    response = sell(world, world.pharmacy,
                    lines=[{"listing_id": world.ids["drug_listing"], "key": MILK_LOT}])
    refused(app, response, 422, "listing_mismatch")


def test_a_recalled_lot_cannot_be_sold_or_dispatched(app, world):
    order, parcel_key = None, None
    response = sell(world)
    order = response.get_json()
    parcel_key = pack(world, order["id"]).get_json()["key"]
    with app.extensions["trace_db"].write_session() as s:
        s.scalar(select(Lot).where(Lot.lot == "L1")).recalled_at = dt.datetime.now(dt.timezone.utc)
        s.commit()
    before = event_count(app)
    error = refused(app, sell(world), 409, "recalled")
    assert "L1" in error["message"]
    refused(app, world.merchant.post("/api/v1/dispatches", {"parcel": parcel_key}), 409,
            "recalled")
    assert event_count(app) == before


def test_an_expired_lot_cannot_be_listed_or_sold(app, world):
    old = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    world.dairy.ok("POST", "/api/v1/lots", {"gtin": MILK, "lot": "OLD", "expiry_date": old})
    refused(app, world.merchant.post("/api/v1/listings", {
        "gtin": MILK, "lot": "OLD", "title": "old milk", "price_cents": 1}), 409, "expired")
    response = sell(world, lines=[{"listing_id": world.ids["milk_listing"],
                                   "key": f"01/0{MILK}/10/OLD"}])
    # The listing is for lot L1, so an OLD carton does not match it before expiry is even checked.
    refused(app, response, 422, "listing_mismatch")


def test_one_serial_cannot_be_sold_twice(app, world):
    assert sell_drug(world, 1).status_code == 201
    before = event_count(app)
    error = refused(app, sell_drug(world, 1), 409, "already_sold")
    assert drug_code(1) in error["message"]
    assert error["details"]["state"] == "sold"
    assert event_count(app) == before


def test_a_serial_cannot_appear_twice_in_one_order(app, world):
    line = {"listing_id": world.ids["drug_listing"], "key": drug_code(1)}
    refused(app, sell(world, world.pharmacy, lines=[line, line]), 422, "duplicate_lines")


def test_the_same_order_number_is_refused_the_second_time(app, world):
    assert sell(world, order_no="A-1").status_code == 201
    refused(app, sell(world, order_no="A-1"), 409, "order_exists")


def test_goods_that_were_not_sold_cannot_be_packed_or_dispatched(app, world):
    order = sell_drug(world, 1).get_json()
    response = pack(world, order["id"], world.pharmacy,
                    items=[{"key": drug_code(2)}])
    refused(app, response, 422, "not_in_order")
    parcel = pack(world, order["id"], world.pharmacy).get_json()
    world.pharmacy.ok("POST", "/api/v1/dispatches", {"parcel": parcel["key"]}, status=200)
    refused(app, world.pharmacy.post("/api/v1/dispatches", {"parcel": parcel["key"]}), 409,
            "already_dispatched")
    refused(app, pack(world, order["id"], world.pharmacy), 409, "nothing_to_pack")


def test_a_parcel_that_was_never_dispatched_cannot_be_scanned_or_received(app, world):
    order = sell(world).get_json()
    parcel = pack(world, order["id"]).get_json()["key"]
    before = event_count(app)
    refused(app, world.device.post("/api/v1/scans", {"key": parcel, "step": "arrive"}), 409,
            "not_dispatched")
    refused(app, deliver(world, parcel), 409, "not_dispatched")
    assert event_count(app) == before


def test_nothing_is_scanned_or_received_after_receipt(app, world):
    _, parcel = ship(world)
    assert deliver(world, parcel).status_code == 201
    before = event_count(app)
    error = refused(app, world.device.post("/api/v1/scans", {"key": parcel, "step": "arrive"}),
                    409, "already_received")
    assert "receipt" in error["message"]
    refused(app, deliver(world, parcel), 409, "already_received")
    assert event_count(app) == before


def test_only_the_receiving_buyer_may_review_and_only_after_receipt(app, world):
    order, parcel = ship(world)
    review = {"reviewer": {"external_ref": "buyer-1"}, "rating": 5, "text": "ok"}
    path = f"/api/v1/orders/{order['id']}/reviews"
    refused(app, world.merchant.post(path, review), 409, "not_received")
    deliver(world, parcel)
    sell(world, buyer={"external_ref": "someone-else", "name": "王"})
    refused(app, world.merchant.post(path, dict(review, reviewer={"external_ref": "someone-else"})),
            403, "not_the_buyer")
    refused(app, world.merchant.post(path, dict(review, reviewer={"external_ref": "nobody"})),
            403, "not_the_buyer")
    refused(app, world.merchant.post(path + "/appended", review), 409, "no_review_to_append")
    world.merchant.ok("POST", path, review)
    refused(app, world.merchant.post(path, review), 409, "already_reviewed")
    world.merchant.ok("POST", path + "/appended", {"reviewer": {"external_ref": "buyer-1"}})
    refused(app, world.merchant.post(path + "/appended", review), 409, "already_appended")


def test_a_complaint_must_name_an_existing_order(app, world, unchanged):
    response = world.inspector.post("/api/v1/complaints", {
        "order_id": "ord_doesnotexist", "category": "quality", "text": "bad"})
    refused(app, response, 422, "order_not_found")


def test_complaints_move_only_forward(app, world):
    order = sell(world).get_json()
    complaint = world.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "quality", "text": "sour"})
    path = f"/api/v1/complaints/{complaint['id']}"
    refused(app, world.inspector.patch(path, {"status": "resolved"}), 409, "complaint_transition")
    world.inspector.ok("PATCH", path, {"status": "accepted"})
    world.merchant.ok("PATCH", path, {"status": "resolved", "resolution": "refunded"})
    refused(app, world.merchant.patch(path, {"status": "rejected"}), 409, "complaint_transition")


def test_only_delivered_goods_can_be_returned(app, world):
    order = sell_drug(world, 1).get_json()
    response = world.pharmacy.post(f"/api/v1/orders/{order['id']}/returns",
                                   {"keys": [drug_code(1)], "reason": "defective"})
    refused(app, response, 409, "not_delivered")


def test_a_parcel_key_cannot_be_reused(app, world):
    first = sell(world).get_json()
    second = sell(world).get_json()
    key = sscc(424242)
    assert pack(world, first["id"], parcel=key).status_code == 201
    refused(app, pack(world, second["id"], parcel=key), 409, "parcel_exists")


def with_no_event_change(app, check):
    before = event_count(app)
    check()
    assert event_count(app) == before
