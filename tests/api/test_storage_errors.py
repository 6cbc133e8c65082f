"""Full disk, read-only storage, lock timeouts and lost connections each have their own code.

The failures are real: a tmpfs of a few megabytes filled to the last byte, a read-only
bind mount, a PostgreSQL table lock held past ``lock_timeout``, a database in read-only
transactions. Mounting needs root (or CAP_SYS_ADMIN); those tests skip, saying so, without.
And the scanner, through a real server, keeps its scans queued and says which it is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from scanner_client import exitcodes
from tests.helpers import error_of, sscc
from tests.live import serving
from tests.world import build_world
from trace_service import create_app
from trace_service.http import database_problem

ROOT = Path(__file__).resolve().parents[2]


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here ({done.stderr.strip()}): the real "
                    "full-disk / read-only storage test cannot run")


def _umount(directory: Path) -> None:
    if subprocess.run(["umount", str(directory)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


@contextlib.contextmanager
def read_only(directory: Path):
    """``directory`` (already holding the database) becomes read-only storage."""
    _mount("--bind", str(directory), str(directory))
    try:
        _mount("-o", "remount,ro,bind", str(directory))
        yield
    finally:
        _umount(directory)


@contextlib.contextmanager
def small_disk(directory: Path, size: str = "8m"):
    directory.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory))
    try:
        yield directory
    finally:
        _umount(directory)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem has no byte left."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def new_key(world):
    return world.admin.post("/api/v1/keys", {"role": "inspector", "label": "x"})


def sqlite_file(app) -> Path:
    return Path(make_url(app.config["DATABASE_URL"]).database)


# --- the mapping --------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "code"), [
    (psycopg.errors.DiskFull("could not extend file"), "storage_full"),
    (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), "storage_read_only"),
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
     "database_busy"),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
     "database_busy"),
    (psycopg.errors.ConnectionFailure("connection failure"), "database_unavailable"),
    (sqlite3.OperationalError("database or disk is full"), "storage_full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "storage_read_only"),
    (sqlite3.OperationalError("database is locked"), "database_busy"),
    (sqlite3.OperationalError("unable to open database file"), "database_unavailable"),
], ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_each_storage_or_lock_failure_maps_to_its_own_stable_code(error, code):
    assert database_problem(OperationalError("COMMIT", {}, error)) == code


# --- real failures, in process ------------------------------------------------------------

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_database_on_read_only_storage_answers_503_storage_read_only(app, client):
    world = build_world(app, client)
    app.extensions["trace_db"].dispose()
    path = sqlite_file(app)
    with sqlite3.connect(path) as conn:  # one file: what read-only media would hold
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    with read_only(path.parent):
        response = new_key(world)
        app.extensions["trace_db"].dispose()
    assert response.status_code == 503
    assert error_of(response)["code"] == "storage_read_only"
    assert "read-only" in error_of(response)["message"]
    assert response.headers["Retry-After"] == "30"
    assert new_key(world).status_code == 201  # writable again


def test_a_full_sqlite_disk_answers_507_storage_full_until_space_is_freed(
        sqlite_template, tmp_path):
    with small_disk(tmp_path / "small") as disk:
        shutil.copy(sqlite_template, disk / "trace.sqlite3")
        app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{disk / 'trace.sqlite3'}",
                          "SECRET_KEY": "test-secret"}, instance_path=str(tmp_path / "instance"))
        try:
            world = build_world(app, app.test_client())
            filler = fill(disk)
            full = new_key(world)
            filler.unlink()
            again = new_key(world)
        finally:
            app.extensions["trace_db"].dispose()
    assert full.status_code == 507, full.get_json()
    assert error_of(full)["code"] == "storage_full"
    assert "storage is full" in error_of(full)["message"]
    assert "Retry-After" not in full.headers
    assert again.status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_write_lock_held_past_the_busy_timeout_answers_503_database_busy(app, client):
    from sqlalchemy import event

    world = build_world(app, client)
    engine = app.extensions["trace_db"].engine
    engine.dispose()

    @event.listens_for(engine, "connect")
    def short_wait(dbapi_connection, _record):  # after the service's own 30 s setting
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    holder = sqlite3.connect(sqlite_file(app), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        response = new_key(world)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert error_of(response)["code"] == "database_busy"
    assert response.headers["Retry-After"] == "1"
    assert new_key(world).status_code == 201


@contextlib.contextmanager
def pg_setting(app, name: str, value: str):
    """``ALTER DATABASE ... SET``: every new connection of the service gets it."""
    url = app.config["DATABASE_URL"]
    database = make_url(url).database
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET {name} = {value}')
    app.extensions["trace_db"].dispose()
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" RESET {name}')
        app.extensions["trace_db"].dispose()


@contextlib.contextmanager
def table_locked(app, *tables: str):
    """Another transaction holds EXCLUSIVE locks (reads pass, writes wait)."""
    with psycopg.connect(app.config["DATABASE_URL"]) as holder:
        holder.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_lock_timeout_answers_503_database_busy_with_retry_after(app, client):
    world = build_world(app, client)
    with pg_setting(app, "lock_timeout", "'300ms'"), table_locked(app, "api_keys"):
        response = new_key(world)
    assert response.status_code == 503
    assert error_of(response)["code"] == "database_busy"
    assert "lock wait" in error_of(response)["message"]
    assert response.headers["Retry-After"] == "1"
    assert new_key(world).status_code == 201


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_database_in_read_only_mode_answers_503_storage_read_only(app, client):
    world = build_world(app, client)
    with pg_setting(app, "default_transaction_read_only", "on"):
        response = new_key(world)
    assert response.status_code == 503
    assert error_of(response)["code"] == "storage_read_only"
    assert new_key(world).status_code == 201


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_full_postgresql_disk_answers_507_storage_full_until_space_is_freed(app, client):
    """The api_keys table moved to a tablespace on a 2 MB tmpfs, which is then filled: the
    server's own "could not extend file" (SQLSTATE 53100) when a page must be added."""
    import pwd
    import tempfile
    import uuid

    owner = pwd.getpwnam("postgres")
    world = build_world(app, client)
    url = app.config["DATABASE_URL"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    space = f"trace_full_{uuid.uuid4().hex[:8]}"
    disk = Path(tempfile.mkdtemp(prefix="trace-pg-full-"))  # under /tmp: postgres reaches it
    with small_disk(disk, "2m"):
        os.chown(disk, owner.pw_uid, owner.pw_gid)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {space} LOCATION '{disk}'")
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"ALTER TABLE api_keys SET TABLESPACE {space}")
            filler = fill(disk)
            for _ in range(400):  # until a new row needs a new page
                full = new_key(world)
                if full.status_code != 201:
                    break
            filler.unlink()
            again = new_key(world)
        finally:
            app.extensions["trace_db"].dispose()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ALTER TABLE api_keys SET TABLESPACE pg_default")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP TABLESPACE {space}")
    disk.rmdir()
    assert full.status_code == 507, full.get_json()
    assert error_of(full)["code"] == "storage_full"
    assert again.status_code == 201


# --- the scanner, through a real server ---------------------------------------------------

def scanner(world, home: Path, url: str, *args: str, input: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACE_SCAN_")}
    env.update(TRACE_SCAN_HOME=str(home), TRACE_SCAN_SERVER=url,
               TRACE_SCAN_KEY=world.device.key, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "scanner_client", *args], input=input,
                          capture_output=True, text=True, env=env, timeout=120, cwd=home)


def queue_and_upload(world, home: Path, url: str):
    """Queue one scan (of a parcel the world never registered: once the server can store
    again, it takes the batch and rejects that scan on its merits) and try to upload it."""
    home.mkdir(parents=True, exist_ok=True)
    queued = scanner(world, home, url, "scan", "--step", "arrive", "--no-upload", "--no-bell",
                     input=f"]C100{sscc(424242)}\n")
    assert queued.returncode == 0, queued.stderr
    return scanner(world, home, url, "upload", "--deadline", "2", "--backoff-base", "0.1",
                   "--backoff-cap", "0.3", "--no-progress")


def still_queued(home: Path) -> int:
    with sqlite3.connect(home / "queue.sqlite3") as conn:
        return conn.execute("SELECT count(*) FROM scans").fetchone()[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_scanner_keeps_its_scans_and_says_the_server_storage_is_read_only(
        app, client, tmp_path_factory):
    world = build_world(app, client)
    app.extensions["trace_db"].dispose()
    path = sqlite_file(app)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    home = tmp_path_factory.mktemp("scanner")  # apart from the storage made read-only
    with serving(app) as url:
        with read_only(path.parent):
            done = queue_and_upload(world, home, url)
            app.extensions["trace_db"].dispose()
        assert done.returncode == exitcodes.SERVER_UNREACHABLE, done.stderr
        assert "the server's storage is read-only" in done.stderr, done.stderr
        assert "storage_read_only" in done.stderr and "1 still queued" in done.stderr
        assert still_queued(home) == 1
        later = scanner(world, home, url, "upload", "--deadline", "20", "--no-progress")
    assert "1 sent" in later.stderr and "0 still queued" in later.stderr, later.stderr
    assert still_queued(home) == 0


def test_the_scanner_keeps_its_scans_and_says_the_server_disk_is_full(
        sqlite_template, tmp_path):
    with small_disk(tmp_path / "small") as disk:
        shutil.copy(sqlite_template, disk / "trace.sqlite3")
        app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{disk / 'trace.sqlite3'}",
                          "SECRET_KEY": "test-secret"}, instance_path=str(tmp_path / "instance"))
        home = tmp_path / "scanner"
        try:
            world = build_world(app, app.test_client())
            with serving(app) as url:
                filler = fill(disk)
                done = queue_and_upload(world, home, url)
                filler.unlink()
                queued = still_queued(home)
                later = scanner(world, home, url, "upload", "--deadline", "20", "--no-progress")
        finally:
            app.extensions["trace_db"].dispose()
    assert done.returncode == exitcodes.SERVER_UNREACHABLE, done.stderr
    assert "the server's disk is full" in done.stderr and "storage_full" in done.stderr
    assert queued == 1
    assert "1 sent" in later.stderr and "0 still queued" in later.stderr, later.stderr


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_scanner_keeps_its_scans_and_says_the_server_database_is_busy(
        app, client, tmp_path):
    world = build_world(app, client)
    home = tmp_path / "scanner"
    with serving(app) as url:
        with pg_setting(app, "lock_timeout", "'200ms'"), table_locked(app, "scans", "events"):
            done = queue_and_upload(world, home, url)
        assert done.returncode == exitcodes.SERVER_UNREACHABLE, done.stderr
        assert "the server's database is busy" in done.stderr, done.stderr
        assert "database_busy" in done.stderr and still_queued(home) == 1
        later = scanner(world, home, url, "upload", "--deadline", "20", "--no-progress")
    assert "1 sent" in later.stderr and "0 still queued" in later.stderr, later.stderr
    assert still_queued(home) == 0
