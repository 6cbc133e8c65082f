"""Anomalies worth a look, each with its evidence."""

from __future__ import annotations

import datetime as dt

from tests.chain.flows import deliver, ship
from tests.inspect.conftest import CST, scan, upload
from trace_service.inspect.anomalies import Settings, _impossible, haversine_km
from trace_service.parties.models import LogisticsPoint


def findings(caller, kind, **params):
    body = caller.ok("GET", "/api/v1/inspect/anomalies", kind=kind, **params)
    assert list(body["kinds"]) == [kind]
    return body["kinds"][kind]["items"]


def test_gaps_in_the_logistics_record_are_found(world):
    _o, silent = ship(world)
    _o, scanned = ship(world)
    upload(world.device, scan(scanned, "arrive", 1))
    _o, straight = ship(world)
    assert deliver(world, straight).status_code == 201
    insp = world.inspector
    gap = [f["key"] for f in findings(insp, "dispatched_without_scan", gap_hours=0)]
    assert gap == [silent]
    assert findings(insp, "dispatched_without_scan", gap_hours=24) == []
    receipt = findings(insp, "receipt_without_scan")
    assert [f["key"] for f in receipt] == [straight]
    assert receipt[0]["details"]["carrier"] == "Swift"
    every = insp.ok("GET", "/api/v1/inspect/anomalies", gap_hours=0)["kinds"]
    assert set(every) == {"dispatched_without_scan", "receipt_without_scan", "scans_out_of_order",
                          "serial_in_two_places", "rejected_scans"}
    assert every["dispatched_without_scan"]["count"] == 1


def test_steps_out_of_time_order_two_places_at_once_and_refused_scans_are_found(world):
    _o, parcel = ship(world)
    now = dt.datetime.now(CST)
    upload(world.device, scan(parcel, "arrive", 1, when=now - dt.timedelta(hours=3)))
    upload(world.device_b, scan(parcel, "depart", 1, when=now - dt.timedelta(hours=3)
                                + dt.timedelta(minutes=4)))
    upload(world.device, scan(parcel, "receipt", 2, when=now))
    late = upload(world.device_b, scan(parcel, "arrive", 3, when=now + dt.timedelta(minutes=1)))
    assert late[0]["code"] == "already_received"
    insp = world.inspector
    order = findings(insp, "scans_out_of_order")
    assert [(f["key"], f["details"]["biz_step"]) for f in order] == [(parcel, "arrive")]
    places = findings(insp, "serial_in_two_places")
    assert {f["key"] for f in places} == {parcel}
    assert "Hangzhou" in places[0]["summary"] and "Shanghai" in places[0]["summary"]
    refused = findings(insp, "rejected_scans")
    assert [(f["details"]["code"], f["key"]) for f in refused] == [("already_received", parcel)]
    first = insp.ok("GET", "/api/v1/inspect/anomalies", kind="serial_in_two_places", limit=1)
    if first["kinds"]["serial_in_two_places"]["next_cursor"]:
        nxt = insp.ok("GET", "/api/v1/inspect/anomalies",
                      cursor=first["kinds"]["serial_in_two_places"]["next_cursor"])
        assert list(nxt["kinds"]) == ["serial_in_two_places"]


def test_travel_between_points_is_judged_by_speed_when_they_have_coordinates():
    hangzhou = LogisticsPoint(name="HZ", city="Hangzhou", latitude=30.27, longitude=120.15)
    shanghai = LogisticsPoint(name="SH", city="Shanghai", latitude=31.23, longitude=121.47)
    assert 160 < haversine_km(30.27, 120.15, 31.23, 121.47) < 170
    settings = Settings(max_speed_kmh=150)
    assert "km/h" in _impossible(hangzhou, shanghai, 30 * 60, settings)
    assert _impossible(hangzhou, shanghai, 3 * 3600, settings) is None
