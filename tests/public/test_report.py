"""Report a problem: a prefilled form, CSRF, validation, rate limit, and the chain."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.helpers import Caller
from tests.public.conftest import MILK_LOT, MILK_PARCEL, SN1, SN2, browser, get
from trace_service.feedback.models import Complaint
from trace_service.public.models import ConsumerReport

UNIT1 = "01/06909876543212/21/SN0001"
UNIT2 = "01/06909876543212/21/SN0002"


def _form(client, key, agent="phone-1"):
    page = get(client, f"/report?key={key}", agent=agent)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    text = page.get_data(as_text=True)
    return text, dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', text))


def _submit(client, key, agent="phone-1", **fields):
    _text, hidden = _form(client, key, agent)
    data = dict(hidden, category="counterfeit", text="The seal was broken and the pills look "
                "different.", **fields)
    return client.post("/report", data=data, **browser(agent=agent))


def _rows(app, model):
    with app.extensions["trace_db"].read_session() as db:
        return db.scalars(select(model)).all()


def _trail(client, demo, key):
    admin = Caller(client, demo["keys"]["admin"])
    return admin.ok("GET", "/api/v1/trail", key=key)


def test_the_unit_page_links_to_a_form_prefilled_with_its_identifiers(client, demo):
    page = get(client, SN1).get_data(as_text=True)
    link = re.search(r'href="(/report\?key=[^"]+)"', page).group(1)
    form = get(client, link.replace("&amp;", "&"))
    text = form.get_data(as_text=True)
    assert form.status_code == 200
    for value in ("06909876543212", "B2611007", "SN0001", "Ibuprofen"):
        assert value in text
    assert 'name="csrf"' in text and client.get_cookie("trace_csrf") is not None
    cookie = client.get_cookie("trace_csrf")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_a_report_about_a_sold_unit_becomes_a_complaint_on_its_order_and_in_its_trail(
        app, client, demo):
    response = _submit(client, UNIT1, name="Wang", phone="13900001111")
    assert response.status_code == 303
    received = client.get(response.location, **browser())
    assert received.status_code == 200 and "rpt_" in received.get_data(as_text=True)
    (report,) = _rows(app, ConsumerReport)
    assert report.category == "counterfeit" and report.complaint_id and report.order_id
    complaint = next(c for c in _rows(app, Complaint) if c.id == report.complaint_id)
    assert complaint.order_id == report.order_id and complaint.status == "open"
    assert complaint.complainant_id == report.reporter_id is not None
    trail = _trail(client, demo, UNIT1)
    complaint_events = [e for e in trail["events"] if e["biz_step"] == "complaint"]
    assert complaint_events and complaint_events[-1]["event_id"] == report.event_id
    assert complaint_events[-1]["content"]["biz_transactions"]["complaint"] == complaint.id


def test_the_merchant_sees_the_consumers_report_as_a_complaint(app, client, demo):
    _submit(client, UNIT1)
    pharmacy = Caller(client, demo["keys"]["pharmacy"])
    complaints = pharmacy.ok("GET", "/api/v1/complaints")["items"]
    assert any(c["category"] == "counterfeit" and "seal was broken" in c["text"]
               for c in complaints)


def test_a_report_about_an_unsold_unit_is_accepted_against_the_unit(app, client, demo):
    assert _submit(client, UNIT2).status_code == 303
    (report,) = _rows(app, ConsumerReport)
    assert report.complaint_id is None and report.order_id is None
    event = next(e for e in _trail(client, demo, UNIT2)["events"]
                 if e["biz_step"] == "complaint")
    assert event["content"]["data"] == {"category": "counterfeit", "source": "consumer"}
    assert event["content"]["biz_transactions"] == {"report": report.id}


def test_a_report_about_a_lot_goes_against_the_lot(app, client, demo):
    lot_key = "01/06901234567892/10/L20261101A"
    assert _submit(client, lot_key).status_code == 303
    (report,) = _rows(app, ConsumerReport)
    assert report.order_id is None and report.complaint_id is None
    events = [e for e in _trail(client, demo, lot_key)["events"]
              if e["content"].get("biz_transactions", {}).get("report") == report.id]
    assert len(events) == 1 and events[0]["biz_step"] == "complaint"


def test_a_report_about_a_parcel_is_a_complaint_on_the_parcels_order(app, client, demo):
    _text, hidden = _form(client, "00/069012340000000016")
    response = client.post("/report", data=dict(hidden, category="empty_parcel",
                                                text="The box arrived empty."),
                           **browser())
    assert response.status_code == 303
    (report,) = _rows(app, ConsumerReport)
    assert report.order_id == demo["orders"]["milk"] and report.complaint_id


@pytest.mark.parametrize("fields, field", [
    ({"category": "teleportation"}, "category"),
    ({"text": "bad"}, "text"),
    ({"phone": "call me maybe"}, "phone"),
    ({"category": "empty_parcel"}, "category"),  # a parcel category, not a unit one
])
def test_an_invalid_report_is_shown_again_with_the_mistake_and_nothing_is_stored(
        app, client, demo, fields, field):
    _text, hidden = _form(client, UNIT1)
    data = dict(hidden, category="quality", text="It tastes of soap, really.")
    data.update(fields)
    response = client.post("/report", data=data, **browser())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    assert _rows(app, ConsumerReport) == []
    assert len(_rows(app, Complaint)) == 1  # the demo's own complaint only


def test_a_report_without_the_csrf_token_or_cookie_is_refused(app, client, demo):
    _text, hidden = _form(client, UNIT1)
    base = {"key": UNIT1, "category": "quality", "text": "It tastes of soap, really."}
    no_token = client.post("/report", data=base, **browser())
    assert no_token.status_code == 403
    client.delete_cookie("trace_csrf")
    no_cookie = client.post("/report", data=dict(base, csrf=hidden["csrf"]), **browser())
    assert no_cookie.status_code == 403
    assert "expired" in no_cookie.get_data(as_text=True)
    assert _rows(app, ConsumerReport) == []


def test_a_report_posted_from_another_site_is_refused(app, client, demo):
    _text, hidden = _form(client, UNIT1)
    kw = browser()
    kw["headers"]["Origin"] = "https://evil.example"
    response = client.post("/report", data=dict(hidden, category="quality",
                                                text="It tastes of soap, really."), **kw)
    assert response.status_code == 400
    assert _rows(app, ConsumerReport) == []


def test_a_report_about_an_unknown_key_is_a_404(client, demo):
    assert get(client, "/report?key=01/06909876543212/21/NOPE").status_code == 404
    assert get(client, "/report?key=garbage").status_code == 404


def test_reports_are_rate_limited_with_retry_after(app, client, demo):
    statuses = [_submit(client, UNIT2).status_code for _ in range(5)]
    assert statuses == [303] * 5
    refused = _submit(client, UNIT2)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.get_data(as_text=True)
    assert len(_rows(app, ConsumerReport)) == 5


def test_report_links_exist_on_lot_and_parcel_pages(client, demo):
    for path in (MILK_LOT, MILK_PARCEL, SN2):
        assert "/report?key=" in get(client, path).get_data(as_text=True)
