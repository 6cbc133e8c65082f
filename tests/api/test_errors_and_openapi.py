"""The error envelope for routing errors and crashes, the OpenAPI document and the docs page."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from tests.helpers import error_of
from trace_service import db as dbmod
from trace_service.http import PUBLIC, require
from trace_service.people.models import Person

SECRET = "hunter2-at-/srv/trace/secret.conf"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

_SAMPLES = {"int": "999999", "float": "1.5", "uuid": "00000000-0000-4000-8000-000000000000"}


def concrete_path(rule) -> str:
    """The rule's path with each variable filled by a value its converter accepts."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: _SAMPLES.get(m.group(1) or "", "nope"), rule.rule)


def api_rules(app):
    """Every /api/v1 rule except the docs, the OpenAPI document and static files."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/")
            and not rule.endpoint.startswith(("api-docs.", "swagger_static", "static"))]


def openapi_path(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json"
    error = error_of(response)
    assert (error["status"], error["code"]) == (status, code), error
    assert isinstance(error["message"], str) and error["message"]
    return error


# --- routing errors ----------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/v1/nope"),
    ("GET", "/api/v1/orders/x/y/z"),
    ("POST", "/api/v1/nothing-here"),
    ("GET", "/api/v2/orders"),
    ("GET", "/nope"),
])
def test_an_unknown_path_is_a_404_in_the_envelope(client, method, path):
    response = client.open(path, method=method, json={} if method == "POST" else None)
    assert_envelope(response, 404, "not_found")


def test_a_wrong_method_is_a_405_with_an_allow_header_in_the_envelope(app, client):
    methods_by_path: dict[str, set[str]] = {}
    concrete: dict[str, str] = {}
    for rule in api_rules(app):
        methods_by_path.setdefault(rule.rule, set()).update(rule.methods)
        concrete[rule.rule] = concrete_path(rule)
    assert len(methods_by_path) >= 20
    for rule, methods in methods_by_path.items():
        for wrong in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            response = client.open(concrete[rule], method=wrong)
            assert_envelope(response, 405, "method_not_allowed")
            allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
            assert (methods - {"HEAD", "OPTIONS"}) <= allowed, (rule, wrong, allowed)
            assert wrong not in allowed


# --- unexpected errors -------------------------------------------------------------------


@pytest.fixture
def crashing_app(app):
    """The test app with two extra routes that crash, one of them after writing a row."""
    crash = Blueprint("crash_test", __name__, url_prefix="/api/v1")

    @crash.route("/crash", methods=["GET"])
    @require(PUBLIC)
    def crash_plain():
        raise RuntimeError(f"database password is {SECRET}")

    @crash.route("/crash-after-write", methods=["POST"])
    @require(PUBLIC)
    def crash_after_write():
        sess = dbmod.session()
        sess.add(Person(id=dbmod.new_id("psn"), name="Written then crashed"))
        sess.flush()
        raise KeyError(SECRET)

    app.register_blueprint(crash)
    return app


def _persons(app) -> int:
    sess = app.extensions["trace_db"].read_session()
    try:
        return sess.scalar(select(func.count()).select_from(Person))
    finally:
        sess.close()


def test_an_unexpected_exception_is_a_500_internal_error_that_leaks_nothing(crashing_app,
                                                                           caplog):
    client = crashing_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/crash")
    error = assert_envelope(response, 500, "internal_error")
    assert set(error) == {"status", "code", "message"}
    text = response.get_data(as_text=True)
    for leak in (SECRET, "RuntimeError", "Traceback", "database password", "crash_plain"):
        assert leak not in text
    # ...but the operator has it in the log.
    assert any(SECRET in (record.exc_text or "") or (record.exc_info and SECRET in str(
        record.exc_info[1])) for record in caplog.records)


def test_a_crash_after_a_write_rolls_the_write_back(crashing_app):
    client = crashing_app.test_client()
    before = _persons(crashing_app)
    response = client.post("/api/v1/crash-after-write", json={})
    assert_envelope(response, 500, "internal_error")
    assert SECRET not in response.get_data(as_text=True)
    assert _persons(crashing_app) == before


# --- the OpenAPI document ----------------------------------------------------------------


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _resolve(spec: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _walk_refs(node, found: list):
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(node["$ref"])
        for value in node.values():
            _walk_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_refs(value, found)


def _deref(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = _resolve(spec, node["$ref"])
    return node


def test_the_openapi_document_is_well_formed_openapi_3(spec):
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]
    refs: list[str] = []
    _walk_refs(spec, refs)
    assert refs
    for ref in set(refs):
        _resolve(spec, ref)
    schemes = spec["components"]["securitySchemes"]
    for requirement in spec.get("security", []):
        assert set(requirement) <= set(schemes)
    for path, item in spec["paths"].items():
        assert path.startswith("/api/v1/"), path
        declared = set(re.findall(r"{([^}]+)}", path))
        operations = {m: op for m, op in item.items() if m in HTTP_METHODS}
        assert operations, path
        for method, operation in operations.items():
            params = [_deref(spec, p) for p in item.get("parameters", []) +
                      operation.get("parameters", [])]
            for param in params:
                assert param["in"] in ("query", "path", "header", "cookie"), param
                assert "schema" in param or "content" in param, param
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == declared, (path, method, in_path)
            assert all(p.get("required") for p in params if p["in"] == "path")
            responses = operation["responses"]
            assert responses, (path, method)
            success = [code for code in responses if str(code).startswith("2")]
            assert success, (path, method, list(responses))
            for code, response in responses.items():
                response = _deref(spec, response)
                assert response.get("description"), (path, method, code)
            assert operation.get("summary") or operation.get("description"), (path, method)


def test_every_api_route_is_in_the_openapi_document(app, spec):
    rules = api_rules(app)
    assert len(rules) >= 30
    for rule in rules:
        path = openapi_path(rule)
        assert path in spec["paths"], f"{rule.rule} is missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (rule.rule, method)


def test_every_route_that_takes_a_body_documents_its_json_schema(app, spec):
    checked = 0
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        arguments = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        takes_body = any(arg.get("in") == "json" for arg in arguments)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][openapi_path(rule)][method.lower()]
            if not takes_body:
                assert "requestBody" not in operation, (rule.rule, method)
                continue
            body = _deref(spec, operation["requestBody"])
            schema = _deref(spec, body["content"]["application/json"]["schema"])
            assert schema.get("properties"), (rule.rule, method, schema)
            assert body.get("required") is True, (rule.rule, method)
            checked += 1
    assert checked >= 15


def test_the_documented_error_schema_is_the_envelope_the_api_serves(client, spec):
    served = client.get("/api/v1/nope").get_json()
    documented = _deref(spec, spec["components"]["responses"]["DEFAULT_ERROR"])
    schema = _deref(spec, documented["content"]["application/json"]["schema"])
    assert set(schema.get("properties", {})) == set(served), schema
    inner = _deref(spec, schema["properties"]["error"])
    assert {"status", "code", "message", "details"} <= set(inner["properties"])
    assert inner["properties"]["status"]["type"] == "integer"
    assert inner["properties"]["code"]["type"] == "string"


# --- the docs page -----------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def test_the_docs_page_is_html_that_loads_only_local_assets_which_are_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"']+", html)
    parser = _Assets()
    parser.feed(html)
    spec_urls = re.findall(r"""url:\s*["']([^"']+)["']""", html)
    urls = parser.urls + spec_urls
    assert len(parser.urls) >= 3 and spec_urls == ["/api/v1/openapi.json"], urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, (url, asset.status_code)
            assert asset.data, url


def test_the_docs_assets_route_serves_nothing_outside_the_bundle(client):
    for path in ("/api/v1/docs/static/../../../../etc/passwd",
                 "/api/v1/docs/static/%2e%2e/%2e%2e/etc/passwd",
                 "/api/v1/docs/static/no-such-file.js"):
        with client.get(path) as response:
            assert response.status_code == 404, (path, response.status_code)
            assert b"root:" not in response.data


def test_the_docs_page_does_not_send_the_spec_to_swaggers_online_validator(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert re.search(r'"validatorUrl":\s*(null|"none")', html), html
