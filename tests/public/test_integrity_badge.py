"""The integrity badge verifies the shown steps against the signed log, server-side."""

from __future__ import annotations

from sqlalchemy import select, text

from tests.public.conftest import JSON, MILK_PARCEL, SN1, get
from trace_service.chain.models import Event
from trace_service.ledger import services as ledger


def test_the_unit_page_says_its_trail_is_in_the_log_at_a_checkpoint(app, client, demo):
    body = client.get(SN1, headers=JSON).get_json()
    badge = body["integrity"]
    assert badge["status"] == "verified"
    assert badge["count"] == len(body["journey"]) and badge["missing"] == 0
    with app.extensions["trace_db"].read_session() as db:
        newest = ledger.newest_checkpoint(db)
    assert badge["checkpoint"] == newest.size
    page = get(client, SN1, lang="en").get_data(as_text=True)
    assert f"in the tamper-evident log at checkpoint {newest.size}" in page


def test_a_new_step_gets_a_fresh_checkpoint_so_the_badge_never_waits(app, client, demo):
    first = client.get(MILK_PARCEL, headers=JSON).get_json()["integrity"]["checkpoint"]
    # The SN0002 trail gets a new event (a sale through the API) after that checkpoint.
    from tests.helpers import Caller

    pharmacy = Caller(client, demo["keys"]["pharmacy"])
    pharmacy.ok("POST", "/api/v1/orders", {
        "order_no": "NEW-1", "buyer": {"external_ref": "b-new"},
        "payment": {"channel": "alipay", "reference": "r-new"},
        "lines": [{"listing_id": demo["listings"]["drug"],
                   "key": "01/06909876543212/21/SN0002"}]})
    app.extensions["trace_public"].clear_caches()
    badge = client.get("/01/06909876543212/21/SN0002", headers=JSON).get_json()["integrity"]
    assert badge["status"] == "verified" and badge["checkpoint"] > first


def test_a_tampered_event_fails_the_badge(app, client, demo):
    database = app.extensions["trace_db"]
    with database.write_session() as db:
        event_id = db.scalar(select(Event.id).where(Event.biz_step == "receipt")
                             .order_by(Event.id).limit(1))
        db.execute(text("UPDATE events SET content = replace(content, 'delivered', "
                        "'DELIVERED') WHERE id = :id"), {"id": event_id})
        db.commit()
    body = client.get(MILK_PARCEL, headers=JSON).get_json()
    assert body["integrity"]["status"] == "failed"
    page = get(client, MILK_PARCEL).get_data(as_text=True)
    assert 'data-status="failed"' in page
