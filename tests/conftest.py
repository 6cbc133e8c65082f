"""Shared fixtures: every API test runs once on SQLite and once on PostgreSQL.

Schemas are made by the real Alembic migrations, once per test session and database
engine; each test then gets a fresh copy (SQLite: a copied file; PostgreSQL: a database
per worker whose tables are emptied after every test).
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from trace_service import create_app, migrate
from trace_service.models import Base

PG_ADMIN_URL = os.environ.get(
    "TRACE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("TRACE_REQUIRE_POSTGRES") == "1"


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(_psycopg_url(PG_ADMIN_URL))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_admin_url():
    problem = _pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"!!! PostgreSQL unreachable at {PG_ADMIN_URL}; PostgreSQL tests SKIPPED")
    return PG_ADMIN_URL


def make_pg_database(admin_url: str, name: str) -> str:
    engine = create_engine(_psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(_psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_admin_url, worker_id):
    name = f"trace_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    url = make_pg_database(pg_admin_url, name)
    migrate.upgrade(url)
    yield url
    drop_pg_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "trace.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(_psycopg_url(url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # A connection the test left open (a session of a server thread still ending, a
        # background thread's read) would hold TRUNCATE's lock forever: end them first.
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "trace.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_migrated")
    yield url
    _truncate_all(url)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret"},
        instance_path=str(tmp_path / "instance"),
    )
    yield app
    app.extensions["trace_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()
