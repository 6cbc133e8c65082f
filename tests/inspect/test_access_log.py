"""The access log: every inspector request, in the request's transaction; admins read it;
nobody edits it."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from tests.chain.flows import MILK_LOT
from tests.helpers import error_of
from tests.inspect.conftest import count
from trace_service.inspect.models import AccessLog
from trace_service.recalls.models import Recall


def test_every_inspector_request_is_logged_with_who_what_and_when(app, world):
    before = count(app, AccessLog)
    world.inspector.ok("GET", "/api/v1/inspect/trail", key=f"(01)0{MILK_LOT[4:17]}(10)L1")
    world.inspector.ok("GET", "/api/v1/orders")
    world.merchant.ok("GET", "/api/v1/orders")
    assert count(app, AccessLog) == before + 2
    log = world.admin.ok("GET", "/api/v1/access-log", limit=2)["items"]
    orders, trail = log
    assert (trail["path"], trail["subject"], trail["status"]) == (
        "/api/v1/inspect/trail", MILK_LOT, 200)
    assert trail["role"] == "inspector" and trail["channel"] == "api"
    assert trail["key_id"].startswith("key_") and trail["at"] and "key=" in trail["query"]
    assert orders["path"] == "/api/v1/orders" and orders["endpoint"] == "orders.list_orders"
    mine = world.admin.ok("GET", "/api/v1/access-log", key_id=trail["key_id"])["items"]
    assert {e["key_id"] for e in mine} == {trail["key_id"]}


def test_a_refused_request_writes_nothing_and_a_write_commits_with_its_log_row(app, world):
    before = count(app, AccessLog)
    assert world.inspector.get("/api/v1/inspect/trail", key="waybill/NOPE-1").status_code == 404
    bad = world.inspector.post("/api/v1/inspect/recalls", {"lots": ["nope"], "reason": "x",
                                                           "severity": "I", "authority": "y"})
    assert bad.status_code == 422
    assert count(app, AccessLog) == before and count(app, Recall) == 0
    world.inspector.ok("POST", "/api/v1/inspect/recalls", {
        "lots": [MILK_LOT], "reason": "x", "severity": "III", "authority": "y"})
    assert count(app, AccessLog) == before + 1 and count(app, Recall) == 1


def test_only_admins_read_the_log_and_no_route_changes_it(app, client, world):
    world.inspector.ok("GET", "/api/v1/inspect/search", q="L1")
    for caller in (world.inspector, world.merchant, world.carrier, world.device):
        response = caller.get("/api/v1/access-log")
        assert response.status_code == 403 and error_of(response)["code"] == "permission_denied"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.open("/api/v1/access-log", method=method, json={},
                               headers={"Authorization": f"Bearer {world.admin.key}"})
        assert response.status_code == 405, method
    paths = [r.rule for r in app.url_map.iter_rules() if "access" in r.rule]
    assert paths == ["/api/v1/access-log"]


def test_the_database_itself_refuses_to_change_the_log(app, client, sql):
    """No world needed: one inspector key and one logged read."""
    from tests.helpers import Caller
    from trace_service.auth.services import create_key

    with app.extensions["trace_db"].write_session() as db:
        _key, plaintext = create_key(db, role="inspector")
        db.commit()
    Caller(client, plaintext).ok("GET", "/api/v1/inspect/search", q="L1")
    assert count(app, AccessLog) == 1
    for statement in ("UPDATE access_log SET status = 500", "DELETE FROM access_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            sql(statement)
    assert len(sql("SELECT id FROM access_log WHERE status = 200")) == 1


def test_operators_read_the_log_on_the_server_with_the_cli(app, world):
    import json

    from click.testing import CliRunner

    from trace_service.cli import main

    world.inspector.ok("GET", "/api/v1/inspect/search", q="L1")
    result = CliRunner().invoke(main, ["access-log", "--limit", "1"], env={
        "TRACE_ENV": "testing", "TRACE_DATABASE_URL": app.config["DATABASE_URL"],
        "TRACE_INSTANCE_PATH": app.instance_path, "TRACE_SECRET_KEY": "test-secret"})
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.strip().splitlines()[-1])
    assert (row["path"], row["subject"], row["role"]) == ("/api/v1/inspect/search", "L1",
                                                          "inspector")
