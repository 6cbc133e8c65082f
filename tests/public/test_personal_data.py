"""No personal data on any public route: canary strings in every personal field, then every
public page, in both languages, as HTML and JSON, must show none of them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.public.conftest import BROWSER, JSON, browser
from trace_service.identifiers import gs1_check_digit
from trace_service.auth.permissions import Actor
from trace_service.chain.models import TraceKey
from trace_service.context import Ctx
from trace_service.feedback import services as feedback
from trace_service.orders import services as orders
from trace_service.parties import services as parties
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.people.models import Person
from trace_service.shipping import services as shipping

CANARY = "CANARY7Q"
SSCC3 = "06901234000000003" + gs1_check_digit("06901234000000003")


def _person(tag: str, phone_tail: str) -> dict:
    return {"external_ref": f"{CANARY}-ref-{tag}", "name": f"{CANARY} Name {tag}",
            "phone": f"1390000{phone_tail}", "address": f"{CANARY} Street {tag}, Beijing"}


@pytest.fixture
def canaries(app, demo):
    """The demo plus one more sale with canaries in every personal field of the chain."""
    sess = app.extensions["trace_db"].write_session()
    pharmacy = sess.scalar(select(Party).where(Party.id == demo["parties"]["pharmacy"]))
    merchant = Ctx(sess, Actor("t", "merchant", party_id=pharmacy.id), "+08:00")
    carrier = Ctx(sess, Actor("t", "carrier", party_id=demo["parties"]["carrier"]), "+08:00")
    admin = Ctx(sess, Actor("t", "admin"), "+08:00")
    unit = sess.scalar(select(TraceKey).where(TraceKey.key == "01/06909876543212/21/SN0002"))
    order = orders.place_order(
        merchant, order_no=f"{CANARY}-ORDER", buyer=_person("buyer", "0001"),
        consignee=_person("consignee", "0002"),
        payment={"channel": "alipay", "reference": f"{CANARY}PAYREF"},
        lines=[{"listing_id": demo["listings"]["drug"], "key": unit.key}],
        event_time=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5))
    shipping.pack(merchant, order.id, parcel_key=SSCC3, carrier_id=demo["parties"]["carrier"],
                  items=None, event_time=None)
    shipping.dispatch(merchant, SSCC3, event_time=None)
    point = sess.scalar(select(LogisticsPoint).where(LogisticsPoint.city == "Beijing"))
    shipping.scan(carrier, key_text=SSCC3, step="arrive", point_id=point.id, event_time=None)
    shipping.receive(carrier, SSCC3, signer=_person("signer", "0003"), method="proxy",
                     point_id=point.id, event_time=None)
    feedback.add_review(merchant, order.id, reviewer={"external_ref": f"{CANARY}-ref-buyer"},
                        rating=1, text=f"{CANARY} review text", appended=False)
    feedback.file_complaint(merchant, order_id=order.id, category="quality",
                            text=f"{CANARY} complaint text",
                            complainant=_person("complainant", "0004"), key=unit.key)
    parties.create_staff(admin, carrier_id=demo["parties"]["carrier"],
                         staff_no=f"{CANARY}-STAFF", person=_person("staff", "0005"),
                         point_id=point.id)
    sess.commit()
    sess.close()
    return demo


def _secrets(app) -> set[str]:
    """Every personal value stored, plus other private strings, to look for."""
    from trace_service.feedback.models import Complaint, Review
    from trace_service.orders.models import Order

    found = {CANARY}
    with app.extensions["trace_db"].read_session() as db:
        for person in db.scalars(select(Person)):
            found |= {v for v in (person.id, person.external_ref, person.name, person.phone,
                                  person.address) if v}
        found |= {o.payment_reference for o in db.scalars(select(Order))}
        found |= {o.order_no for o in db.scalars(select(Order))}
        found |= {r.text for r in db.scalars(select(Review)) if r.text}
        found |= {c.text for c in db.scalars(select(Complaint))}
    return found


def _public_paths(app, demo) -> list[str]:
    with app.extensions["trace_db"].read_session() as db:
        keys = db.scalars(select(TraceKey.key)).all()
    paths = ["/01/06909876543212", "/01/06901234567892", "/01/06909876543213",
             "/00/069012340000000017", "/healthz", "/report/received?ref=rpt_x&page=/x"]
    for key in keys:
        if key.startswith("01/"):
            paths.append("/" + key)
        elif key.startswith("00/"):
            paths.append("/" + key)
        elif key.startswith("drug/"):
            paths.append("/" + key)
        elif key.startswith("waybill/"):
            paths.append("/" + key)
        paths.append(f"/report?key={key}")
    paths += list(demo["consumer_pages"].values())
    return paths


def test_no_personal_data_appears_on_any_public_route(app, client, canaries, unlimited):
    # A consumer report with contact details, through the public form.
    page = client.get("/report?key=01/06909876543212/21/SN0002", **browser()).get_data(
        as_text=True)
    hidden = dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', page))
    report = client.post("/report", data=dict(hidden, category="counterfeit",
                                              text=f"{CANARY} report text",
                                              name=f"{CANARY} Reporter", phone="13900000006"),
                         **browser())
    assert report.status_code == 303
    received = client.get(report.location, **browser())
    secrets = _secrets(app) | {f"{CANARY} report text", "13900000006"}
    assert any(s.startswith("psn_") for s in secrets) and "13900000001" in secrets
    paths = _public_paths(app, canaries) + [report.location]
    checked = pages = 0
    for path in paths:
        for headers in (dict(BROWSER, **{"Accept-Language": "en"}),
                        dict(BROWSER, **{"Accept-Language": "zh-CN"}), JSON):
            response = client.get(path, headers=headers)
            assert response.status_code in (200, 404), (path, response.status_code)
            body = response.get_data(as_text=True)
            leaked = [s for s in secrets if s in body]
            assert not leaked, (path, headers["Accept"], leaked)
            checked += 1
            pages += response.status_code == 200
    assert received.status_code == 200
    assert checked > 60 and pages > 50
    # Every public route was exercised.
    rules = {r.rule.split("<")[0] for r in app.url_map.iter_rules()
             if r.endpoint.startswith("public.") and "GET" in r.methods}
    for rule in rules:
        assert any(p.startswith(rule) for p in paths), rule


def test_the_public_json_never_carries_person_ids_or_event_content(client, canaries):
    body = client.get("/01/06909876543212/10/B2611007/21/SN0002", headers=JSON).get_json()
    text = str(body)
    assert "psn_" not in text and "content" not in body
    assert all("device" not in step and "party_id" not in step for step in body["journey"])
    receipt = next(s for s in body["journey"] if s["step"] == "receipt")
    assert receipt["method"] == "proxy" and set(receipt) <= {
        "step", "at", "city", "point", "by", "via_parcel", "method"}
