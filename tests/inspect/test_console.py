"""The inspector console: sign-in with CSRF, search, trail, trace, recall, spot checks."""

from __future__ import annotations

import pytest

from tests.chain.flows import MILK, MILK_LOT, sell
from tests.inspect.conftest import count, csrf_of
from trace_service.inspect.models import AccessLog
from trace_service.recalls.models import Recall


def sign_in(client, key):
    form = client.get("/inspect/sign-in")
    return client.post("/inspect/sign-in", data={"csrf_token": csrf_of(form.get_data(as_text=True)),
                                                 "api_key": key})


@pytest.fixture
def browser(app, history):
    client = app.test_client()
    response = sign_in(client, history.inspector.key)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inspect/")
    return client


def test_the_sign_in_form_needs_its_csrf_token_and_an_inspector_key(app, world):
    client = app.test_client()
    form = client.get("/inspect/sign-in")
    assert form.status_code == 200
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]
    assert form.headers["X-Frame-Options"] == "DENY" and form.headers["Cache-Control"] == "no-store"
    html = form.get_data(as_text=True)
    assert 'type="password"' in html and "http://" not in html and "https://" not in html
    no_token = client.post("/inspect/sign-in", data={"api_key": world.inspector.key})
    assert no_token.status_code == 400
    assert sign_in(client, "trk_00000000_" + "x" * 43).status_code == 401
    merchant = sign_in(client, world.merchant.key)
    assert merchant.status_code == 403 and "inspector keys" in merchant.get_data(as_text=True)
    assert client.get("/inspect/").status_code == 302
    ok = sign_in(client, world.inspector.key)
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert world.inspector.key not in cookie
    assert client.get("/inspect/").status_code == 200


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back_only_within_the_console(app, world):
    client = app.test_client()
    response = client.get(f"/inspect/trail?key={MILK_LOT}")
    assert response.status_code == 302 and "/inspect/sign-in?next=" in response.headers["Location"]
    form = client.get("/inspect/sign-in?next=https://evil.example/")
    assert "evil.example" not in form.get_data(as_text=True)
    back = client.post("/inspect/sign-in", data={
        "csrf_token": csrf_of(form.get_data(as_text=True)), "api_key": world.inspector.key,
        "next": "//evil.example/inspect"})
    assert back.headers["Location"].endswith("/inspect/")


def test_search_trail_and_trace_pages_show_the_chain_with_integrity(browser, history):
    page = browser.get("/inspect/", query_string={"q": f"(01)0{MILK}(10)L1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and MILK_LOT in html and "Milk" in html
    trail = browser.get("/inspect/trail", query_string={"key": history.ids["parcel_a"]})
    html = trail.get_data(as_text=True)
    assert trail.status_code == 200
    assert "HZ centre" in html and "Hangzhou" in html and "verified" in html and "+08:00" in html
    assert 'href="/inspect/download/evidence.zip?key=' in html
    trace = browser.get("/inspect/trace", query_string={"key": MILK_LOT})
    html = trace.get_data(as_text=True)
    assert "Shanghai" in html and "Dairy" in html and history.ids["parcel_b"] in html
    missing = browser.get("/inspect/trail", query_string={"key": "waybill/NOPE-123"})
    assert missing.status_code == 404 and "not registered" in missing.get_data(as_text=True)
    download = browser.get("/inspect/download/trail.csv", query_string={"key": MILK_LOT})
    assert download.status_code == 200 and download.get_data().startswith(b"\xef\xbb\xbf")
    log = history.admin.ok("GET", "/api/v1/access-log", limit=3)["items"]
    assert {e["channel"] for e in log} == {"console"}
    assert log[0]["subject"] == MILK_LOT and log[0]["path"] == "/inspect/download/trail.csv"


def test_a_recall_is_opened_and_closed_on_forms_that_carry_the_csrf_token(app, browser, history):
    recalls = browser.get("/inspect/recalls")
    token = csrf_of(recalls.get_data(as_text=True))
    form = {"lots": f"(01)0{MILK}(10)L1\n", "reason": "Foreign matter", "severity": "II",
            "authority": "Hangzhou AMR", "reference": "HZ-7"}
    forged = browser.post("/inspect/recalls", data=form)
    assert forged.status_code == 400 and count(app, Recall) == 0
    opened = browser.post("/inspect/recalls", data=dict(form, csrf_token=token))
    assert opened.status_code == 302
    page = browser.get(opened.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Foreign matter" in html and "parcels stopped" in html and "王*" in html
    assert "13700001111" not in html and "137****1111" in html
    assert sell(history).status_code == 409
    close = browser.post(opened.headers["Location"] + "/close",
                         data={"csrf_token": token, "note": "all recovered"})
    assert close.status_code == 302 and sell(history).status_code == 201


def test_spot_checks_and_anomalies_work_from_the_console(browser, history):
    page = browser.get("/inspect/spot-checks")
    token = csrf_of(page.get_data(as_text=True))
    drawn = browser.post("/inspect/spot-checks", data={
        "csrf_token": token, "population": "lots", "n": "2", "seed": "99"})
    assert drawn.status_code == 302
    check = browser.get(drawn.headers["Location"]).get_data(as_text=True)
    assert "<code>99</code>" in check and "B1" in check and "L1" in check
    assert browser.get("/inspect/anomalies").status_code == 200


def test_revoking_the_key_ends_the_console_session(app, browser, history):
    prefix = history.inspector.key[:12]
    history.admin.ok("POST", f"/api/v1/keys/{prefix}/revoke", status=200)
    assert browser.get("/inspect/").status_code == 302
    assert count(app, AccessLog) >= 1
