"""Fixtures of the consumer-side tests: the demo scenario, and a browser-like client."""

from __future__ import annotations

import pytest

from trace_service.demo import seed

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
JSON = {"Accept": "application/json", "User-Agent": "TraceShopperApp/1.0"}
SN1 = "/01/06909876543212/10/B2611007/21/SN0001"
SN2 = "/01/06909876543212/10/B2611007/21/SN0002"
SN3 = "/01/06909876543212/10/B2611007/21/SN0003"
MILK_LOT = "/01/06901234567892/10/L20261101A"
MILK_PARCEL = "/00/069012340000000016"
DRUG_WAYBILL = "/waybill/SX100200301CN"


@pytest.fixture
def demo(app):
    """The demo scenario (trace_service.demo), seeded through the services."""
    with app.app_context():
        return seed(app)


def browser(agent: str = "phone-1", lang: str = "en", address: str = "198.51.100.1") -> dict:
    """Headers and environ of one phone: each agent string is another visitor."""
    return {"headers": dict(BROWSER, **{"User-Agent": BROWSER["User-Agent"] + " " + agent,
                                        "Accept-Language": lang}),
            "environ_base": {"REMOTE_ADDR": address}}


def get(client, path, **kw):
    return client.get(path, **browser(**kw))


@pytest.fixture
def unlimited(app):
    """Page views without the rate limit (tests that crawl many pages)."""
    app.extensions["trace_public"].pages.rate = 0
    return app
