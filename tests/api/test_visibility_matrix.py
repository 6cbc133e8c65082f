"""Party-scoped visibility as a matrix (route x caller), and a canary planted in one party's
data looked for in every other party's answer to every read route, over real HTTP.

Beside tests/api/test_authorization_matrix.py (which role may call which route), this is
which *party* may read which *record*: the answer for a record the caller is not party to is
the answer for a record that does not exist.
"""

from __future__ import annotations

import re

import pytest

from tests.chain.flows import MILK_LOT, sell
from tests.helpers import Caller, sscc
from tests.world import MILK, transfer

CANARY = {
    "order_no": "CANARY-ORDER-0001",
    "payment": "CANARYPAY000000001",
    "buyer_ref": "canary-buyer-ref",
    "buyer_name": "Canary Buyer",
    "buyer_phone": "13512340000",
    "buyer_address": "Canary Street 1, Hangzhou",
    "signer": "Canary Signer",
    "listing": "CANARY LISTING",
    "review": "CANARY REVIEW TEXT",
    "complaint": "CANARY COMPLAINT TEXT",
    "desadv": "CANARY-DESADV-0001",
}


@pytest.fixture
def planted(live_world):
    """Fresh Foods' business: a transfer in, a listing, a sale, a parcel scanned and signed
    for, a review and a complaint, every one carrying a canary string."""
    w = live_world
    transfer_id = transfer(w.dairy, w.merchant, w.ids["foods"],
                           [{"key": MILK_LOT, "quantity": 20}], reference=CANARY["desadv"])
    listing = w.merchant.ok("POST", "/api/v1/listings", {
        "gtin": MILK, "lot": "L1", "title": CANARY["listing"], "price_cents": 990})
    buyer = {"external_ref": CANARY["buyer_ref"], "name": CANARY["buyer_name"],
             "phone": CANARY["buyer_phone"], "address": CANARY["buyer_address"]}
    response = w.merchant.post("/api/v1/orders", {
        "order_no": CANARY["order_no"], "buyer": buyer,
        "payment": {"channel": "alipay", "reference": CANARY["payment"]},
        "lines": [{"listing_id": listing["id"], "key": MILK_LOT, "quantity": 3}]})
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    parcel = w.merchant.ok("POST", "/api/v1/parcels", {
        "order_id": order["id"], "parcel": sscc(880001), "carrier_id": w.ids["carrier"]})
    w.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel["key"]}, status=200)
    w.device.ok("POST", "/api/v1/scans", {"key": parcel["key"], "step": "depart"})
    w.carrier.ok("POST", "/api/v1/receipts", {
        "parcel": parcel["key"], "method": "consignee",
        "signer": {"name": CANARY["signer"], "phone": "13512349999"}})
    review = w.merchant.ok("POST", f"/api/v1/orders/{order['id']}/reviews", {
        "reviewer": {"external_ref": CANARY["buyer_ref"]}, "rating": 2,
        "text": CANARY["review"]})
    complaint = w.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "damaged", "text": CANARY["complaint"]})
    events = {e["biz_step"]: e["event_id"]
              for e in w.inspector.ok("GET", "/api/v1/trail", key=parcel["key"])["events"]}
    sale = next(e["event_id"] for e in w.inspector.ok("GET", "/api/v1/trail",
                                                      key=MILK_LOT)["events"]
                if e["biz_step"] == "sale" and e["content"]["biz_transactions"]["order"]
                == order["id"])
    ids = {"order": order["id"], "listing": listing["id"], "parcel": parcel["id"],
           "parcel_key": parcel["key"], "complaint": complaint["id"], "review": review["id"],
           "transfer": transfer_id, "buyer": order["buyer_id"], "sale_event": sale,
           "dispatch_event": events["dispatch"]}
    return w, ids


def status(caller: Caller, path: str, **params) -> int:
    return caller.get(path, **params).status_code


def test_who_reads_which_record_follows_the_parties_it_concerns(planted):
    w, ids = planted
    rows = [
        # (path, query, {caller: expected status})
        (f"/api/v1/orders/{ids['order']}", {},
         {"merchant": 200, "pharmacy": 404, "rival_shop": 404, "dairy": 404,
          "inspector": 200, "admin": 200, "carrier": 403, "device": 403}),
        (f"/api/v1/listings/{ids['listing']}", {},
         {"merchant": 200, "pharmacy": 404, "dairy": 404, "inspector": 200}),
        (f"/api/v1/complaints/{ids['complaint']}", {},
         {"merchant": 200, "pharmacy": 404, "rival_shop": 404, "inspector": 200}),
        (f"/api/v1/parcels/{ids['parcel']}", {},
         {"merchant": 200, "carrier": 200, "rival_carrier": 404, "pharmacy": 404,
          "dairy": 404, "inspector": 200}),
        (f"/api/v1/transfers/{ids['transfer']}", {},
         {"merchant": 200, "dairy": 200, "pharmacy": 404, "carrier": 404,
          "rival_carrier": 404, "inspector": 200}),
        ("/api/v1/trail", {"key": MILK_LOT},
         {"merchant": 200, "dairy": 200, "carrier": 200, "pharmacy": 404, "rival_shop": 404,
          "rival_carrier": 404, "pharma": 404, "inspector": 200, "device": 403}),
        ("/api/v1/trail", {"key": ids["parcel_key"]},
         {"merchant": 200, "carrier": 200, "dairy": 404, "rival_carrier": 404,
          "pharmacy": 404, "inspector": 200}),
        ("/api/v1/log/proofs/inclusion", {"event_id": ids["sale_event"]},
         {"merchant": 200, "dairy": 404, "carrier": 404, "rival_shop": 404, "pharmacy": 404,
          "inspector": 200}),
        ("/api/v1/log/proofs/inclusion", {"event_id": ids["dispatch_event"]},
         {"merchant": 200, "carrier": 200, "dairy": 404, "rival_carrier": 404,
          "inspector": 200}),
        ("/api/v1/labels/symbols/qr", {"key": ids["parcel_key"]},
         {"merchant": 200, "pharmacy": 404, "rival_shop": 404, "admin": 200}),
    ]
    got, want = {}, {}
    for path, query, expected in rows:
        for who, code in expected.items():
            got[(path, str(query), who)] = status(getattr(w, who), path, **query)
            want[(path, str(query), who)] = code
    assert got == want


def test_in_a_shared_lots_trail_each_party_reads_only_its_own_steps(planted):
    w, ids = planted

    def readable(caller):
        return {e["biz_step"] for e in caller.ok("GET", "/api/v1/trail", key=MILK_LOT)["events"]
                if not e.get("redacted")}

    assert readable(w.dairy) == {"commissioning", "shipping", "receiving"}
    assert readable(w.carrier) == {"packing", "dispatch", "depart", "receipt"}
    assert readable(w.merchant) >= {"commissioning", "receiving", "listing", "sale", "packing",
                                    "dispatch", "receipt", "review", "complaint"}
    assert "redacted" not in str(w.inspector.ok("GET", "/api/v1/trail", key=MILK_LOT))


def _read_routes(app) -> list[str]:
    out = []
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/api/v1/") and "GET" in rule.methods
                and not rule.endpoint.startswith(("api-docs.", "swagger_static"))):
            out.append(rule.rule)
    return sorted(set(out))


def _fill(rule: str, ids: dict, w) -> list[tuple[str, dict]]:
    values = {"order_id": ids["order"], "listing_id": ids["listing"],
              "complaint_id": ids["complaint"], "transfer_id": ids["transfer"],
              "parcel_id": ids["parcel"], "party_id": w.ids["foods"], "gtin": MILK,
              "symbology": "qr", "size": "1", "recall_id": "rcl_x", "check_id": "spc_x"}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), rule)
    queries = [{}, {"key": MILK_LOT}, {"key": ids["parcel_key"]},
               {"event_id": ids["sale_event"]}, {"party_id": w.ids["foods"]},
               {"order_id": ids["order"]}, {"merchant_id": w.ids["foods"]}]
    return [(path, q) for q in queries]


def test_no_other_party_finds_a_trace_of_the_planted_data_on_any_read_route(app, planted):
    w, ids = planted
    secrets = [*CANARY.values(), ids["order"], ids["listing"], ids["parcel"],
               ids["complaint"], ids["review"], ids["transfer"], ids["buyer"],
               ids["parcel_key"][3:], ids["sale_event"]]
    owner_saw: set[str] = set()
    leaks = []
    for rule in _read_routes(app):
        for path, query in _fill(rule, ids, w):
            owner_text = w.merchant.get(path, **query).get_data(as_text=True)
            owner_saw |= {s for s in secrets if s in owner_text}
            # What the caller sent may be echoed in an error ("order ord_... does not exist").
            sent = path + " ".join(query.values())
            hidden = [s for s in secrets if s not in sent]
            for who in ("pharmacy", "rival_shop", "rival_pharmacy", "rival_carrier", "pharma"):
                text = getattr(w, who).get(path, **query).get_data(as_text=True)
                leaks += [(who, path, query, s) for s in hidden if s in text]
    assert leaks == []
    # The same routes do show the owner its data, so the search above could have found it.
    assert owner_saw >= {CANARY["order_no"], CANARY["listing"], CANARY["complaint"],
                         CANARY["desadv"], ids["order"], ids["transfer"], ids["sale_event"]}
