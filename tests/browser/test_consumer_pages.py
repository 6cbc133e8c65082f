"""A shopper's phone opens the demo's consumer pages in headless Chromium (390x844).

What a shopper must see: the product, its maker and licence, the lot and its dates, who
sold it, the journey through the logistics points, the integrity badge, a recall banner on
a recalled lot, the repeat-check warning after several checks, and a working
"report a problem". Screenshots are saved under tests/_artifacts/browser/.
"""

from __future__ import annotations

import sqlite3

import requests

from tests.browser.conftest import PHONE, shot

SN1 = "/01/06909876543212/10/B2611007/21/SN0001"
SN2 = "/01/06909876543212/10/B2611007/21/SN0002"
SN3 = "/01/06909876543212/10/B2611007/21/SN0003"
MILK_LOT = "/01/06901234567892/10/L20261101A"
MILK_PARCEL = "/00/069012340000000016"


def _fits_the_screen(page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"


def test_the_demo_prints_the_consumer_page_urls(phone, server):
    for path in (SN1, MILK_LOT, MILK_PARCEL):
        assert server["base"] + path in server["demo_output"]


def test_a_shopper_sees_product_maker_licence_lot_seller_and_journey_in_chinese(phone, server):
    page = phone("shopper-zh", "zh-CN")
    response = page.goto(server["base"] + SN1)
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "布洛芬缓释胶囊" in page.locator("h1.product-name").inner_text()
    maker = page.locator('[data-part="maker"]').inner_text()
    assert "上海制药有限公司" in maker and "已实名认证" in maker
    seller = page.locator('[data-part="sold_by"]').inner_text()
    assert "康健大药房" in seller and "药品经营许可证" in seller and "沪AA0210001" in seller
    lot = page.locator('[data-part="lot"]').inner_text()
    assert "B2611007" in lot and "生产日期" in lot and "有效期至" in lot
    steps = page.locator("ol.journey li")
    assert steps.count() >= 6
    journey = page.locator('[data-part="journey"]').inner_text()
    for expected in ("售出", "打包", "离开", "到达", "已签收", "Shanghai", "Beijing"):
        assert expected in journey, expected
    assert page.locator('[data-part="integrity"]').get_attribute("data-status") == "verified"
    assert "检查点" in page.locator('[data-part="integrity"]').inner_text()
    assert page.locator("#recall").count() == 0
    _fits_the_screen(page)
    shot(page, "01-unit-SN0001-zh")
    shot(page, "01-unit-SN0001-zh-first-screen", full_page=False)


def test_the_same_page_in_english_by_the_phones_language_and_by_the_switch(phone, server):
    page = phone("shopper-en", "en-US")
    page.goto(server["base"] + SN1)
    assert "Made by" in page.inner_text("body") and "Journey" in page.inner_text("body")
    assert "Drug business licence" in page.locator('[data-part="sold_by"]').inner_text()
    shot(page, "02-unit-SN0001-en")
    page.click("a.lang")  # switch to Chinese explicitly
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.goto(server["base"] + SN1)  # remembered
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_repeat_checks_from_several_phones_raise_the_warning(phone, server):
    first = phone("checker-1", "en-US")
    first.goto(server["base"] + SN2)
    assert "This is the first check of this code." in first.inner_text('[data-part="checks"]')
    # The first shopper says where they are with the plain form (no JavaScript needed).
    first.select_option("#city", "Beijing")
    first.click('#place-form button[type="submit"]')
    assert "your check now counts with its place" in first.inner_text("body")
    for n in (2, 3):
        phone(f"checker-{n}", "en-US").goto(server["base"] + SN2)
    fourth = phone("checker-4", "en-US")
    fourth.goto(server["base"] + SN2)
    warning = fourth.locator('#warnings [data-signal="repeat_checks"]')
    assert warning.is_visible()
    text = warning.inner_text()
    assert "already checked 4 times" in text and "in Beijing" in text
    checks = fourth.inner_text('[data-part="checks"]')
    assert "checked 4 times" in checks
    box = fourth.locator("#warnings").bounding_box()
    assert box["y"] < PHONE["height"], "the warning is above the fold"
    shot(fourth, "03-unit-SN0002-repeat-checks-en", full_page=False)


def test_a_cloned_code_seen_in_two_cities_is_flagged(phone, server):
    page = phone("clone-check", "zh-CN")
    page.goto(server["base"] + SN3)
    warnings = page.locator("#warnings").inner_text()
    assert "Beijing" in warnings and "Shanghai" in warnings and "相距过远" in warnings
    shot(page, "04-unit-SN0003-two-places-zh", full_page=False)


def _recall(server) -> str | None:
    """Recall the milk lot the way an inspector does (the recall API); without the recall
    desk in this build, set the flag the rules read. Returns the recall id, if any."""
    headers = {"Authorization": f"Bearer {server['demo']['keys']['inspector']}"}
    response = requests.post(server["base"] + "/api/v1/inspect/recalls", headers=headers,
                             json={"lots": ["01/06901234567892/10/L20261101A"],
                                   "reason": "Possible contamination with Listeria",
                                   "severity": "I", "authority": "杭州市市场监督管理局",
                                   "reference": "杭市监召〔2026〕12号"}, timeout=10)
    if response.status_code == 201:
        return response.json()["id"]
    assert response.status_code == 404, response.text
    with sqlite3.connect(server["db"]) as db:
        db.execute("UPDATE lots SET recalled_at = strftime('%Y-%m-%d %H:%M:%f', 'now') "
                   "WHERE lot = 'L20261101A'")
    return None


def _unrecall(server, recall_id: str | None) -> None:
    if recall_id:
        headers = {"Authorization": f"Bearer {server['demo']['keys']['inspector']}"}
        requests.post(f"{server['base']}/api/v1/inspect/recalls/{recall_id}/close",
                      headers=headers, json={"note": "test over"}, timeout=10)
    else:
        with sqlite3.connect(server["db"]) as db:
            db.execute("UPDATE lots SET recalled_at = NULL WHERE lot = 'L20261101A'")


def test_a_recalled_lot_shows_a_banner_that_cannot_be_missed(phone, server):
    recall_id = _recall(server)
    try:
        page = phone("recall-check", "zh-CN")
        page.goto(server["base"] + MILK_LOT)
        banner = page.locator("#recall")
        assert banner.is_visible() and banner.get_attribute("role") == "alert"
        text = banner.inner_text()
        assert "已召回" in text and "L20261101A" in text
        if recall_id:
            assert "Listeria" in text and "一级" in text and "杭州市市场监督管理局" in text
        box = banner.bounding_box()
        assert box["y"] < 120 and box["width"] > PHONE["width"] * 0.8
        color = page.evaluate("getComputedStyle(document.getElementById('recall'))"
                              ".backgroundColor")
        assert color == "rgb(176, 0, 32)"
        assert "纯牛奶" in page.inner_text("h1.product-name")
        shot(page, "05-lot-milk-recalled-zh", full_page=False)
        en = phone("recall-check-en", "en-US")
        en.goto(server["base"] + MILK_LOT)
        assert "RECALLED" in en.locator("#recall").inner_text()
        shot(en, "05-lot-milk-recalled-en")
    finally:
        _unrecall(server, recall_id)


def test_the_parcel_label_shows_the_delivery_trail(phone, server):
    page = phone("parcel-check", "en-US")
    page.goto(server["base"] + MILK_PARCEL)
    journey = page.locator("ol.journey li")
    assert journey.count() == 7
    text = page.inner_text('[data-part="journey"]')
    for city in ("Hangzhou", "Shanghai", "Beijing"):
        assert city in text
    assert "Delivered" in text and "SwiftExpress" in page.inner_text('[data-part="carrier"]')
    _fits_the_screen(page)
    shot(page, "06-parcel-sscc-en")


def test_a_wrong_check_digit_gets_a_page_that_names_the_problem(phone, server):
    page = phone("typo", "zh-CN")
    response = page.goto(server["base"] + "/01/06909876543213/21/SN0001")
    assert response.status == 404
    text = page.inner_text("main")
    assert "校验位错误" in text and "06909876543213" in text and "2" in text
    shot(page, "07-error-check-digit-zh", full_page=False)


def test_report_a_problem_from_the_page(phone, server):
    page = phone("reporter", "en-US")
    page.goto(server["base"] + SN1)
    page.click("text=Report a problem")
    assert "SN0001" in page.inner_text("main") and "B2611007" in page.inner_text("main")
    page.select_option("#category", "counterfeit")
    page.fill("#text", "The blister pack looks different from the one I bought before.")
    shot(page, "08-report-form-en")
    page.click('#report-form button[type="submit"]')
    assert "Your report was received." in page.inner_text("main")
    assert "rpt_" in page.inner_text("main")
    shot(page, "09-report-received-en", full_page=False)


def test_pages_work_without_javascript(phone, server):
    page = phone("no-js", "en-US", javascript=False)
    page.goto(server["base"] + SN1)
    assert "Ibuprofen" in page.inner_text("h1")
    assert page.locator("#use-location").is_hidden()  # the JS-only button stays hidden
    page.select_option("#city", "Shanghai")
    page.click('#place-form button[type="submit"]')
    assert "your check now counts with its place" in page.inner_text("body")
