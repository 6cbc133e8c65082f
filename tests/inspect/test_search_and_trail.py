"""Search by any identifier and filter; the trail with who, where, when and integrity."""

from __future__ import annotations

import datetime as dt

from tests.chain.flows import MILK, MILK_LOT, drug_code
from tests.helpers import error_of
from tests.world import DRUG


def keys(body):
    return [item["key"] for item in body["items"]]


def test_any_identifier_form_finds_the_same_trace_key(history):
    insp = history.inspector
    parcel = history.ids["parcel_a"]  # 00/{SSCC}
    sscc = parcel[3:]
    unit = f"drug/{drug_code(1)}"
    forms = {
        parcel: [parcel, sscc, f"00{sscc}", f"(00){sscc}"],
        unit: [drug_code(1), unit],
        MILK_LOT: [MILK_LOT, f"(01)0{MILK}(10)L1", f"https://id.gs1.org/01/0{MILK}/10/L1"],
        f"01/0{DRUG}/21/S1": [f"(01)0{DRUG}(21)S1", f"01/{DRUG}/21/S1"],
    }
    for canonical, typed in forms.items():
        for q in typed:
            body = insp.ok("GET", "/api/v1/inspect/search", q=q)
            assert keys(body) == [canonical], (q, body)


def test_a_gtin_a_lot_number_and_filters_narrow_the_search(history):
    insp = history.inspector
    every_drug = keys(insp.ok("GET", "/api/v1/inspect/search", q=DRUG))
    assert f"01/0{DRUG}/10/B1" in every_drug and f"drug/{drug_code(3)}" in every_drug
    assert all(k.startswith(("drug/", f"01/0{DRUG}/")) for k in every_drug)
    assert keys(insp.ok("GET", "/api/v1/inspect/search", q="L1")) == [MILK_LOT]
    assert keys(insp.ok("GET", "/api/v1/inspect/search", q="S2")) == [f"01/0{DRUG}/21/S2"]
    parcels = keys(insp.ok("GET", "/api/v1/inspect/search", kind="parcel",
                           carrier_id=history.ids["carrier"]))
    assert sorted(parcels) == sorted(history.ids[p] for p in ("parcel_a", "parcel_b", "parcel_c"))
    pharmacy = keys(insp.ok("GET", "/api/v1/inspect/search", merchant_id=history.ids["pharmacy"],
                            kind="parcel"))
    assert pharmacy == [history.ids["parcel_c"]]
    food = keys(insp.ok("GET", "/api/v1/inspect/search", category="food"))
    assert food == [MILK_LOT]
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
    assert insp.ok("GET", "/api/v1/inspect/search", since=tomorrow)["items"] == []
    by_order = keys(insp.ok("GET", "/api/v1/inspect/search", q=history.ids["order_c"]))
    assert sorted(by_order) == sorted([f"drug/{drug_code(1)}", history.ids["parcel_c"]])


def test_search_pages_with_a_cursor_and_names_a_bad_identifier(history):
    insp = history.inspector
    seen, cursor = [], None
    while True:
        params = {"q": DRUG, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = insp.ok("GET", "/api/v1/inspect/search", **params)
        seen += keys(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7  # lot, 3 serials, 3 drug codes
    bad = insp.get("/api/v1/inspect/search", q=f"(01)0{MILK[:-1]}9(10)L1")
    assert bad.status_code == 422 and "check digit" in error_of(bad)["message"]


def test_a_trail_shows_who_where_when_and_every_step_verifies_against_the_log(history):
    parcel = history.ids["parcel_a"]
    trail = history.inspector.ok("GET", "/api/v1/inspect/trail", key=parcel)
    assert trail["integrity"] == "verified"
    assert trail["checkpoint"]["size"] >= max(s["integrity"]["seq"] for s in trail["steps"]) + 1
    steps = {s["biz_step"]: s for s in trail["steps"]}
    assert list(steps) == ["packing", "dispatch", "arrive", "receipt"]
    arrive = steps["arrive"]
    assert arrive["who"]["party"] == "Swift" and arrive["who"]["device"] == "scanner 0"
    assert (arrive["where"]["point"], arrive["where"]["city"]) == ("HZ centre", "Hangzhou")
    assert arrive["when"]["local_time"].endswith("+08:00")
    assert arrive["transactions"]["order"] == history.ids["order_a"]
    assert all(s["integrity"]["status"] == "verified" for s in trail["steps"])
    milk = history.inspector.ok("GET", "/api/v1/inspect/trail", key=MILK_LOT, limit=3)
    assert len(milk["steps"]) == 3 and milk["next_cursor"]
    rest = history.inspector.ok("GET", "/api/v1/inspect/trail", key=MILK_LOT,
                                cursor=milk["next_cursor"], limit=500)
    assert [s["via"] for s in rest["steps"]].count("container") >= 4


def test_a_changed_event_is_shown_as_failing_its_integrity_check(history, sql):
    parcel = history.ids["parcel_b"]
    trail = history.inspector.ok("GET", "/api/v1/inspect/trail", key=parcel)
    arrive = next(s for s in trail["steps"] if s["biz_step"] == "arrive")
    sql("UPDATE events SET content = replace(content, '\"arrive\"', '\"depart\"') "
        "WHERE event_id = :id", id=arrive["event_id"])
    again = history.inspector.ok("GET", "/api/v1/inspect/trail", key=parcel)
    changed = next(s for s in again["steps"] if s["event_id"] == arrive["event_id"])
    assert changed["integrity"]["status"] == "failed"
    assert "content changed" in changed["integrity"]["reason"]
    assert again["integrity"] == "failed"
    others = [s for s in again["steps"] if s["event_id"] != arrive["event_id"]]
    assert {s["integrity"]["status"] for s in others} == {"verified"}


def test_a_trail_needs_a_key_and_an_unknown_one_is_a_404(history):
    missing = history.inspector.get("/api/v1/inspect/trail")
    assert missing.status_code == 422 and error_of(missing)["code"] == "key_required"
    unknown = history.inspector.get("/api/v1/inspect/trail", key="waybill/NOPE-123")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_trace_key"
