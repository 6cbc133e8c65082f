"""backup -> restore -> verify, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from tests.chain.flows import ship
from tests.conftest import drop_pg_database, make_pg_database
from tests.ledger.conftest import entries


@pytest.fixture
def empty_target(app, tmp_path, request):
    """The URL of a database with nothing in it, of the same engine as the app's."""
    if app.extensions["trace_db"].dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'trace.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"trace_restore_{uuid.uuid4().hex[:10]}"
    yield make_pg_database(admin, name)
    drop_pg_database(admin, name)


def test_backup_then_restore_into_an_empty_database_verifies_the_same_log(
        history, cli, sql, tmp_path, empty_target):
    log = entries(sql)
    path = tmp_path / "trace.backup"
    made = cli("backup", str(path))
    assert made.exit_code == 0, made.output
    assert f"size {len(log)}" in made.stdout
    note = (tmp_path / "trace.backup.checkpoint").read_text()
    assert note.split("\n")[1] == str(len(log))

    restored = cli("restore", str(path), database_url=empty_target)
    assert restored.exit_code == 0, restored.output
    assert f"verified: log 127.0.0.1:8000/log size {len(log)}" in restored.stdout
    assert f"contains the checkpoint of {path}.checkpoint (size {len(log)})" in restored.stdout

    again = cli("verify", database_url=empty_target)
    assert again.exit_code == 0, again.output
    original = cli("verify")
    assert again.stdout.splitlines()[1] == original.stdout.splitlines()[1]  # same size, root


def test_restore_refuses_a_target_that_holds_data_unless_forced(history, cli, app, tmp_path):
    path = tmp_path / "trace.backup"
    assert cli("backup", str(path)).exit_code == 0
    app.extensions["trace_db"].dispose()  # the service is stopped for a restore
    refused = cli("restore", str(path))
    assert refused.exit_code == 1
    assert "the target database holds data" in refused.stderr and "--force" in refused.stderr
    forced = cli("restore", str(path), "--force", "--drop-old")
    assert forced.exit_code == 0, forced.output
    assert "verified:" in forced.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restoring_an_older_backup_than_its_checkpoint_note_is_refused(history, cli, tmp_path):
    older = tmp_path / "older.backup"
    assert cli("backup", str(older)).exit_code == 0
    ship(history)
    newer = tmp_path / "newer.backup"
    assert cli("backup", str(newer)).exit_code == 0
    (tmp_path / "older.backup.checkpoint").write_text(
        (tmp_path / "newer.backup.checkpoint").read_text())
    result = cli("restore", str(older), database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}")
    assert result.exit_code == 1
    assert "does not contain the checkpoint" in result.stderr
    target = tmp_path / "r.sqlite3"  # made empty by the app's start, and left so
    assert not target.exists() or target.stat().st_size == 0


def test_restoring_a_file_that_is_not_a_backup_fails_clearly(cli, tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup")
    result = cli("restore", str(junk), database_url=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert result.exit_code == 1
    assert result.stderr == (f"restore refused: {junk} is neither a SQLite database nor a "
                             "pg_dump archive (it starts with 6e 6f 74 20 61 20 62 61); the "
                             "existing database was not changed\n")
