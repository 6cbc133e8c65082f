"""Fixtures for the tests of who may write and read what: a world built over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import CREDIT_CODES, Caller
from tests.live import serving
from tests.live_client import LiveClient
from tests.world import build_world

YEAR = dt.timedelta(days=365)


@pytest.fixture
def live(app):
    with serving(app) as url:
        client = LiveClient(url)
        yield client
        client.close()


@pytest.fixture
def live_world(app, live):
    """The test world built over HTTP, with rivals: a second pharmacy (verified, with a
    drug licence), a second merchant with a brand of its own, and a second carrier."""
    w = build_world(app, live)
    admin, today = w.admin, dt.date.today()

    def party(kind, name, code):
        return admin.ok("POST", "/api/v1/parties", {"kind": kind, "name": name,
                                                    "credit_code": code, "verified": True})["id"]

    rival_pharmacy = party("merchant", "Rival Pharmacy", CREDIT_CODES[0])
    rival_shop = party("merchant", "Rival Shop", CREDIT_CODES[6])
    admin.ok("POST", f"/api/v1/parties/{rival_pharmacy}/licences", {
        "kind": "drug_business", "number": "DL9", "categories": ["drug"],
        "valid_from": (today - YEAR).isoformat(), "valid_until": (today + YEAR).isoformat()})
    admin.ok("POST", f"/api/v1/parties/{rival_shop}/licences", {
        "kind": "food_business", "number": "JY9", "categories": ["food", "drug"],
        "valid_from": (today - YEAR).isoformat(), "valid_until": (today + YEAR).isoformat()})
    rival_point = admin.ok("POST", "/api/v1/points", {
        "name": "Other depot", "city": "Wuhan", "carrier_id": w.ids["other_carrier"]})["id"]

    def key(**body):
        return Caller(live, admin.ok("POST", "/api/v1/keys", body)["key"])

    w.rival_pharmacy = key(role="merchant", party_id=rival_pharmacy)
    w.rival_shop = key(role="merchant", party_id=rival_shop)
    w.rival_carrier = key(role="carrier", party_id=w.ids["other_carrier"])
    w.ids.update(rival_pharmacy=rival_pharmacy, rival_shop=rival_shop, rival_point=rival_point)
    return w


