"""The GS1 Digital Link resolver: which URLs name what, exact match, HTML vs JSON, and the
helpful 404 pages."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.public.conftest import (
    BROWSER, DRUG_WAYBILL, JSON, MILK_LOT, MILK_PARCEL, SN1, SN2, SN3, get,
)
from trace_service.auth.permissions import Actor
from trace_service.brands import services as brands
from trace_service.catalog import services as catalog
from trace_service.context import Ctx
from trace_service.identifiers import gs1_check_digit, normalize_gtin


def _admin(app):
    sess = app.extensions["trace_db"].write_session()
    return sess, Ctx(sess, Actor(key_id="test", role="admin"), "+08:00")


def _register(app, gtin: str, lot: str | None = None, serials=()) -> None:
    from sqlalchemy import select

    from trace_service.parties.models import Party

    sess, ctx = _admin(app)
    maker = sess.scalar(select(Party.id).where(Party.kind == "manufacturer"))
    if brands.brand_owner_prefix(sess, normalize_gtin(gtin)) is None:
        brands.record_prefix(ctx, maker, prefix=normalize_gtin(gtin)[1:8],
                             evidence="test certificate")
    catalog.create_product(ctx, gtin=gtin, name=f"Product {gtin}", category="food",
                           maker_id=maker, drug_product_code=None)
    if lot:
        catalog.create_lot(ctx, gtin=gtin, lot=lot, production_date=None,
                           expiry_date=dt.date(2030, 1, 31), origin=None, quantity=None)
    if serials:
        catalog.register_units(ctx, gtin=gtin, lot=lot, serials=list(serials), drug_codes=[])
    sess.commit()
    sess.close()


def test_a_unit_page_answers_html_to_a_browser_and_json_on_request(client, demo):
    html = get(client, SN1)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "Ibuprofen" in html.get_data(as_text=True)
    as_json = client.get(SN1, headers=JSON)
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    body = as_json.get_json()
    assert body["kind"] == "unit" and body["key"] == "01/06909876543212/21/SN0001"
    assert body["identifiers"] == {"gtin": "06909876543212", "lot": "B2611007",
                                   "serial": "SN0001"}
    assert body["state"] == "delivered"
    assert client.get(SN1 + "?format=json", headers=BROWSER).mimetype == "application/json"


def test_a_gtin_13_in_the_path_is_padded_to_14_digits(client, demo):
    body = client.get("/01/6909876543212/10/B2611007/21/SN0001", headers=JSON).get_json()
    assert body["key"] == "01/06909876543212/21/SN0001"


@pytest.mark.parametrize("short", ["12345670", "012345678905"])
def test_gtin_8_and_gtin_12_are_padded_too(app, client, demo, short):
    _register(app, short.zfill(14), lot="L8", serials=["S1"])
    for path in (f"/01/{short}", f"/01/{short}/10/L8", f"/01/{short}/21/S1"):
        response = client.get(path, headers=JSON)
        assert response.status_code == 200, (path, response.get_json())
        assert response.get_json()["product"]["gtin"] == short.zfill(14)


def test_the_lot_on_a_serial_link_is_optional_but_must_be_the_units_lot(client, demo):
    assert client.get("/01/06909876543212/21/SN0001", headers=JSON).status_code == 200
    wrong = client.get("/01/06909876543212/10/B9999999/21/SN0001", headers=JSON)
    assert wrong.status_code == 404
    assert wrong.get_json()["error"]["code"] == "lot_mismatch"
    page = get(client, "/01/06909876543212/10/B9999999/21/SN0001")
    assert page.status_code == 404 and "not in lot B9999999" in page.get_data(as_text=True)


def test_query_data_attributes_are_accepted_and_checked_against_the_lot(client, demo):
    body = client.get(SN1 + "?17=281022&linkType=gs1:pip", headers=JSON).get_json()
    registered = body["lot"]["expiry_date"]
    label = dt.date(2099, 1, 1)
    mismatch = client.get(SN1 + f"?17={label:%y%m%d}", headers=JSON).get_json()
    codes = [s["code"] for s in mismatch["signals"]]
    assert "expiry_mismatch" in codes
    matching = dt.date.fromisoformat(registered).strftime("%y%m%d")
    same = client.get(SN1 + f"?17={matching}", headers=JSON).get_json()
    assert "expiry_mismatch" not in [s["code"] for s in same["signals"]]
    bad = client.get(SN1 + "?17=281399", headers=JSON)
    assert bad.status_code == 404 and bad.get_json()["error"]["code"] == "ai_date"


def test_percent_encoding_follows_digital_link_rules(app, client, demo):
    gtin = "690111122223" + gs1_check_digit("690111122223")
    _register(app, "0" + gtin, lot="A/B-1", serials=["X/1"])
    lot = client.get(f"/01/{gtin}/10/A%2FB-1", headers=JSON)
    assert lot.status_code == 200 and lot.get_json()["key"] == f"01/0{gtin}/10/A/B-1"
    unit = client.get(f"/01/{gtin}/10/A%2FB-1/21/X%2F1", headers=JSON)
    assert unit.status_code == 200 and unit.get_json()["identifiers"]["serial"] == "X/1"
    # Unencoded, the slash splits the path: "A" is the lot and "B-1" a stray segment.
    assert client.get(f"/01/{gtin}/10/A/B-1", headers=JSON).status_code == 404
    assert client.get(f"/01/{gtin}/10/A%2", headers=JSON).get_json()["error"]["code"] == \
        "dl_percent_encoding"


def test_a_wrong_gtin_check_digit_is_a_helpful_404_page_naming_the_digits(client, demo):
    page = get(client, "/01/06909876543213/21/SN0001", lang="en")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "06909876543213" in text and "wrong check digit" in text
    assert "ends in 3" in text and "would end in 2" in text
    zh = get(client, "/01/06909876543213/21/SN0001", lang="zh-CN").get_data(as_text=True)
    assert "校验位错误" in zh
    as_json = client.get("/01/06909876543213/21/SN0001", headers=JSON)
    assert as_json.status_code == 404
    error = as_json.get_json()["error"]
    assert error["code"] == "gtin_check_digit"
    assert error["details"]["expected"] == "2" and error["details"]["found"] == "3"


def test_a_wrong_sscc_check_digit_and_a_bad_drug_code_are_404s_naming_the_problem(client,
                                                                                   demo):
    sscc = client.get("/00/069012340000000017", headers=JSON).get_json()["error"]
    assert sscc["code"] == "sscc_check_digit" and sscc["details"]["expected"] == "6"
    drug = client.get("/drug/123", headers=JSON).get_json()["error"]
    assert drug["code"].startswith("drug_code")
    waybill = client.get("/waybill/AB", headers=JSON).get_json()["error"]
    assert waybill["code"] == "waybill_invalid"


def test_an_unregistered_serial_is_a_404_that_warns_the_pack_may_not_be_genuine(client, demo):
    page = get(client, "/01/06909876543212/10/B2611007/21/SN9999")
    assert page.status_code == 404
    assert "not registered" in page.get_data(as_text=True)
    assert "12315" in page.get_data(as_text=True)


def test_parcels_resolve_by_sscc_and_by_waybill(client, demo):
    sscc = client.get(MILK_PARCEL, headers=JSON).get_json()
    assert sscc["kind"] == "parcel" and sscc["state"] == "delivered"
    steps = [s["step"] for s in sscc["journey"]]
    assert steps == ["packing", "dispatch", "depart", "arrive", "depart", "arrive", "receipt"]
    assert [s["city"] for s in sscc["journey"] if s["step"] in ("arrive", "depart")] == [
        "Hangzhou", "Shanghai", "Shanghai", "Beijing"]
    waybill = client.get(DRUG_WAYBILL.lower(), headers=JSON).get_json()
    assert waybill["key"] == "waybill/SX100200301CN" and waybill["state"] == "in_transit"
    assert waybill["carrier"]["name"].endswith("SwiftExpress")


def test_a_drug_code_resolves_to_its_pack(client, demo):
    code = demo["trace_keys"]["drug pack, resold"][5:]
    body = client.get(f"/drug/{code}", headers=JSON).get_json()
    assert body["key"] == f"drug/{code}" and body["counts"] == {"sales": 2, "returns": 1}


def test_a_gtin_alone_is_a_product_page_with_product_facts_only(client, demo):
    body = client.get("/01/06909876543212", headers=JSON).get_json()
    assert body["kind"] == "product"
    assert set(body) - {"signals", "language", "links", "identifiers"} == {
        "kind", "key", "product", "maker"}


def test_a_serials_page_never_shows_another_serials_data(client, demo):
    others = ["SN0002", "SN0003", "069012340000000016", "SX100200"] + [
        key.split("/")[-1] for key in demo["trace_keys"].values()]
    for path in (SN1, SN1 + "?format=json"):
        text = get(client, path).get_data(as_text=True)
        for other in others:
            if other in ("06909876543212",):
                continue
            assert other not in text, (path, other)
    # The parcel SN0001 travelled in is shown only as steps (time, place, business).
    body = client.get(SN1, headers=JSON).get_json()
    assert all(set(step) <= {"step", "at", "city", "point", "by", "via_parcel", "method"}
               for step in body["journey"])


def test_a_lot_page_shows_lot_level_facts_only(client, demo):
    body = client.get(MILK_LOT, headers=JSON).get_json()
    assert body["kind"] == "lot"
    assert [s["step"] for s in body["journey"]] == ["commissioning", "listing"]
    assert body["sellers"][0]["merchant"]["name"].endswith("Hangzhou Fresh Foods")
    assert body["sellers"][0]["sales"] == 1
    text = get(client, MILK_LOT).get_data(as_text=True) + str(body)
    for parcel_fact in ("069012340000000016", "Beijing", "Shanghai hub", "receipt",
                        "HF-2026-000123"):
        assert parcel_fact not in text, parcel_fact


def test_units_are_never_counted_on_lot_product_or_parcel_pages(app, client, demo):
    from sqlalchemy import func, select

    from trace_service.public.models import ConsumerCheck

    for path in (MILK_LOT, MILK_PARCEL, "/01/06909876543212", DRUG_WAYBILL):
        assert get(client, path).status_code == 200
    with app.extensions["trace_db"].read_session() as db:
        assert db.scalar(select(func.count()).select_from(ConsumerCheck)) == 2  # demo SN0003


def test_only_get_is_served_and_a_wrong_method_is_a_405_page_or_envelope(client, demo):
    page = client.post(SN1, headers=BROWSER)
    assert page.status_code == 405 and page.mimetype == "text/html"
    envelope = client.post(SN1, headers=JSON)
    assert envelope.status_code == 405
    assert envelope.get_json()["error"]["code"] == "method_not_allowed"


def test_the_api_keeps_its_json_envelope_even_for_a_browser(client, demo):
    response = client.get("/api/v1/nope", headers=BROWSER)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "not_found"
    unauthorised = client.get("/api/v1/orders", headers=BROWSER)
    assert unauthorised.status_code == 401 and unauthorised.mimetype == "application/json"


def test_pages_work_without_javascript_and_load_nothing_from_elsewhere(client, demo):
    import re

    for path in (SN1, SN3, MILK_LOT, MILK_PARCEL, "/01/06909876543213"):
        response = get(client, path)
        text = response.get_data(as_text=True)
        urls = re.findall(r'(?:src|href|action)="([^"]+)"', text)
        assert urls and all(u.startswith(("/", "?", "#")) for u in urls), urls
        assert "<script" not in text or 'src="/static/public/place.js"' in text
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "<form" in text or path != SN1  # the place form is a plain form
    css = client.get("/static/public/public.css")
    assert css.status_code == 200 and b"@import" not in css.data and b"url(" not in css.data
    css.close()


def test_the_healthz_route_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"


def test_demo_consumer_pages_all_resolve(client, demo):
    for label, path in demo["consumer_pages"].items():
        assert get(client, path).status_code == 200, label
    assert SN2 in demo["consumer_pages"].values() and SN3 in demo["consumer_pages"].values()
