"""Steps of the chain as a client performs them, shared by the chain tests."""

from __future__ import annotations

import itertools

from tests.helpers import sscc
from tests.world import DRUG, MILK, drug_code

_numbers = itertools.count(1)

MILK_LOT = f"01/0{MILK}/10/L1"
BUYER = {"external_ref": "buyer-1", "name": "李娜", "phone": "13912345678",
         "address": "北京市朝阳区建国路88号"}


def sell(world, caller=None, *, lines=None, buyer=None, order_no=None):
    caller = caller or world.merchant
    body = {
        "order_no": order_no or f"NO-{next(_numbers)}",
        "buyer": buyer or BUYER,
        "payment": {"channel": "alipay", "reference": f"PAY{next(_numbers):012d}"},
        "lines": lines or [{"listing_id": world.ids["milk_listing"], "key": MILK_LOT,
                            "quantity": 2}],
    }
    return caller.post("/api/v1/orders", body)


def sell_drug(world, n=1, buyer=None):
    return sell(world, world.pharmacy, buyer=buyer,
                lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(n)}])


def pack(world, order_id, caller=None, parcel=None, items=None):
    caller = caller or world.merchant
    body = {"order_id": order_id, "parcel": parcel or sscc(next(_numbers)),
            "carrier_id": world.ids["carrier"]}
    if items:
        body["items"] = items
    return caller.post("/api/v1/parcels", body)


def ship(world, caller=None, **sale):
    """Sell, pack and dispatch; returns (order, parcel key)."""
    caller = caller or world.merchant
    response = sell(world, caller, **sale)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    parcel = pack(world, order["id"], caller).get_json()
    caller.ok("POST", "/api/v1/dispatches", {"parcel": parcel["key"]}, status=200)
    return order, parcel["key"]


def deliver(world, parcel_key, signer=None):
    return world.carrier.post("/api/v1/receipts", {
        "parcel": parcel_key, "method": "consignee",
        "signer": signer or {"name": "李娜", "phone": "13912345678"}})


__all__ = ["DRUG", "MILK", "MILK_LOT", "BUYER", "drug_code", "sell", "sell_drug", "pack",
           "ship", "deliver"]
