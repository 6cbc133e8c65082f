"""Restore cannot make things worse: damaged backups of every kind, kills and signals.

Each damaged backup must be refused with one line and exit status 1, before the existing
database is opened (its bytes are compared); a restore killed while it verifies leaves the
existing database as it was; ``pg_restore`` never outlives the command.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.ledger.conftest import cli_env, entries

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def fingerprint(app) -> str:
    """Every byte of the app's database: the SQLite file and its -wal, or a plain pg_dump."""
    url = app.config["DATABASE_URL"]
    digest = hashlib.sha256()
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        for part in (path, Path(f"{path}-wal")):
            digest.update(part.read_bytes() if part.exists() else b"-")
        return digest.hexdigest()
    dump = subprocess.run(["pg_dump", "--format=plain", "--no-owner", url],
                          capture_output=True, check=True)
    # pg_dump's \restrict lines carry a random key of each run; the rest is the data.
    lines = [line for line in dump.stdout.splitlines()
             if not line.startswith((b"\\restrict ", b"\\unrestrict "))]
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def make_backup(cli, tmp_path, name="trace.backup") -> Path:
    path = tmp_path / name
    made = cli("backup", str(path))
    assert made.exit_code == 0, made.output
    return path


def other_engine_backup(app, tmp_path) -> Path:
    """A backup of the other engine: a SQLite file for PostgreSQL, a pg_dump for SQLite."""
    path = tmp_path / "other.backup"
    if app.config["DATABASE_URL"].startswith("sqlite"):
        path.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(200))
    else:
        import sqlite3

        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
    return path


def damage(kind: str, backup: Path, app, tmp_path) -> tuple[Path, str]:
    """A damaged copy of ``backup`` and what the refusal must say."""
    data = backup.read_bytes()
    bad = tmp_path / f"{kind}.backup"
    sqlite = app.config["DATABASE_URL"].startswith("sqlite")
    if kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
        return bad, "is damaged" if sqlite else "could not be restored"
    if kind == "bit_flipped_with_digest":
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x10
        bad.write_bytes(bytes(flipped))
        (tmp_path / f"{bad.name}.sha256").write_text(
            (Path(f"{backup}.sha256").read_text()).replace(backup.name, bad.name))
        return bad, "does not match"
    if kind == "png":
        bad.write_bytes(PNG)
        return bad, "is a PNG image, not a backup"
    if kind == "empty":
        bad.write_bytes(b"")
        return bad, "is empty: not a backup"
    if kind == "other_engine":
        other = other_engine_backup(app, tmp_path)
        return other, ("is a PostgreSQL (pg_dump) backup, but the configured database is "
                       "sqlite" if sqlite else "is a SQLite database, but the configured "
                       "database is postgresql")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated", "bit_flipped_with_digest", "png", "empty",
                                  "other_engine"])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "forced"])
def test_a_damaged_backup_is_refused_in_one_line_and_the_database_keeps_every_byte(
        history, cli, app, tmp_path, kind, force):
    backup = make_backup(cli, tmp_path)
    bad, reason = damage(kind, backup, app, tmp_path)
    app.extensions["trace_db"].dispose()
    before = fingerprint(app)

    result = cli("restore", str(bad), *(["--force"] if force else []))

    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("restore refused: ") and reason in lines[0], lines[0]
    assert lines[0].endswith("the existing database was not changed")
    assert "Traceback" not in result.output
    assert fingerprint(app) == before
    assert cli("verify").exit_code == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # edits the file itself
def test_a_truncated_sqlite_backup_without_its_digest_is_refused_by_the_page_check(
        history, cli, app, tmp_path):
    backup = make_backup(cli, tmp_path)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(backup.read_bytes()[:-4096 * 3])
    before = fingerprint(app)
    result = cli("restore", str(cut), "--force")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"restore refused: {cut} is damaged: ")
    assert fingerprint(app) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_edited_event_in_a_backup_without_its_digest_fails_verification_and_changes_nothing(
        history, cli, app, sql, tmp_path):
    import sqlite3

    seq, pk, event_id = entries(sql)[3]
    backup = make_backup(cli, tmp_path)
    Path(f"{backup}.sha256").unlink()
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE events SET content = replace(content, '\"v\":1', '\"v\":7') "
                     "WHERE id = ?", (pk,))
    conn.close()
    before = fingerprint(app)
    result = cli("restore", str(backup), "--force")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"FAILED: seq {seq}, event {event_id}: ")
    assert result.stderr.strip().endswith(
        "restore refused: the backup failed verification; the existing database was not changed")
    assert fingerprint(app) == before


def test_a_forced_restore_swaps_in_the_verified_copy_and_keeps_the_old_database_aside(
        history, cli, app, sql, tmp_path):
    backup = make_backup(cli, tmp_path)
    size = len(entries(sql))
    sql("DELETE FROM scans")  # a change after the backup, which the restore must undo
    app.extensions["trace_db"].dispose()
    result = cli("restore", str(backup), "--force")
    assert result.exit_code == 0, result.output
    assert f"verified: log 127.0.0.1:8000/log size {size}" in result.stdout
    kept = result.stdout.split("the replaced database was kept as ", 1)[1].split(" ", 1)[0]
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        target = Path(make_url(url).database)
        assert Path(kept).exists() and Path(kept).parent == target.parent
        assert not Path(f"{target.parent}/.{target.name}.restoring").exists()
    else:
        admin = url.rsplit("/", 1)[0] + "/postgres"
        names = subprocess.run(["psql", admin, "-Atc", "SELECT datname FROM pg_database"],
                               capture_output=True, text=True, check=True).stdout.split()
        target = make_url(url).database
        assert kept in names and f"{target[:50]}_restoring" not in names
        subprocess.run(["psql", admin, "-c", f'DROP DATABASE "{kept}" WITH (FORCE)'],
                       capture_output=True, check=True)
    assert cli("verify").exit_code == 0


def test_a_forced_restore_while_the_service_holds_the_database_is_refused(
        history, cli, app, sql, tmp_path):
    """(SQLite: the old database's -wal is folded into it first, which is how the open
    connection is noticed; its content is unchanged.)"""
    backup = make_backup(cli, tmp_path)
    with app.extensions["trace_db"].engine.connect() as held:  # the service, still running
        from sqlalchemy import text

        held.execute(text("SELECT 1 FROM events LIMIT 1")).all()
        held.commit()
        result = cli("restore", str(backup), "--force")
    assert result.exit_code == 1
    assert "stop the service, then restore" in result.stderr, result.stderr
    assert cli("verify").exit_code == 0


# --- real processes ---------------------------------------------------------------------

SHIM = textwrap.dedent("""
    import sys, time
    import trace_service.ledger.verify as verify
    real = verify.verify_log
    def verify_then_hang(*args, **kwargs):
        real(*args, **kwargs)
        print("VERIFYING", flush=True)
        time.sleep(120)
    verify.verify_log = verify_then_hang
    from trace_service.cli import main
    sys.exit(main())
""")

FAKE_PG_RESTORE = textwrap.dedent("""\
    #!{python}
    import os, time
    with open(os.environ["FAKE_PG_RESTORE_PID"], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(120)
""")


def start(app, args, tmp_path, **env_extra) -> subprocess.Popen:
    env = {**os.environ, **cli_env(app), **env_extra}
    shim = tmp_path / "shim.py"
    shim.write_text(SHIM)
    return subprocess.Popen([sys.executable, str(shim), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] in "ZX"
    except FileNotFoundError:
        return True


def test_a_restore_killed_while_it_verifies_leaves_the_old_database_in_place(
        history, cli, app, tmp_path):
    backup = make_backup(cli, tmp_path)
    app.extensions["trace_db"].dispose()
    before = fingerprint(app)
    proc = start(app, ["restore", str(backup), "--force"], tmp_path)
    try:
        line = ""
        while "VERIFYING" not in line:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    assert fingerprint(app) == before, err
    assert cli("verify").exit_code == 0
    again = cli("restore", str(backup), "--force", "--drop-old")  # the leftover is cleared
    assert again.exit_code == 0, again.output
    assert cli("verify").exit_code == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_pg_restore_ends_with_the_restore_command_however_it_is_stopped(
        history, cli, app, tmp_path, how):
    backup = make_backup(cli, tmp_path)
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "pg_restore"
    fake.write_text(FAKE_PG_RESTORE.format(python=sys.executable))
    fake.chmod(0o755)
    pid_file = tmp_path / "child.pid"
    before = fingerprint(app)
    proc = start(app, ["restore", str(backup), "--force"], tmp_path,
                 PATH=f"{tools}:{os.environ['PATH']}", FAKE_PG_RESTORE_PID=str(pid_file))
    try:
        assert wait_for(lambda: pid_file.exists() and pid_file.read_text()), proc.stderr.read()
        child = int(pid_file.read_text())
        os.kill(proc.pid, how)
        proc.wait(30)
        assert wait_for(lambda: gone(child), 10), f"pg_restore {child} outlived its parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    url = app.config["DATABASE_URL"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    staging = f"{make_url(url).database[:50]}_restoring"
    names = subprocess.run(["psql", admin, "-Atc", "SELECT datname FROM pg_database"],
                           capture_output=True, text=True, check=True).stdout.split()
    if how == signal.SIGTERM:
        assert proc.returncode == 1, err
        assert err.strip().endswith(
            "restore refused: pg_restore stopped by SIGTERM; the existing database was not "
            "changed")
        assert staging not in names  # removed on the way out
    else:  # SIGKILL leaves the staging database, which the next restore removes first
        subprocess.run(["psql", admin, "-c", f'DROP DATABASE IF EXISTS "{staging}" WITH (FORCE)'],
                       capture_output=True, check=True)
    assert fingerprint(app) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backup_whose_event_content_is_not_utf8_is_refused_without_a_traceback(
        history, cli, app, sql, tmp_path):
    import sqlite3

    _seq, pk, _event_id = entries(sql)[2]
    backup = make_backup(cli, tmp_path)
    Path(f"{backup}.sha256").unlink()
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE events SET content = CAST(X'7bff' || CAST(substr(content, 2) "
                     "AS BLOB) AS TEXT) WHERE id = ?", (pk,))
    conn.close()
    before = fingerprint(app)
    result = cli("restore", str(backup), "--force")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith("restore refused: ")
    assert fingerprint(app) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_crashed_writers_wal_is_folded_into_the_old_database_kept_aside_not_into_the_new(
        history, cli, app, sql, tmp_path):
    import sqlite3

    backup = make_backup(cli, tmp_path)
    app.extensions["trace_db"].dispose()
    target = Path(make_url(app.config["DATABASE_URL"]).database)
    # A writer that commits into the -wal and dies before any checkpoint.
    crash = textwrap.dedent(f"""
        import os, sqlite3
        conn = sqlite3.connect({str(target)!r}, isolation_level=None)
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE after_the_backup (x)")
        conn.execute("INSERT INTO after_the_backup VALUES ('only in the -wal')")
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", crash], check=True)
    assert Path(f"{target}-wal").stat().st_size > 0

    result = cli("restore", str(backup), "--force")
    assert result.exit_code == 0, result.output
    kept = Path(result.stdout.split("the replaced database was kept as ", 1)[1].split(" ")[0])
    with sqlite3.connect(kept) as old:
        assert old.execute("SELECT x FROM after_the_backup").fetchall() == [("only in the -wal",)]
    old.close()
    with sqlite3.connect(target) as new:
        assert not new.execute("SELECT name FROM sqlite_master WHERE name = 'after_the_backup'"
                               ).fetchall()
    new.close()
    assert cli("verify").exit_code == 0
