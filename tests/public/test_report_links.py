"""The report-received page links only to this site and shows only references that exist.
Through real HTTP (raw request targets, as a crafted link would send them)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.live import serving
from tests.public.conftest import SN1
from trace_service.public.links import local_path

BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile",
           "Accept": "text/html", "Accept-Language": "en"}
UNIT1 = "01/06909876543212/21/SN0001"

#: Off-site links as they appear in the raw query string of a crafted URL.
BYPASSES = [
    "//evil.example", "/%2F/evil.example", "%2F%2Fevil.example", "/\\evil.example",
    "/%5Cevil.example", "/%5C/evil.example", "%5C%5Cevil.example", "/%255Cevil.example",
    "/%25252F%25252Fevil.example", "https://evil.example/", "https:%2F%2Fevil.example",
    "HTTPS://evil.example", "javascript:alert(1)", "JaVaScRiPt%3Aalert(1)",
    "/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "%09//evil.example",
    "%20//evil.example", "/%E3%80%80/evil.example", "/%E2%80%8B/evil.example",
    "data:text/html,hi", "evil.example", "",
]


@pytest.fixture
def live(app, demo):
    with serving(app) as base:
        yield base


@pytest.fixture
def received(live):
    """The redirect a real report ends on: its reference and the page it came from."""
    browser = requests.Session()
    form = browser.get(f"{live}/report?key={UNIT1}", headers=BROWSER, timeout=10).text
    hidden = dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', form))
    response = browser.post(live + "/report", headers=dict(BROWSER, Origin=live),
                            allow_redirects=False, timeout=10, data=dict(
                                hidden, category="counterfeit",
                                text="The seal was broken and the pills look different."))
    assert response.status_code == 303, response.text[:300]
    location = response.headers["Location"]
    ref = re.search(r"ref=(rpt_[0-9a-f]+)", location).group(1)
    return ref, location


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def same_site(href: str) -> bool:
    href = href.replace("&amp;", "&")
    return href.startswith("/") and href[1:2] not in ("/", "\\") and not urlsplit(href).netloc


def test_the_redirect_after_a_report_shows_its_reference_and_links_back(live, received):
    ref, location = received
    page = requests.get(live + location if location.startswith("/") else location,
                        headers=BROWSER, timeout=10)
    assert page.status_code == 200 and ref in page.text
    assert f'href="{SN1}"' in page.text  # the unit's Digital Link, with its lot


def test_an_off_site_page_link_is_replaced_by_the_reports_own_page(live, received):
    ref, _location = received
    for bad in BYPASSES:
        response = requests.get(f"{live}/report/received?ref={ref}&page={bad}",
                                headers=BROWSER, timeout=10)
        assert response.status_code == 200, bad
        links = hrefs(response.text)
        assert all(same_site(href) for href in links), (bad, links)
        back = re.search(r'<a href="([^"]*)">[^<]*</a></p>\s*</section>', response.text)
        assert back.group(1) == SN1, bad


def test_a_same_site_page_link_is_kept(live, received):
    ref, _location = received
    target = "/01/06909876543212/10/B2611007/21/SN0001?lang=en"
    response = requests.get(f"{live}/report/received", params={"ref": ref, "page": target},
                            headers=BROWSER, timeout=10)
    assert f'href="{target.replace("&", "&amp;")}"' in response.text


@pytest.mark.parametrize("ref", ["", "rpt_" + "5f" * 16, "rpt_x", "garbage",
                                 "rpt_" + "0" * 60, "<script>alert(1)</script>"])
def test_an_unknown_report_reference_is_a_404(live, ref):
    response = requests.get(f"{live}/report/received", params={"ref": ref, "page": "/"},
                            headers=BROWSER, timeout=10)
    assert response.status_code == 404
    assert "<script>alert" not in response.text
    as_json = requests.get(f"{live}/report/received", params={"ref": ref},
                           headers={"Accept": "application/json"}, timeout=10)
    assert as_json.status_code == 404
    assert as_json.json()["error"]["code"] == "unknown_report"


def test_local_path_accepts_paths_of_this_site_only():
    for good in ("/", SN1, "/01/06909876543212/10/A%2FB/21/S1?17=271231", "/report?key=x"):
        assert local_path(good) == good
    for bad in ("//evil.example", "/\\evil.example", "/\\\\evil", "\\/evil.example",
                "/%5Cevil.example", "/%2F/evil", "/%252F%252Fevil", "https://evil.example",
                "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", " /x",
                "/x\x00", "/\u3000/evil", "/\u200b/evil", "/%252525252F%252525252Fevil", "x" * 10,
                "/" + "a" * 2001, None, ""):
        assert local_path(bad) is None, bad
