"""Deny by default: the inspector's routes answer only inspectors (the access log: admins)."""

from __future__ import annotations

import re

from tests.helpers import error_of

SAMPLES = {"recall_id": "rcl_x", "check_id": "spc_x", "task_id": "spt_x"}


def inspector_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("inspect", "recalls"):
            continue
        path = re.sub(r"<(\w+)>", lambda m: SAMPLES[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rule.rule


def test_merchants_carriers_and_devices_get_403_on_every_inspector_route(app, client, world):
    routes = list(inspector_routes(app))
    assert len(routes) >= 19
    for role in ("merchant", "carrier", "device", "admin"):
        key = getattr(world, role).key
        for method, path, rule in routes:
            response = client.open(path, method=method, json={} if method == "POST" else None,
                                   headers={"Authorization": f"Bearer {key}"})
            if role == "admin" and rule == "/api/v1/access-log":
                assert response.status_code == 200
                continue
            assert response.status_code == 403, (role, method, path, response.get_json())
            assert error_of(response)["code"] == "permission_denied"
        assert client.get("/api/v1/inspect/search").status_code == 401
