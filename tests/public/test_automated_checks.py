"""A script cannot make a genuine pack look copied: checks are counted per device (an address,
not a user agent), automated clients are left out (and the page says so), and one network
counts a few devices at most; real phones in two cities still flag a cloned code. Through
real HTTP, behind one trusted proxy (the client's address from X-Forwarded-For)."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from tests.live import serving
from tests.public.conftest import SN1, SN2
from trace_service import create_app
from trace_service.demo import seed
from trace_service.public import checks
from trace_service.public.models import ConsumerCheck

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile"
NOTE_EN = "Checks from automated clients were not counted."
NOTE_ZH = "来自自动化程序的查验未计入次数。"


@pytest.fixture
def site(database_url, tmp_path):
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url,
                      "SECRET_KEY": "test-secret", "PUBLIC_TRUSTED_PROXIES": 1},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        seed(app)
    with serving(app) as base:
        yield app, base
    app.extensions["trace_db"].dispose()


def look(base, path, address, agent=PHONE, lang="en", accept="application/json", **extra):
    headers = {"User-Agent": agent, "Accept": accept, "X-Forwarded-For": address, **extra}
    if lang is not None:
        headers["Accept-Language"] = lang
    response = requests.get(base + path, headers=headers, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return response.json() if accept == "application/json" else response.text


def codes(body):
    return [s["code"] for s in body["signals"]]


def test_six_user_agents_from_one_address_are_one_device_and_no_warning(site):
    _app, base = site
    agents = [PHONE, ANDROID, "Mozilla/5.0 (Windows NT 10.0) Firefox/121",
              "Mozilla/5.0 (Macintosh) Safari/605", PHONE + " WeChat/8.0", ANDROID + " UC"]
    for agent in agents:
        body = look(base, SN2, "198.51.100.50", agent=agent)
    assert body["checks"]["count"] == 1 and "repeat_checks" not in codes(body)
    page = look(base, SN2, "198.51.100.50", agent="Mozilla/5.0 (X11; Linux) Chrome/120",
                accept="text/html")
    assert 'data-signal="repeat_checks"' not in page and "may be a copy" not in page


@pytest.mark.parametrize("agent, lang", [
    ("curl/8.5.0", "en"), ("python-requests/2.31.0", "en"), ("Go-http-client/1.1", "en"),
    ("", "en"), ("Wget/1.21", "en"), (PHONE, None),  # a "phone" without Accept-Language
])
def test_a_scripted_client_is_not_counted_and_the_page_says_so(site, agent, lang):
    app, base = site
    for n in range(6):
        look(base, SN2, f"203.0.113.{10 + n}", agent=agent, lang=lang)
    shopper = look(base, SN2, "192.0.2.77")
    assert shopper["checks"]["count"] == 1 and shopper["checks"]["this_is_the_first"]
    assert shopper["checks"]["automated_not_counted"] is True
    assert "repeat_checks" not in codes(shopper)
    en = look(base, SN2, "192.0.2.77", accept="text/html")  # the same shopper's page
    assert NOTE_EN in en and 'data-signal="repeat_checks"' not in en
    zh = look(base, SN2, "192.0.2.77", lang="zh-CN", accept="text/html")
    assert NOTE_ZH in zh
    with app.extensions["trace_db"].read_session() as db:
        kept = db.execute(select(ConsumerCheck.counted)).scalars().all()
    assert kept.count(False) == 6  # kept only as "not counted"


def test_a_block_of_addresses_of_one_network_counts_at_most_four_devices(site):
    _app, base = site
    for n in range(10):
        body = look(base, SN2, f"203.0.113.{100 + n}")
    assert body["checks"]["count"] == checks.NETWORK_DEVICES == 4
    assert body["checks"]["automated_not_counted"] is True
    # IPv6: a /64 is one device, and one /48 counts four devices too.
    for n in range(5):
        body = look(base, SN1, f"2001:db8:1:1::{n + 1}")
    assert body["checks"]["count"] == 1
    for n in range(2, 9):
        body = look(base, SN1, f"2001:db8:1:{n:x}::1")
    assert body["checks"]["count"] == 4


def _place(base, address, city):
    page = look(base, SN2, address, accept="text/html")
    token = re.search(r'name="check" value="([^"]+)"', page).group(1)
    response = requests.post(base + "/checks/place", data={"check": token, "city": city},
                             headers={"User-Agent": PHONE, "Accept-Language": "en",
                                      "X-Forwarded-For": address},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 303


def test_real_phones_in_two_cities_still_flag_a_cloned_code(site):
    _app, base = site
    _place(base, "198.51.100.7", "Beijing")
    _place(base, "203.0.113.20", "Shanghai")
    body = look(base, SN2, "192.0.2.30", agent=ANDROID, lang="zh-CN,zh;q=0.9")
    assert body["checks"]["count"] == 3
    assert {"repeat_checks", "two_places"} <= set(codes(body))
    assert body["checks"]["automated_not_counted"] is False
    page = look(base, SN2, "192.0.2.30", accept="text/html")
    assert 'data-signal="two_places"' in page and NOTE_EN not in page


def test_what_counts_as_a_device_a_network_and_an_automated_client():
    assert checks.device_and_network("198.51.100.7") == ("198.51.100.7", "198.51.100.0/24")
    assert checks.device_and_network("::ffff:198.51.100.7") == ("198.51.100.7",
                                                                 "198.51.100.0/24")
    assert checks.device_and_network("2001:db8:a:b:1:2:3:4") == ("2001:db8:a:b::/64",
                                                                 "2001:db8:a::/48")
    assert checks.device_and_network("not an address") == ("not an address",
                                                           "not an address")
    browser = {"User-Agent": PHONE, "Accept-Language": "zh-CN"}
    assert checks.classify("GET", browser) == checks.PERSON
    assert checks.classify("GET", {"User-Agent": "TraceShopperApp/1.0",
                                   "Accept-Language": "en"}) == checks.PERSON
    for agent in ("curl/8.5.0", "python-httpx/0.27", "okhttp/4.12", "HeadlessChrome/120",
                  "Googlebot/2.1", "facebookexternalhit/1.1", "axios/1.6", ""):
        assert checks.classify("GET", dict(browser, **{"User-Agent": agent})) == \
            checks.AUTOMATED, agent
    assert checks.classify("GET", {"User-Agent": PHONE}) == checks.AUTOMATED
    assert checks.classify("HEAD", browser) is None
    assert checks.classify("GET", dict(browser, **{"Sec-Purpose": "prefetch"})) is None
