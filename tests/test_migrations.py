"""The Alembic migrations build exactly the schema the models describe, on both engines,
and can be taken down to nothing and up again."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tests.conftest import drop_pg_database, make_pg_database
from trace_service import migrate
from trace_service.db import make_engine
from trace_service.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """The URL of an empty database of each engine, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    name = f"trace_migrations_{uuid.uuid4().hex[:10]}"
    url = make_pg_database(admin_url, name)
    try:
        yield url
    finally:
        drop_pg_database(admin_url, name)


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def head_revision() -> str:
    return migrate.head()


def test_the_migrated_schema_matches_the_models(fresh_url):
    migrate.upgrade(fresh_url)
    assert migrate.current(fresh_url) == head_revision()
    assert table_names(fresh_url) == {t.name for t in Base.metadata.sorted_tables} | {
        "alembic_version"}
    diff = schema_diff(fresh_url)
    assert diff == [], "models and migrations disagree:\n" + "\n".join(map(repr, diff))


def test_the_migrations_go_down_to_nothing_and_up_again(fresh_url):
    migrate.upgrade(fresh_url)
    command.downgrade(migrate.alembic_config(fresh_url), "base")
    assert migrate.current(fresh_url) is None
    assert table_names(fresh_url) <= {"alembic_version"}
    migrate.upgrade(fresh_url)
    assert migrate.current(fresh_url) == head_revision()
    assert schema_diff(fresh_url) == []


def test_upgrading_an_up_to_date_database_changes_nothing(fresh_url):
    migrate.upgrade(fresh_url)
    migrate.upgrade(fresh_url)
    assert migrate.current(fresh_url) == head_revision()
    assert schema_diff(fresh_url) == []


def test_the_migrations_have_a_single_head():
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_the_comparison_notices_a_schema_that_drifted(fresh_url):
    """Guards the tests above against comparing nothing: a stray column and (on
    PostgreSQL) a changed type are reported."""
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE persons ADD COLUMN stray VARCHAR(5)")
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE persons ALTER COLUMN phone TYPE TEXT")
    finally:
        engine.dispose()
    diff = repr(schema_diff(fresh_url))
    assert "stray" in diff
    if fresh_url.startswith("postgresql"):
        assert "modify_type" in diff and "phone" in diff


def test_the_storage_parameters_of_the_models_are_those_the_migrations_set(fresh_url):
    """Alembic's comparison does not look at storage parameters, so they are compared
    here: on PostgreSQL, tables declared ``postgresql_with`` get exactly those."""
    migrate.upgrade(fresh_url)
    if not fresh_url.startswith("postgresql"):
        pytest.skip("storage parameters are a PostgreSQL setting")
    declared = {t.name: {f"{k}={v}" for k, v in t.dialect_options["postgresql"]["with"].items()}
                for t in Base.metadata.sorted_tables
                if t.dialect_options["postgresql"]["with"]}
    assert {"trace_keys", "parcels", "movements"} <= declared.keys()
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            stored = {name: set(options or ()) for name, options in conn.exec_driver_sql(
                "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND "
                "relnamespace = 'public'::regnamespace")}
    finally:
        engine.dispose()
    assert {name: stored[name] for name in declared} == declared
    assert all(not options for name, options in stored.items() if name not in declared)
