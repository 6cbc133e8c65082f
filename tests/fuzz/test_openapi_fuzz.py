"""Fuzzing the API from its OpenAPI document, per role key, bounded in time.

schemathesis generates requests from ``GET /api/v1/openapi.json`` for every operation:
valid ones (positive), ones that break the schema (negative), and valid ones whose path
names something that exists (an order, a parcel, a recall... of a small world built
through the API). Each is sent with one role's key, in process, and its response checked:
never a 5xx, and status, content type and body as the document says.

``make fuzz`` runs it; settings (environment):

* ``TRACE_FUZZ_SECONDS`` (default 240): the whole run's time, shared evenly by
  database and role, then by operation;
* ``TRACE_FUZZ_EXAMPLES`` (default 60): at most this many cases an operation and role;
* ``TRACE_FUZZ_SEED``: replay a run (the seed is printed).

A failing run lists each distinct failure once, with a curl command that reproduces it.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.conftest import drop_pg_database, make_pg_database
from tests.helpers import Caller, sscc
from tests.world import MILK, build_world, drug_code
from trace_service import create_app, migrate
from trace_service.auth.permissions import GRANTS
from trace_service.http import PUBLIC

pytestmark = pytest.mark.fuzz

ROLES = ("admin", "merchant", "carrier", "device", "inspector", "anonymous")
DATABASES = ("sqlite", "postgresql")
SECONDS = float(os.environ.get("TRACE_FUZZ_SECONDS", "240"))
EXAMPLES = int(os.environ.get("TRACE_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("TRACE_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
TOTALS: Counter = Counter()


def _quietly(step, *args, **kwargs):
    """One step of building the world; a step the rules refuse leaves its id unknown."""
    try:
        return step(*args, **kwargs)
    except AssertionError:
        return None


def known_ids(app, world) -> dict[str, str]:
    """Path parameter values that name things that exist, for the third kind of case."""
    ids = {"party_id": world.ids["foods"], "gtin": MILK, "listing_id": world.ids["milk_listing"],
           "symbology": "qr", "size": "1"}
    merchant = world.merchant
    order = _quietly(merchant.ok, "POST", "/api/v1/orders", {
        "order_no": "FUZZ-1", "buyer": {"external_ref": "fuzz-buyer", "name": "Fuzz"},
        "payment": {"channel": "alipay", "reference": "fuzz-pay"},
        "lines": [{"listing_id": world.ids["milk_listing"], "key": f"01/0{MILK}/10/L1",
                   "quantity": 1}]})
    if order:
        ids["order_id"] = order["id"]
        parcel = _quietly(merchant.ok, "POST", "/api/v1/parcels", {
            "order_id": order["id"], "parcel": sscc(77), "carrier_id": world.ids["carrier"]})
        if parcel:
            ids["parcel_id"] = parcel["id"]
            _quietly(merchant.ok, "POST", "/api/v1/dispatches", {"parcel": sscc(77)}, status=200)
        complaint = _quietly(merchant.ok, "POST", "/api/v1/complaints", {
            "order_id": order["id"], "category": "quality", "text": "sour"})
        if complaint:
            ids["complaint_id"] = complaint["id"]
    recall = _quietly(world.inspector.ok, "POST", "/api/v1/inspect/recalls", {
        "lots": [f"01/0{MILK}/10/L1"], "reason": "fuzz", "severity": "III",
        "authority": "SAMR"})
    if recall:
        ids["recall_id"] = recall["id"]
    check = _quietly(world.inspector.ok, "POST", "/api/v1/inspect/spot-checks",
                     {"population": "lots", "n": 1, "seed": 1})
    if check:
        ids["check_id"] = check["id"]
        if check.get("tasks"):
            ids["task_id"] = check["tasks"][0]["id"]
    keys = _quietly(world.admin.ok, "GET", "/api/v1/keys")
    if keys and keys.get("items"):
        ids["prefix"] = keys["items"][-1].get("prefix", "")
    ids["key"] = f"drug/{drug_code(1)}"
    ids["lot"] = "L1"
    ids["parcel"] = sscc(77)
    ids["carrier_id"] = world.ids["carrier"]
    ids["point_id"] = world.ids["points"][0]
    return ids


@pytest.fixture(scope="module", params=DATABASES)
def fuzzed(request, tmp_path_factory):
    """A world on a fresh database, its app's OpenAPI schema, and a key per role."""
    base = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{base / 'trace.sqlite3'}"
    else:
        admin = request.getfixturevalue("pg_admin_url")
        name = f"trace_fuzz_{uuid.uuid4().hex[:8]}"
        url = make_pg_database(admin, name)
        request.addfinalizer(lambda: drop_pg_database(admin, name))
    migrate.upgrade(url)
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "fuzz-secret"},
                     instance_path=str(base / "instance"))
    client = app.test_client()
    world = build_world(app, client)
    keys = {"admin": world.admin.key, "merchant": world.merchant.key,
            "carrier": world.carrier.key, "device": world.device.key,
            "inspector": world.inspector.key, "anonymous": None}
    ids = known_ids(app, world)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    yield app, schema, keys, ids, request.param
    app.extensions["trace_db"].dispose()


def permissions(app) -> dict[tuple[str, str], str]:
    """(METHOD, OpenAPI path) -> the permission its route declares."""
    import re

    out = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        permission = getattr(app.view_functions[rule.endpoint], "__trace_permission__", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out[(method, path)] = permission
    return out


def may_call(role: str, permission: str | None) -> bool:
    if permission == PUBLIC:
        return True
    return role != "anonymous" and permission in GRANTS[role]


def _strategy(operation, ids: dict[str, str]):
    modes = [operation.as_strategy(GenerationMode.POSITIVE),
             operation.as_strategy(GenerationMode.NEGATIVE)]
    names = [p.name for p in operation.path_parameters]
    if names and all(n in ids for n in names):
        modes.append(operation.as_strategy(
            GenerationMode.POSITIVE, path_parameters={n: ids[n] for n in names}))
    return st.one_of(modes)


#: Values that once reached the database from a client: each case may get one in place of
#: one of its values (a string, number or boolean anywhere in its body or query).
NASTY = ("\u0000", "a\u0000b", "\ud800", "x\udfff", "²", "٣", "３", "1_000", " 7", "0x10",
         "0001-01-01T00:00:00+01:00", "9999-12-31T23:55:00-01:00", "9999-12-31T23:59:59Z",
         "1970-01-01T00:00:00Z", "0001-01-01", "9999-12-31", "1899-12-31", 2**63, -(2**63),
         10**30, 2**53 + 1, 1.5, -1, 0, "true", "1", "", "null", True, None, {}, [],
         "NaN", "Infinity")
SURROGATES = ("\ud800", "x\udfff")
#: Body and query fields that name something: half the cases name something that exists.
ID_FIELDS = {"listing_id": "listing_id", "order_id": "order_id", "party_id": "party_id",
             "merchant_id": "party_id", "maker_id": "party_id", "carrier_id": "carrier_id",
             "point_id": "point_id", "gtin": "gtin", "key": "key", "parcel": "parcel",
             "event_id": "event_id", "recall_id": "recall_id", "lot": "lot"}


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _set(container, path, value):
    for part in path[:-1]:
        container = container[part]
    container[path[-1]] = value


def mutate(case, rng: random.Random, ids: dict) -> None:
    """Name real things in half the cases, and put one nasty value in a third of them."""
    for part in ("body", "query"):
        value = getattr(case, part, None)
        if not isinstance(value, (dict, list)):
            continue
        if rng.random() < 0.5:
            for path in list(_leaves(value)):
                name = next((p for p in reversed(path) if isinstance(p, str)), None)
                if path and name in ID_FIELDS and ID_FIELDS[name] in ids:
                    _set(value, path, ids[ID_FIELDS[name]])
        leaves = [p for p in _leaves(value) if p]
        if leaves and rng.random() < 0.35:
            # A URL cannot carry a lone surrogate (it is not UTF-8): bodies only.
            nasty = NASTY if part == "body" else [v for v in NASTY if v not in SURROGATES]
            _set(value, rng.choice(leaves), rng.choice(nasty))


def fuzz_operation(operation, headers: dict, ids: dict, deadline: float, found: dict) -> int:
    """Send up to EXAMPLES cases of one operation until ``deadline``; the number sent."""
    sent = 0

    @hypothesis.seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, ids))
    def run(case):
        nonlocal sent
        if time.monotonic() > deadline:
            return
        sent += 1
        mutate(case, random.Random(f"{SEED}-{operation.label}-{sent}"), ids)
        response = case.call(headers=headers)
        TOTALS[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (FailureGroup, Failure) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
            for failure in failures:
                key = (operation.label, failure.title, response.status_code)
                found.setdefault(key, (failure.message[:600], case.as_curl_command(headers)))

    run()
    return sent


@pytest.mark.parametrize("role", ROLES)
def test_no_operation_answers_a_5xx_or_breaks_its_documented_schema(fuzzed, role):
    app, schema, keys, ids, database = fuzzed
    allowed = permissions(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    mine = [op for op in operations
            if may_call(role, allowed.get((op.method.upper(), op.path)))]
    others = [op for op in operations if op not in mine]
    headers = {"Authorization": f"Bearer {keys[role]}"} if keys[role] else {}
    started = time.monotonic()
    budget = SECONDS / (len(DATABASES) * len(ROLES))
    found: dict = {}
    sent = 0
    caller = Caller(app.test_client(), keys[role])
    for op in others:  # refused whatever the input: one plain call each
        path = op.path.replace("{", "").replace("}", "")
        response = caller.client.open(path, method=op.method.upper(), headers=headers)
        sent += 1
        if response.status_code >= 500 or response.status_code not in (401, 403, 404, 405):
            found[(op.label, "not refused", response.status_code)] = (
                response.get_data(as_text=True)[:300], path)
    for i, op in enumerate(mine):
        share = (budget - (time.monotonic() - started)) / (len(mine) - i)
        sent += fuzz_operation(op, headers, ids, time.monotonic() + max(share, 0.2), found)
    elapsed = time.monotonic() - started
    TOTALS["cases"] += sent
    print(f"\n[fuzz] {database} {role}: {sent} cases over {len(mine)} operations "
          f"(+{len(others)} refused) in {elapsed:.1f}s, seed {SEED}; {dict(TOTALS)}")
    report = "\n".join(f"{label} [{status}] {title}\n    {message}\n    {curl}"
                       for (label, title, status), (message, curl) in sorted(found.items()))
    if found:
        print(report)
    assert not found, f"{len(found)} distinct failures (seed {SEED}):\n{report}"
