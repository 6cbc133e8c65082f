"""Rate limits of the public routes, and the page language."""

from __future__ import annotations

import pytest

from tests.public.conftest import BROWSER, JSON, SN1, browser, get
from trace_service import create_app
from trace_service.config import ConfigError
from trace_service.public.ratelimit import Limit, retry_after


@pytest.fixture
def strict(database_url, tmp_path):
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "PUBLIC_PAGES_PER_MINUTE": 3}, instance_path=str(tmp_path / "i"))
    yield app
    app.extensions["trace_db"].dispose()


def test_page_views_beyond_the_limit_get_429_with_retry_after(strict):
    client = strict.test_client()
    statuses = [client.get("/01/06909876543213", headers=JSON).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    refused = client.get("/01/06909876543213", headers=JSON)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # the end of the minute
    page = client.get("/01/06909876543213", headers=dict(BROWSER, **{"Accept-Language": "zh"}))
    assert page.status_code == 429 and "请求过于频繁" in page.get_data(as_text=True)


def test_the_limit_is_per_client_address(strict):
    client = strict.test_client()
    for _ in range(4):
        client.get("/healthz")
        client.get("/01/06909876543213", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    other = client.get("/01/06909876543213", environ_base={"REMOTE_ADDR": "198.51.100.10"})
    assert other.status_code == 404


class _Counters:
    """Counters in a dict, to look at the window arithmetic alone."""

    def __init__(self):
        self.hits = {}

    def hit(self, limit, window_start, client, seconds):
        key = (limit, window_start, client)
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key]


def test_a_fixed_window_counts_per_client_and_says_how_long_until_it_ends():
    limit = Limit("pages", 2, 60, _Counters(), b"k" * 32)
    assert limit.take("a", now=600.0) == 0.0 and limit.take("a", now=610.0) == 0.0
    wait = limit.take("a", now=615.0)
    assert wait == pytest.approx(45.0) and retry_after(wait) == 45
    assert limit.take("b", now=615.0) == 0.0  # another client
    assert limit.take("a", now=660.0) == 0.0  # the next minute
    assert Limit("pages", 0, 60, _Counters(), b"k").take("a") == 0.0  # 0: no limit


def test_a_bad_limit_setting_refuses_to_start(database_url, tmp_path):
    with pytest.raises(ConfigError):
        create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "t",
                    "PUBLIC_PAGES_PER_MINUTE": -1}, instance_path=str(tmp_path / "j"))


def test_the_language_follows_accept_language_and_defaults_to_chinese(client, demo):
    assert 'lang="en"' in get(client, SN1, lang="en-GB,en;q=0.8").get_data(as_text=True)
    zh = get(client, SN1, lang="zh-TW,zh;q=0.9").get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "查验本件商品" in zh
    plain = client.get(SN1, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in plain


def test_the_explicit_switch_wins_and_is_remembered(client, demo):
    switched = client.get(SN1 + "?lang=en", **browser(lang="zh-CN"))
    assert 'lang="en"' in switched.get_data(as_text=True)
    assert client.get_cookie("lang").value == "en"
    later = get(client, SN1, lang="zh-CN").get_data(as_text=True)
    assert 'lang="en"' in later and "Check this pack" in later
    assert 'href="/01/06909876543212/10/B2611007/21/SN0001?lang=zh-CN"' in later


def test_json_messages_are_in_the_chosen_language(client, demo):
    body = client.get("/01/06909876543212/10/B2611007/21/SN0003",
                      headers=dict(JSON, **{"Accept-Language": "zh-CN"})).get_json()
    assert body["language"] == "zh-CN"
    assert any("相距过远" in s["message"] for s in body["signals"])
