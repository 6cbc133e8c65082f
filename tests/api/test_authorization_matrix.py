"""Who may call what: every /api/v1 route against every role, and row-level scoping.

The route list is read from ``app.url_map`` at test time, so a new route is covered the
moment it is registered; the expected answer comes from the permission the route declares
(``__trace_permission__``) and ``GRANTS``.
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from tests.helpers import Caller, error_of, sscc
from tests.world import MILK, DRUG, bootstrap_admin, build_world, drug_code
from trace_service.auth.permissions import GRANTS, ROLES
from trace_service.http import PUBLIC

PREFIX = "/api/v1/"
NOT_API = ("api-docs.", "swagger_static", "static")
MILK_LOT = f"01/0{MILK}/10/L1"

_SAMPLES = {"int": "999999", "float": "1.5", "uuid": "00000000-0000-4000-8000-000000000000"}


def concrete_path(rule) -> str:
    """The rule's path with each variable filled by a value its converter accepts."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: _SAMPLES.get(m.group(1) or "", "nope"), rule.rule)


def api_routes(app) -> list[tuple[str, str, str, str | None]]:
    """(method, concrete path, endpoint, declared permission) of every API route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX) or rule.endpoint.startswith(NOT_API):
            continue
        permission = getattr(app.view_functions[rule.endpoint], "__trace_permission__", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, concrete_path(rule), rule.endpoint, permission))
    return routes


def call(client, method: str, path: str, key: str | None = None, headers: dict | None = None):
    """Call a route with a minimal body: ``{}`` for writes, nothing for reads."""
    headers = dict(headers or {})
    if key:
        headers["Authorization"] = f"Bearer {key}"
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.open(path, method=method, headers=headers, **kwargs)


def test_the_route_list_covers_the_whole_api_and_every_route_declares_a_granted_permission(app):
    routes = api_routes(app)
    assert len(routes) >= 30, routes
    granted = set().union(*GRANTS.values()) | {PUBLIC}
    for method, path, endpoint, permission in routes:
        assert permission is not None, f"{method} {path} ({endpoint}) declares no permission"
        assert permission in granted, f"{endpoint} needs {permission}, which no role holds"
    assert any(permission != PUBLIC for *_, permission in routes)


def test_every_route_answers_401_missing_api_key_without_a_key(app, client):
    for method, path, endpoint, permission in api_routes(app):
        response = call(client, method, path)
        if permission == PUBLIC:  # deliberately open (e.g. the log's public key)
            assert response.status_code not in (401, 403), (method, path, response.get_json())
            continue
        assert response.status_code == 401, (method, path, response.get_json())
        assert error_of(response)["code"] == "missing_api_key", (method, path)
        assert error_of(response)["status"] == 401


def test_every_route_answers_401_to_a_revoked_or_garbage_key(app, client):
    admin = Caller(client, bootstrap_admin(app))
    revoked = admin.ok("POST", "/api/v1/keys", {"role": "admin", "label": "soon gone"})
    admin.ok("POST", f"/api/v1/keys/{revoked['prefix']}/revoke", status=200)
    garbage = {
        "revoked_api_key": [{"Authorization": f"Bearer {revoked['key']}"},
                            {"X-API-Key": revoked["key"]}],
        "invalid_api_key": [{"Authorization": "Bearer garbage"},
                            {"Authorization": f"Bearer {revoked['prefix']}_{'A' * 43}"},
                            {"Authorization": "Bearer trk_00000000_" + "x" * 43},
                            {"X-API-Key": "trk_"}],
    }
    for method, path, _, permission in api_routes(app):
        if permission == PUBLIC:
            continue
        for code, header_sets in garbage.items():
            for headers in header_sets:
                response = call(client, method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.get_json())
                assert error_of(response)["code"] == code, (method, path, headers)
                assert revoked["key"] not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_the_routes_its_grants_lack(app, client, role):
    world = build_world(app, client)
    caller = {"admin": world.admin, "merchant": world.merchant, "carrier": world.carrier,
              "device": world.device, "inspector": world.inspector}[role]
    checked = 0
    for method, path, _, permission in api_routes(app):
        response = call(client, method, path, key=caller.key)
        body = response.get_json()
        assert response.status_code < 500, (role, method, path, body)
        if permission == PUBLIC or permission in GRANTS[role]:
            assert response.status_code not in (401, 403), (role, method, path, body)
        else:
            assert response.status_code == 403, (role, method, path, body)
            assert error_of(response)["code"] == "permission_denied", (role, method, path)
            assert error_of(response)["details"]["permission"] == permission
        checked += 1
    assert checked >= 30


def test_a_route_that_declares_no_permission_is_refused_to_everyone(app):
    dummy = Blueprint("dummy_undeclared", __name__, url_prefix="/api/v1")

    @dummy.route("/undeclared", methods=["GET", "POST"])
    def undeclared():
        return {"leaked": "secret"}

    app.register_blueprint(dummy)
    client = app.test_client()
    admin_key = bootstrap_admin(app)
    for method in ("GET", "POST"):
        for key in (None, admin_key):
            response = call(client, method, "/api/v1/undeclared", key=key)
            assert response.status_code == 403, (method, key, response.get_json())
            assert error_of(response)["code"] == "no_permission_declared"
            assert "secret" not in response.get_data(as_text=True)


# --- row-level scoping ---------------------------------------------------------------


def _order(caller: Caller, listing_id: str, key: str, order_no: str, buyer: str,
           quantity: int = 1) -> dict:
    return caller.ok("POST", "/api/v1/orders", {
        "order_no": order_no,
        "buyer": {"external_ref": buyer, "name": f"Buyer {buyer}", "phone": "13800000000",
                  "address": "Hangzhou, Xihu district"},
        "payment": {"channel": "alipay", "reference": f"pay-{order_no}"},
        "lines": [{"listing_id": listing_id, "key": key, "quantity": quantity}],
    })


@pytest.fixture
def world(app, client):
    return build_world(app, client)


@pytest.fixture
def chain(world, client):
    """A milk order of two packed into two parcels (one per carrier), both dispatched;
    a drug order of the pharmacy; keys for the other carrier and a device of its own."""
    admin = world.admin
    ids = world.ids
    milk = _order(world.merchant, ids["milk_listing"], MILK_LOT, "M-1", "buyer-m", quantity=2)
    drug = _order(world.pharmacy, ids["drug_listing"], f"drug/{drug_code(1)}", "P-1",
                  "buyer-p")
    mine, theirs = sscc(101), sscc(102)
    for parcel, carrier in ((mine, ids["carrier"]), (theirs, ids["other_carrier"])):
        world.merchant.ok("POST", "/api/v1/parcels", {
            "order_id": milk["id"], "parcel": parcel, "carrier_id": carrier,
            "items": [{"key": MILK_LOT, "quantity": 1}]})
        world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel}, status=200)
    other_point = admin.ok("POST", "/api/v1/points", {"name": "Other depot", "city": "Suzhou",
                                                       "carrier_id": ids["other_carrier"]})["id"]
    other_device = admin.ok("POST", "/api/v1/devices", {
        "label": "other scanner", "point_id": other_point,
        "carrier_id": ids["other_carrier"]})["id"]
    other_carrier = Caller(client, admin.ok("POST", "/api/v1/keys", {
        "role": "carrier", "party_id": ids["other_carrier"]})["key"])
    other_device_key = Caller(client, admin.ok("POST", "/api/v1/keys", {
        "role": "device", "device_id": other_device})["key"])
    return {"world": world, "milk": milk, "drug": drug, "mine": mine, "theirs": theirs,
            "other_carrier": other_carrier, "other_device": other_device_key,
            "other_point": other_point}


def test_a_merchant_cannot_read_another_merchants_order_and_nothing_of_it_leaks(world):
    milk = _order(world.merchant, world.ids["milk_listing"], MILK_LOT, "SECRET-ORDER-7",
                  "buyer-secret")
    response = world.pharmacy.get(f"/api/v1/orders/{milk['id']}")
    assert response.status_code in (403, 404), response.get_json()
    error_of(response)
    text = response.get_data(as_text=True)
    for leaked in ("SECRET-ORDER-7", milk["buyer_id"], milk["payment_reference"],
                   str(milk["total_cents"]), MILK_LOT):
        assert leaked not in text
    assert world.merchant.ok("GET", f"/api/v1/orders/{milk['id']}")["order_no"] == "SECRET-ORDER-7"


def test_a_merchants_order_list_holds_only_its_own_orders(chain):
    world = chain["world"]
    milk, drug = chain["milk"]["id"], chain["drug"]["id"]
    own = [o["id"] for o in world.merchant.ok("GET", "/api/v1/orders")["items"]]
    assert own == [milk]
    assert [o["id"] for o in world.pharmacy.ok("GET", "/api/v1/orders")["items"]] == [drug]
    for overseer in (world.admin, world.inspector):
        seen = {o["id"] for o in overseer.ok("GET", "/api/v1/orders")["items"]}
        assert seen == {milk, drug}


def test_a_carrier_sees_only_the_parcels_it_carries(chain):
    world = chain["world"]
    mine = world.carrier.ok("GET", "/api/v1/parcels")["items"]
    assert [p["key"] for p in mine] == [f"00/{chain['mine']}"]
    theirs = chain["other_carrier"].ok("GET", "/api/v1/parcels")["items"]
    assert [p["key"] for p in theirs] == [f"00/{chain['theirs']}"]
    response = world.carrier.get(f"/api/v1/parcels/{chain['theirs']}")
    assert response.status_code in (403, 404), response.get_json()
    assert "items" not in response.get_json() and chain["milk"]["id"] not in response.get_data(
        as_text=True)
    merchant_sees = {p["key"] for p in world.merchant.ok("GET", "/api/v1/parcels")["items"]}
    assert merchant_sees == {f"00/{chain['mine']}", f"00/{chain['theirs']}"}
    assert world.pharmacy.ok("GET", "/api/v1/parcels")["items"] == []


def test_a_device_cannot_record_a_scan_at_another_point(chain):
    world = chain["world"]
    elsewhere = world.ids["points"][1]
    response = world.device.post("/api/v1/scans", {"key": chain["mine"], "step": "arrive",
                                                   "point_id": elsewhere})
    assert response.status_code == 403, response.get_json()
    assert error_of(response)["code"] == "wrong_point"
    parcel = world.merchant.ok("GET", f"/api/v1/parcels/{chain['mine']}")
    assert (parcel["state"], parcel["last_point_id"]) == ("dispatched", None)
    trail = world.merchant.ok("GET", "/api/v1/trail", key=chain["mine"])
    assert "arrive" not in [e["biz_step"] for e in trail["events"]]
    # Its own point (implicit or named) is fine.
    own_point = world.ids["points"][0]
    scanned = world.device.ok("POST", "/api/v1/scans", {"key": chain["mine"], "step": "arrive",
                                                        "point_id": own_point})
    assert scanned["point_id"] == own_point


def test_a_device_of_one_carrier_cannot_scan_another_carriers_parcel(chain):
    world = chain["world"]
    response = chain["other_device"].post("/api/v1/scans", {"key": chain["mine"],
                                                             "step": "arrive"})
    assert response.status_code in (403, 404), response.get_json()
    parcel = world.merchant.ok("GET", f"/api/v1/parcels/{chain['mine']}")
    assert (parcel["state"], parcel["last_point_id"]) == ("dispatched", None)
    # ...while its own carrier's parcel scans.
    ok = chain["other_device"].ok("POST", "/api/v1/scans", {"key": chain["theirs"],
                                                             "step": "arrive"})
    assert ok["point_id"] == chain["other_point"]


def test_a_merchant_cannot_read_the_trail_of_a_key_it_never_touched(chain):
    world = chain["world"]
    for key in (MILK_LOT, chain["mine"]):
        response = world.pharmacy.get("/api/v1/trail", key=key)
        assert response.status_code == 404, response.get_json()
        assert error_of(response)["code"] == "unknown_trace_key"
        assert "events" not in response.get_json()
        # Indistinguishable from a key that does not exist at all.
        assert world.merchant.ok("GET", "/api/v1/trail", key=key)["events"]
    unknown = world.pharmacy.get("/api/v1/trail", key=sscc(999))
    assert error_of(unknown)["code"] == "unknown_trace_key"
    own = world.pharmacy.ok("GET", "/api/v1/trail", key=f"drug/{drug_code(1)}")
    assert [e["biz_step"] for e in own["events"]][-1] == "sale"
    assert own["trace_key"]["kind"] == "unit" and own["trace_key"]["product"]["gtin"].endswith(DRUG)
