"""Backup and restore of the whole database, for SQLite and PostgreSQL.

* SQLite: the online backup API (``sqlite3.Connection.backup``), a consistent copy taken
  while the service runs, written under a temporary name and renamed into place.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (the client tools must be
  installed and at least as new as the server: ``apt-get install postgresql-client``).

A backup signs a checkpoint first, so the copy's newest checkpoint covers its whole log,
and writes that checkpoint note next to it (``PATH.checkpoint``). Keep the note apart
from the backup: restore then also proves the copy is not an older one. The signing key
is not in the database and not in the backup; restore it from where it is kept.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from trace_service.files import private_file, private_sqlite_path


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why."""


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def libpq_url(url: str) -> str:
    """The URL without SQLAlchemy's driver suffix, as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools "
                          "(Debian/Ubuntu: apt-get install postgresql-client)")
    return path


def _run(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {proc.stderr.strip()[-2000:]}")


def backup(url: str, path: Path) -> None:
    """Copy the database at ``url`` to ``path`` (replaced atomically)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.unlink(missing_ok=True)
    # A backup holds everything the database does, personal data included: made 0600
    # before anything is written to it (pg_dump and sqlite3 keep an existing file's mode).
    private_file(tmp)
    try:
        if dialect_of(url) == "sqlite":
            source = sqlite3.connect(sqlite_path(url))
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={tmp}", f"--dbname={libpq_url(url)}"])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rows_in(url: str) -> dict[str, int]:
    """Row counts of the target's tables that hold any (schema version excluded)."""
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar()
                      for n in names}
    finally:
        engine.dispose()
    return {n: c for n, c in counts.items() if c}


def has_tables(url: str) -> bool:
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        return False
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def restore(url: str, path: Path) -> None:
    """Replace the database at ``url`` with the backup at ``path``.

    The caller has checked that the target may be overwritten and has no open connections.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    if dialect_of(url) == "sqlite":
        _restore_sqlite(sqlite_path(url), path)
        return
    args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", f"--dbname={libpq_url(url)}"]
    if has_tables(url):
        args += ["--clean", "--if-exists"]
    _run(args + [str(path)])


def _restore_sqlite(target: Path, path: Path) -> None:
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a SQLite database backup")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path} is damaged: {check}")
        private_sqlite_path(target)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


def checkpoint_note_path(path: Path) -> Path:
    return Path(f"{path}.checkpoint")


def parse_note_head(note: str) -> tuple[str, int, bytes]:
    """(log id, size, root) of a checkpoint note (its signature is checked elsewhere)."""
    lines = note.split("\n")
    try:
        return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError):
        raise BackupError("the checkpoint note next to the backup is malformed") from None
