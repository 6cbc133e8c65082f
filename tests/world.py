"""Builds the test world through the HTTP API (only the first admin key is made directly)."""

from __future__ import annotations

import datetime as dt

from trace_service.auth.services import create_key
from tests.helpers import CREDIT_CODES, Caller, World, gtin13

MILK = gtin13("690123456789")
DRUG = gtin13("690987654321")
DRUG_PRODUCT_CODE = "8123456"
MILK_PREFIX = "690123"
DRUG_PREFIX = "690987"
MILK_LOT_QUANTITY = 1000
MILK_SHOP_QUANTITY = 500


def drug_code(serial: int) -> str:
    return f"{DRUG_PRODUCT_CODE}{serial:09d}0000"


def bootstrap_admin(app) -> str:
    sess = app.extensions["trace_db"].write_session()
    _, plaintext = create_key(sess, role="admin", label="bootstrap")
    sess.commit()
    sess.close()
    return plaintext


def build_world(app, client) -> World:
    admin = Caller(client, bootstrap_admin(app))
    today = dt.date.today()
    year = dt.timedelta(days=365)

    def party(kind, name, code):
        return admin.ok("POST", "/api/v1/parties",
                        {"kind": kind, "name": name, "credit_code": code, "verified": True})["id"]

    foods = party("merchant", "Fresh Foods", CREDIT_CODES[1])
    pharmacy = party("merchant", "Pharmacy", CREDIT_CODES[3])
    dairy = party("manufacturer", "Dairy", CREDIT_CODES[2])
    pharma = party("manufacturer", "Pharma", CREDIT_CODES[7])
    carrier = party("carrier", "Swift", CREDIT_CODES[4])
    other_carrier = party("carrier", "Other", CREDIT_CODES[5])
    admin.ok("POST", f"/api/v1/parties/{foods}/licences", {
        "kind": "food_business", "number": "JY1", "categories": ["food"],
        "valid_from": (today - year).isoformat(), "valid_until": (today + year).isoformat()})
    admin.ok("POST", f"/api/v1/parties/{pharmacy}/licences", {
        "kind": "drug_business", "number": "DL1", "categories": ["drug"],
        "valid_from": (today - year).isoformat(), "valid_until": (today + year).isoformat()})
    points = [admin.ok("POST", "/api/v1/points", {"name": name, "city": city,
                                                  "carrier_id": carrier})["id"]
              for name, city in (("HZ centre", "Hangzhou"), ("SH hub", "Shanghai"),
                                 ("BJ station", "Beijing"))]
    devices = [admin.ok("POST", "/api/v1/devices", {"label": f"scanner {i}", "point_id": p,
                                                    "carrier_id": carrier})["id"]
               for i, p in enumerate(points)]

    def key(**body):
        return Caller(client, admin.ok("POST", "/api/v1/keys", body)["key"])

    merchant = key(role="merchant", party_id=foods)
    pharm = key(role="merchant", party_id=pharmacy)
    world = World(
        admin=admin, merchant=merchant, pharmacy=pharm,
        carrier=key(role="carrier", party_id=carrier),
        device=key(role="device", device_id=devices[0]),
        device_b=key(role="device", device_id=devices[1]),
        inspector=key(role="inspector"),
        dairy=key(role="merchant", party_id=dairy),
        pharma=key(role="merchant", party_id=pharma),
        ids={"foods": foods, "pharmacy": pharmacy, "dairy": dairy, "pharma": pharma,
             "carrier": carrier, "other_carrier": other_carrier, "points": points,
             "devices": devices},
    )
    # Brand owners: the makers hold the GS1 company prefixes of their GTINs.
    admin.ok("POST", f"/api/v1/parties/{dairy}/prefixes",
             {"prefix": MILK_PREFIX, "evidence": "GS1 China member certificate 0001"})
    admin.ok("POST", f"/api/v1/parties/{pharma}/prefixes",
             {"prefix": DRUG_PREFIX, "evidence": "GS1 China member certificate 0002"})
    world.dairy.ok("POST", "/api/v1/products", {"gtin": MILK, "name": "Milk",
                                                "category": "food"})
    world.dairy.ok("POST", "/api/v1/lots", {
        "gtin": MILK, "lot": "L1", "production_date": (today - dt.timedelta(days=5)).isoformat(),
        "expiry_date": (today + dt.timedelta(days=90)).isoformat(), "origin": "Huzhou",
        "quantity": MILK_LOT_QUANTITY})
    world.pharma.ok("POST", "/api/v1/products", {"gtin": DRUG, "name": "Ibuprofen",
                                                 "category": "drug",
                                                 "drug_product_code": DRUG_PRODUCT_CODE})
    world.pharma.ok("POST", "/api/v1/lots", {"gtin": DRUG, "lot": "B1",
                                             "expiry_date": (today + year).isoformat()})
    world.pharma.ok("POST", "/api/v1/units", {
        "gtin": DRUG, "lot": "B1", "serials": ["S1", "S2", "S3"],
        "drug_codes": [drug_code(n) for n in (1, 2, 3)]})
    # Custody: the makers ship stock to the shops, which receive it.
    transfer(world.dairy, merchant, foods, [{"key": f"01/{MILK}/10/L1",
                                             "quantity": MILK_SHOP_QUANTITY}])
    transfer(world.pharma, pharm, pharmacy,
             [{"key": f"01/{DRUG}/21/S{n}"} for n in (1, 2, 3)]
             + [{"key": drug_code(n)} for n in (1, 2, 3)])
    world.ids["milk_listing"] = merchant.ok("POST", "/api/v1/listings", {
        "gtin": MILK, "lot": "L1", "title": "Milk", "price_cents": 6990})["id"]
    world.ids["drug_listing"] = pharm.ok("POST", "/api/v1/listings", {
        "gtin": DRUG, "title": "Ibuprofen", "price_cents": 2850})["id"]
    return world


def transfer(source: Caller, destination: Caller, destination_id: str, items: list[dict],
             reference: str = "DESADV-1") -> str:
    """Ship ``items`` from one party to another and receive them there; the transfer id."""
    shipped = source.ok("POST", "/api/v1/transfers", {
        "destination_id": destination_id, "items": items, "reference": reference})
    destination.ok("POST", f"/api/v1/transfers/{shipped['id']}/receive", {}, status=200)
    return shipped["id"]
