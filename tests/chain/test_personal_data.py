"""Personal data stays in its own table: never in event rows, responses of others, or logs."""

import logging

from sqlalchemy import select, text

from tests.chain.flows import deliver, pack, sell
from trace_service.chain.models import Event
from trace_service.people.services import mask_address, mask_name, mask_phone

CANARIES = {
    "name": "CANARYNAME甲乙", "phone": "13999990001", "address": "CANARYADDR 北京市某路1号",
    "signer": "CANARYSIGNER", "signer_phone": "13999990002", "reviewer": "CANARYREVIEWER",
    "complainant": "CANARYCOMPLAINANT", "complainant_phone": "13999990003",
    "staff": "CANARYSTAFF", "ref": "canary-account-77",
}


def test_no_personal_data_reaches_event_rows_or_logs(app, world, caplog):
    caplog.set_level(logging.DEBUG)
    world.carrier.ok("POST", "/api/v1/staff", {
        "carrier_id": world.ids["carrier"], "staff_no": "S-1",
        "person": {"name": CANARIES["staff"], "phone": "13999990004"}})
    order = sell(world, buyer={"external_ref": CANARIES["ref"], "name": CANARIES["name"],
                               "phone": CANARIES["phone"],
                               "address": CANARIES["address"]}).get_json()
    parcel = pack(world, order["id"]).get_json()["key"]
    world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel}, status=200)
    world.device.ok("POST", "/api/v1/scans", {"key": parcel, "step": "arrive"})
    assert deliver(world, parcel, signer={"name": CANARIES["signer"],
                                          "phone": CANARIES["signer_phone"]}).status_code == 201
    world.merchant.ok("POST", f"/api/v1/orders/{order['id']}/reviews", {
        "reviewer": {"external_ref": CANARIES["ref"]}, "rating": 1, "text": "meh"})
    world.merchant.ok("POST", "/api/v1/complaints", {
        "order_id": order["id"], "category": "quality", "text": "sour",
        "complainant": {"name": CANARIES["complainant"], "phone": CANARIES["complainant_phone"]}})

    with app.extensions["trace_db"].read_session() as s:
        contents = s.scalars(select(Event.content)).all()
        rows = s.execute(text("SELECT * FROM events")).all()
        persons = s.execute(text("SELECT name, phone, address FROM persons")).all()
    assert len(contents) >= 7
    dump = "\n".join(map(str, rows)) + "\n".join(contents)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for canary in CANARIES.values():
        assert canary not in dump, canary
        assert canary not in logs, canary
    # ... while the personal data itself is kept, apart, for the parties entitled to it.
    stored = {value for row in persons for value in row if value}
    assert {CANARIES["name"], CANARIES["phone"], CANARIES["signer"]} <= stored


def test_responses_carry_pseudonymous_ids_not_people(world):
    order = sell(world, buyer={"name": CANARIES["name"], "phone": CANARIES["phone"]}).get_json()
    listing = world.inspector.ok("GET", "/api/v1/orders")
    for body in (order, listing):
        assert CANARIES["name"] not in str(body) and CANARIES["phone"] not in str(body)


def test_masking_hides_all_but_a_hint():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_name("Alice Smith") == "A**** S****"
    assert mask_address("北京市朝阳区建国路88号") .startswith("北京市朝阳区")
    assert "88" not in mask_address("北京市朝阳区建国路88号")
    assert mask_phone(None) is None and mask_name("") == ""
