"""Fixtures of the log tests: a world with some history, the CLI, raw SQL for tampering."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.chain.flows import deliver, ship
from tests.world import build_world
from trace_service.cli import main


@pytest.fixture
def world(app, client):
    return build_world(app, client)


@pytest.fixture
def history(world):
    """Two orders shipped and delivered on top of the world: a log of a dozen or so events."""
    for _ in range(2):
        _order, parcel = ship(world)
        assert deliver(world, parcel).status_code == 201
    return world


def cli_env(app, database_url=None) -> dict:
    """The environment an operator would run trace-service with for this app."""
    return {
        "TRACE_ENV": "testing",
        "TRACE_DATABASE_URL": database_url or app.config["DATABASE_URL"],
        "TRACE_INSTANCE_PATH": app.instance_path,
        "TRACE_SECRET_KEY": "test-secret",
    }


@pytest.fixture
def cli(app):
    """Run ``trace-service ARGS`` in-process with the app's settings; returns the Result."""

    def run(*args, database_url=None):
        runner = CliRunner()
        return runner.invoke(main, list(args), env=cli_env(app, database_url),
                             catch_exceptions=False)

    return run


@pytest.fixture
def sql(app):
    """Execute statements directly against the database, as someone with DB access could."""

    def run(statement: str, **params):
        with app.extensions["trace_db"].engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    return run


def entries(sql) -> list[tuple[int, int, str]]:
    """(seq, events.id, event_id) of the log in order."""
    return [tuple(r) for r in sql(
        "SELECT l.seq, l.event_pk, e.event_id FROM ledger_entries l "
        "JOIN events e ON e.id = l.event_pk ORDER BY l.seq")]


def save(path, data) -> str:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)
