"""Console sessions are kept by the server: signing out (or expiry) ends them for good, and a
copy of the cookie is refused afterwards. Through real HTTP, on both databases."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import requests
from sqlalchemy import select, text, update

from tests.inspect.conftest import csrf_of
from tests.live import serving
from trace_service.inspect.models import ConsoleSession
from trace_service.recalls.models import Recall


@pytest.fixture
def live(app, world):
    with serving(app) as url:
        yield url


def sign_in(base: str, key: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(base + "/inspect/sign-in")
    response = browser.post(base + "/inspect/sign-in", allow_redirects=False, data={
        "csrf_token": csrf_of(form.text), "api_key": key})
    assert response.status_code == 302, response.text[:300]
    return browser


def home(base: str, cookie: str):
    return requests.get(base + "/inspect/", cookies={"session": cookie}, allow_redirects=False)


def sessions(app) -> list[ConsoleSession]:
    with app.extensions["trace_db"].read_session() as db:
        return db.scalars(select(ConsoleSession).order_by(ConsoleSession.created_at)).all()


def sign_out(base: str, browser: requests.Session):
    page = browser.get(base + "/inspect/")
    return browser.post(base + "/inspect/sign-out", allow_redirects=False,
                        data={"csrf_token": csrf_of(page.text)})


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, world, live):
    browser = sign_in(live, world.inspector.key)
    copied = browser.cookies["session"]
    page = home(live, copied)
    assert page.status_code == 200
    token = csrf_of(page.text)
    assert sign_out(live, browser).status_code == 302
    replayed = home(live, copied)
    assert replayed.status_code == 302 and "/inspect/sign-in" in replayed.headers["Location"]
    # Nor does the copy act: a form posted with it and its CSRF token changes nothing.
    forged = requests.post(live + "/inspect/recalls", cookies={"session": copied},
                           allow_redirects=False, data={
                               "csrf_token": token, "lots": "x", "reason": "r",
                               "severity": "II", "authority": "a"})
    assert forged.status_code == 302 and "/inspect/sign-in" in forged.headers["Location"]
    with app.extensions["trace_db"].read_session() as db:
        assert db.scalars(select(Recall)).all() == []
    (row,) = sessions(app)
    assert row.revoked_at is not None


def test_a_session_expires_on_the_server_whatever_the_cookie_says(app, world, live):
    browser = sign_in(live, world.inspector.key)
    assert home(live, browser.cookies["session"]).status_code == 200
    (row,) = sessions(app)
    assert dt.timedelta(hours=7, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(
        hours=8)
    with app.extensions["trace_db"].write_session() as db:
        db.execute(update(ConsoleSession).values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        db.commit()
    assert home(live, browser.cookies["session"]).status_code == 302


def test_the_cookie_holds_a_random_token_that_is_stored_only_as_its_hash(app, world, live):
    browser = sign_in(live, world.inspector.key)
    payload = app.session_interface.get_signing_serializer(app).loads(
        browser.cookies["session"])
    assert set(payload) == {"sid", "csrf"} and len(payload["sid"]) >= 43
    assert world.inspector.key not in str(payload)
    (row,) = sessions(app)
    assert row.id == hashlib.sha256(payload["sid"].encode()).hexdigest()
    with app.extensions["trace_db"].engine.connect() as conn:
        dump = " ".join(map(str, conn.execute(text("SELECT * FROM console_sessions"))))
    assert payload["sid"] not in dump


def test_signing_out_ends_only_that_session_and_a_new_sign_in_replaces_the_old_one(
        app, world, live):
    laptop = sign_in(live, world.inspector.key)
    desk = sign_in(live, world.inspector.key)
    assert sign_out(live, laptop).status_code == 302
    assert home(live, desk.cookies["session"]).status_code == 200
    before = desk.cookies["session"]
    form = desk.get(live + "/inspect/sign-in")
    again = desk.post(live + "/inspect/sign-in", allow_redirects=False, data={
        "csrf_token": csrf_of(form.text), "api_key": world.inspector.key})
    assert again.status_code == 302
    assert home(live, before).status_code == 302  # the replaced session ended
    assert home(live, desk.cookies["session"]).status_code == 200
    ended = [row for row in sessions(app) if row.revoked_at is not None]
    assert len(sessions(app)) == 3 and len(ended) == 2


def test_revoking_the_key_refuses_its_open_sessions_over_http(app, world, live):
    browser = sign_in(live, world.inspector.key)
    world.admin.ok("POST", f"/api/v1/keys/{world.inspector.key[:12]}/revoke", status=200)
    assert home(live, browser.cookies["session"]).status_code == 302
