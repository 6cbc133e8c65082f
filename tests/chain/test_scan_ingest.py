"""Batch scan ingestion: idempotent by scan id, rules applied, skew kept, limits enforced."""

import datetime as dt
import uuid

from sqlalchemy import func, select

from tests.chain.flows import MILK_LOT, drug_code, pack, sell, ship
from tests.helpers import error_of, sscc
from trace_service.chain.models import Event
from trace_service.ingest.models import Scan

CST = dt.timezone(dt.timedelta(hours=8))


def scan(key, step="arrive", seq=0, when=None, **extra):
    return {"id": str(uuid.uuid4()), "key": key, "step": step, "seq": seq,
            "device_time": (when or dt.datetime.now(CST)).isoformat(), **extra}


def upload(world, scans, caller=None):
    return (caller or world.device).post("/api/v1/scans/batch", {"scans": scans})


def count(app, model, *where):
    with app.extensions["trace_db"].read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_retried_batch_returns_the_same_receipts_and_stores_nothing_twice(app, world):
    _, parcel = ship(world)
    batch = [scan(parcel, "arrive", 1), scan(parcel, "depart", 2, when=dt.datetime.now(CST)
                                             + dt.timedelta(minutes=1)),
             scan("(01)09506000134352(10)ABC", "arrive", 3)]
    first = upload(world, batch)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert [r["status"] for r in body["receipts"]] == ["accepted", "accepted", "rejected"]
    assert body["receipts"][2]["code"] == "not_a_parcel"
    events = count(app, Event)
    again = upload(world, batch).get_json()
    assert again["receipts"] == body["receipts"]
    assert count(app, Event) == events
    assert count(app, Scan) == 3


def test_a_parcel_scan_moves_its_contents_and_shows_in_their_trails(app, world):
    order, parcel = ship(world, world.pharmacy,
                         lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(1)}])
    s = scan(parcel, "arrive", 7)
    assert upload(world, [s]).get_json()["accepted"] == 1
    trail = world.inspector.ok("GET", "/api/v1/trail", key=drug_code(1))
    last = trail["events"][-1]
    assert (last["biz_step"], last["via"], last["event_id"]) == ("arrive", "container", s["id"])
    assert trail["trace_key"]["state"] == "in_transit"


def test_a_scan_after_receipt_is_rejected_with_a_reason_and_kept_for_retries(app, world):
    _, parcel = ship(world)
    receipt = upload(world, [scan(parcel, "receipt", 1)]).get_json()["receipts"][0]
    assert receipt["status"] == "accepted"
    late = scan(parcel, "arrive", 2)
    r = upload(world, [late]).get_json()["receipts"][0]
    assert (r["status"], r["code"]) == ("rejected", "already_received")
    assert "receipt" in r["message"]
    assert upload(world, [late]).get_json()["receipts"][0] == r


def test_a_double_read_at_the_same_point_is_a_duplicate_without_a_second_event(app, world):
    _, parcel = ship(world)
    events = count(app, Event)
    receipts = upload(world, [scan(parcel, "arrive", 1), scan(parcel, "arrive", 2)]).get_json()
    assert [r["status"] for r in receipts["receipts"]] == ["accepted", "duplicate"]
    assert count(app, Event) == events + 1


def test_dispatch_and_receipt_can_be_scanned_and_follow_the_rules(app, world):
    order = sell(world).get_json()
    parcel = pack(world, order["id"]).get_json()["key"]
    receipts = upload(world, [scan(parcel, "receipt", 1), scan(parcel, "dispatch", 2),
                              scan(parcel, "receipt", 3)]).get_json()["receipts"]
    assert [(r["status"], r.get("code")) for r in receipts] == [
        ("rejected", "not_dispatched"), ("accepted", None), ("accepted", None)]
    assert world.merchant.ok("GET", f"/api/v1/orders/{order['id']}")["status"] == "delivered"


def test_device_time_is_kept_and_the_skew_recorded_not_corrected(app, world):
    _, parcel = ship(world)
    ahead = dt.datetime.now(CST) + dt.timedelta(days=2)
    s = scan(parcel, "arrive", 1, when=ahead)
    assert upload(world, [s]).get_json()["accepted"] == 1
    with app.extensions["trace_db"].read_session() as db:
        row = db.get(Scan, s["id"])
        event = db.scalar(select(Event).where(Event.event_id == s["id"]))
    assert row.skew_ms < -2 * 86400 * 1000 + 60000
    assert row.device_tz == "+08:00"
    assert abs(event.event_time - ahead) < dt.timedelta(milliseconds=1)


def test_bad_codes_and_unknown_parcels_get_reasons(app, world):
    good = sscc(99001)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    receipts = upload(world, [
        scan(f"]C100{bad}", "arrive", 1),
        scan(f"00/{good}", "arrive", 2),
    ]).get_json()["receipts"]
    assert [r["code"] for r in receipts] == ["sscc_check_digit", "unknown_parcel"]
    assert good[-1] in receipts[0]["message"] and bad[-1] in receipts[0]["message"]


def test_a_device_cannot_scan_another_carriers_parcel(app, world):
    order = sell(world).get_json()
    body = {"order_id": order["id"], "parcel": sscc(99002),
            "carrier_id": world.ids["other_carrier"]}
    parcel = world.merchant.ok("POST", "/api/v1/parcels", body)["key"]
    world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel}, status=200)
    receipt = upload(world, [scan(parcel, "arrive", 1)]).get_json()["receipts"][0]
    assert (receipt["status"], receipt["code"]) == ("rejected", "unknown_parcel")


def test_batch_limits_are_advertised_and_enforced(app, world):
    limits = world.device.ok("GET", "/api/v1/scans/limits")
    assert limits["max_batch"] == 500 and limits["max_body_bytes"] == 1024 * 1024
    too_many = [scan(sscc(5), seq=i) for i in range(501)]
    response = upload(world, too_many)
    assert response.status_code == 422
    assert error_of(response)["code"] == "batch_too_large"
    assert count(app, Scan) == 0


def test_a_malformed_batch_is_refused_whole_with_field_errors(app, world):
    response = upload(world, [{"id": "not-a-uuid", "key": "x", "step": "fly", "seq": -1,
                               "device_time": "2026-11-22T10:00:00"}])
    assert response.status_code == 422
    fields = error_of(response)["details"]["fields"]["scans"]["0"]
    assert set(fields) == {"id", "step", "seq", "device_time"}


def test_only_devices_upload_batches(app, world):
    response = upload(world, [scan(sscc(5))], caller=world.carrier)
    assert response.status_code == 403


def test_the_blocklist_names_recalled_lots_their_units_and_parcels_in_transit(app, world):
    import datetime

    from trace_service.catalog.models import Lot

    _, parcel = ship(world, world.pharmacy,
                     lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(1)}])
    with app.extensions["trace_db"].write_session() as s:
        s.scalar(select(Lot).where(Lot.lot == "B1")).recalled_at = datetime.datetime.now(
            datetime.timezone.utc)
        s.commit()
    blocklist = world.device.ok("GET", "/api/v1/blocklist")
    assert [lot["lot"] for lot in blocklist["lots"]] == ["B1"]
    assert {u["key"] for u in blocklist["units"]} >= {f"drug/{drug_code(1)}"}
    assert blocklist["parcels"] == [parcel]
    warned = upload(world, [scan(parcel, "arrive", 1)]).get_json()["receipts"][0]
    assert warned["status"] == "accepted" and warned["warnings"] == ["recalled"]


def test_every_spelling_the_schema_accepts_is_stored_the_same_way(app, world):
    """Plain scans take a fast path; anything else goes through the schema: both give the
    same scan (id in canonical form, device time with its zone, staff number kept)."""
    _, parcel = ship(world)
    plain, braced = uuid.uuid4(), uuid.uuid4()
    when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=CST)
    fast = {"id": str(plain), "key": parcel, "step": "arrive", "seq": 1,
            "device_time": when.isoformat(), "staff_no": "W-7"}
    slow = {"id": "{" + braced.hex.upper() + "}", "key": parcel, "step": "depart",
            "seq": 2, "device_time": (when + dt.timedelta(minutes=30)).isoformat(),
            "staff_no": None}
    receipts = upload(world, [fast, slow]).get_json()["receipts"]
    assert [(r["id"], r["status"]) for r in receipts] == [
        (str(plain), "accepted"), (str(braced), "accepted")]
    with app.extensions["trace_db"].read_session() as db:
        first, second = db.get(Scan, str(plain)), db.get(Scan, str(braced))
    assert (first.staff_no, first.device_seq, first.device_tz) == ("W-7", 1, "+08:00")
    assert (second.staff_no, second.device_seq) == (None, 2)
    assert second.device_time == when + dt.timedelta(minutes=30)


def test_one_bad_scan_among_plain_ones_refuses_the_batch_naming_only_that_scan(app, world):
    _, parcel = ship(world)
    scans = [scan(parcel, "arrive", i) for i in range(5)]
    scans[2]["seq"] = True
    scans[3]["seq"] = 2**53 + 1
    scans[4]["colour"] = "red"
    response = upload(world, scans)
    assert response.status_code == 422
    fields = error_of(response)["details"]["fields"]["scans"]
    assert set(fields) == {"2", "3", "4"}
    assert set(fields["2"]) == set(fields["3"]) == {"seq"} and set(fields["4"]) == {"colour"}
    assert count(app, Scan) == 0


def test_a_batch_dispatching_and_receiving_many_orders_sets_each_order_status(app, world):
    orders, parcels = [], []
    for _ in range(3):
        order = sell(world).get_json()  # two of the milk lot
        orders.append(order["id"])
        parcels.append(pack(world, order["id"], items=[{"key": MILK_LOT, "quantity": 1}])
                       .get_json()["key"])
    # Each order's second unit travels in a parcel of its own; the third order's is
    # dispatched but not received, so that order is not delivered yet.
    others = [pack(world, o).get_json()["key"] for o in orders]
    untouched = sell(world).get_json()
    scans = [scan(p, "dispatch", i) for i, p in enumerate(parcels + others)]
    scans += [scan(p, "receipt", 10 + i) for i, p in enumerate(parcels + others[:2])]
    body = upload(world, scans).get_json()
    assert body["accepted"] == 11, body
    status = {o: world.merchant.ok("GET", f"/api/v1/orders/{o}")["status"] for o in orders}
    assert status == {orders[0]: "delivered", orders[1]: "delivered", orders[2]: "dispatched"}
    assert world.merchant.ok("GET", f"/api/v1/orders/{untouched['id']}")["status"] == "placed"
