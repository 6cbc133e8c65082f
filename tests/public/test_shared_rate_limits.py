"""The public rate limits are one limit per client across worker processes and servers:
counted in the database, or in Redis with TRACE_REDIS_URL. Through real HTTP."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import select, text

from tests.cli.test_cli import free_port
from tests.live import serving
from trace_service import create_app
from trace_service.public.models import RateLimitCounter

REDIS_URL = os.environ.get("TRACE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIN = Path(sys.executable).parent / "trace-service"
#: A GTIN with a wrong check digit: a 404 page, counted like any page view.
PAGE = "/01/06909876543213"
JSON = {"Accept": "application/json"}


def fresh_window(seconds: int = 60, margin: float = 8.0) -> None:
    """Wait for a new window if the current one ends within ``margin`` seconds, so that a
    test's requests all fall in one window."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"!!! Redis unreachable at {REDIS_URL}: {exc}")
    prefix = f"trace-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def make_app(database_url, instance, **config):
    return create_app({"ENV": "testing", "DATABASE_URL": database_url,
                       "SECRET_KEY": "shared-test-secret", "PUBLIC_PAGES_PER_MINUTE": 3,
                       **config}, instance_path=str(instance))


@pytest.fixture
def two_apps(database_url, tmp_path, request):
    """Two app instances (as two servers would hold) on one database, served over HTTP."""
    config = getattr(request, "param", {})
    if config.get("REDIS_PREFIX") == "fixture":
        config = dict(config, REDIS_PREFIX=request.getfixturevalue("redis_prefix"))
    apps = [make_app(database_url, tmp_path / f"server-{n}", **config) for n in (1, 2)]
    with serving(apps[0]) as one, serving(apps[1]) as two:
        yield apps, one, two
    for app in apps:
        app.extensions["trace_db"].dispose()


def statuses(order, urls):
    return [requests.get(urls[which] + PAGE, headers=JSON, timeout=10).status_code
            for which in order]


def test_two_servers_on_one_database_count_one_limit_per_client(two_apps):
    _apps, one, two = two_apps
    fresh_window()
    assert statuses([0, 1, 0, 1, 0], [one, two]) == [404, 404, 404, 429, 429]
    refused = requests.get(two + PAGE, headers=JSON, timeout=10)
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("two_apps", [{"REDIS_URL": REDIS_URL, "REDIS_PREFIX": "fixture"}],
                         indirect=True)
def test_with_redis_two_servers_count_one_limit_and_the_database_holds_no_counter(
        two_apps, redis_prefix):
    apps, one, two = two_apps
    fresh_window()
    assert statuses([1, 0, 1, 0], [one, two]) == [404, 404, 404, 429]
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=redis_prefix + "*"))
    assert len(keys) == 1 and keys[0].decode().startswith(redis_prefix + "ratelimit:pages:")
    assert int(client.get(keys[0])) == 4 and 0 < client.ttl(keys[0]) <= 60
    assert b"127.0.0.1" not in keys[0]
    with apps[0].extensions["trace_db"].read_session() as db:
        assert db.scalars(select(RateLimitCounter)).all() == []


def test_the_counters_hold_no_address_and_past_windows_are_deleted(app):
    limit = app.extensions["trace_public"].pages
    for now in (6000.0, 6001.0, 6002.5):
        limit.take("198.51.100.9", now=now)
    limit.take("198.51.100.10", now=6003.0)
    with app.extensions["trace_db"].engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM rate_limit_counters")).all()
    assert sorted(row.hits for row in rows) == [1, 3]
    assert "198.51.100" not in " ".join(map(str, rows))
    limit.take("198.51.100.9", now=6061.0)  # the next minute: the old rows go
    with app.extensions["trace_db"].read_session() as db:
        left = db.scalars(select(RateLimitCounter)).all()
    assert [(row.window_start, row.hits) for row in left] == [(6060, 1)]


def test_an_unreachable_redis_lets_pages_through_with_a_warning(database_url, tmp_path, caplog):
    app = make_app(database_url, tmp_path / "i", REDIS_URL="redis://127.0.0.1:1/0")
    try:
        with caplog.at_level(logging.WARNING, "trace_service.public.ratelimit"):
            response = app.test_client().get(PAGE, headers=JSON)
        assert response.status_code == 404
        assert "cannot be reached" in caplog.text
    finally:
        app.extensions["trace_db"].dispose()


def _serve(tmp_path, database_url, name, **env):
    port = free_port()
    environ = dict(os.environ, TRACE_ENV="testing", TRACE_DATABASE_URL=database_url,
                   TRACE_INSTANCE_PATH=str(tmp_path / name), TRACE_SECRET_KEY="shared-secret",
                   TRACE_PUBLIC_PAGES_PER_MINUTE="3", **env)
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "2"],
                            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(url + "/healthz", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise AssertionError(f"{name} did not start")


@pytest.mark.slow
@pytest.mark.parametrize("store", ["database", "redis"])
def test_two_gunicorn_servers_with_two_workers_each_share_one_limit(
        database_url, tmp_path, request, store):
    env = {}
    if store == "redis":
        env = {"TRACE_REDIS_URL": REDIS_URL,
               "TRACE_REDIS_PREFIX": request.getfixturevalue("redis_prefix")}
    servers = [_serve(tmp_path, database_url, f"server-{n}", **env) for n in (1, 2)]
    try:
        fresh_window()
        urls = [url for _proc, url in servers]
        # New connections each time, so both workers of each server take requests.
        got = statuses([0, 1, 0, 1, 0, 1], urls)
        assert got == [404, 404, 404, 429, 429, 429]
    finally:
        for proc, _url in servers:
            proc.terminate()
            proc.wait(timeout=20)
