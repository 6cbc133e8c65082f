"""Backup and restore of the whole database, for SQLite and PostgreSQL.

* SQLite: the online backup API (``sqlite3.Connection.backup``), a consistent copy taken
  while the service runs, written under a temporary name and renamed into place.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (the client tools must be
  installed and at least as new as the server: ``apt-get install postgresql-client``).

A backup signs a checkpoint first, so the copy's newest checkpoint covers its whole log,
and writes that checkpoint note next to it (``PATH.checkpoint``) and the file's SHA-256
(``PATH.sha256``). Keep the note apart from the backup: restore then also proves the copy
is not an older one. The signing key is not in the database and not in the backup;
restore it from where it is kept.

A restore is staged, verified, then swapped in (see the comment above :func:`backup_kind`
and docs/integrity.md, "Backup and restore").
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from trace_service.files import private_file


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
    """Row counts of the target's tables that hold any (schema version excluded); {} for a
    database that does not exist yet. A target that cannot be read is a BackupError."""
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                           poolclass=NullPool)
    try:
        with engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar()
                      for n in names}
    except DBAPIError as exc:
        reason = _first_line(exc)
        if dialect_of(url) != "sqlite" and "does not exist" in reason:
            return {}
        raise BackupError(f"the target database cannot be read ({reason})") from None
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


# --- restore -------------------------------------------------------------------------
#
# A restore never writes into the live database. It loads the backup into a staging copy
# (SQLite: a file beside the target; PostgreSQL: a database of its own), the caller
# verifies the log there, and only a verified copy is swapped in, in one atomic step
# (``os.replace`` of the file; one transaction renaming both databases). Whatever stops
# the restore before that step - a damaged backup, a failed verification, SIGKILL - leaves
# the existing database as it was; the old database is kept aside after the step.

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
_KNOWN_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip file (decompress it first)"),
    (b"--\n-- PostgreSQL database dump", "a plain-SQL pg_dump (make backups with "
     "'trace-service backup', which writes pg_dump's custom format)"),
)


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql``: which database made the backup at ``path``, by its first
    bytes. Anything else is refused with what it looks like, before any database is
    touched."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise BackupError(f"{path} is empty: not a backup")
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    for magic, what in _KNOWN_MAGICS:
        if head.startswith(magic):
            raise BackupError(f"{path} is {what}, not a backup")
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump archive "
                      f"(it starts with {head[:8].hex(' ')})")


def digest_path(path: Path) -> Path:
    return Path(f"{path}.sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_digest(path: Path) -> Path:
    """``PATH.sha256`` in ``sha256sum`` format: restore then notices any changed byte, even
    one in a table the log does not cover (``sha256sum -c`` checks it too)."""
    out = digest_path(path)
    out.write_text(f"{file_sha256(path)}  {Path(path).name}\n", encoding="utf-8")
    return out


def check_digest(path: Path) -> bool:
    """Compare the backup with ``PATH.sha256`` when there is one; False when there is none."""
    side = digest_path(path)
    if not side.exists():
        return False
    expected = side.read_text(encoding="utf-8", errors="replace").split()[:1]
    if not expected or file_sha256(path) != expected[0].lower():
        raise BackupError(f"{path} does not match {side.name}: the file was changed or "
                          "damaged after the backup was made")
    return True


@contextlib.contextmanager
def _no_signals():
    """Hold SIGINT and SIGTERM back for the few statements of the swap, so it is done
    whole or not begun (SIGKILL cannot be held; the swap is atomic on its own)."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())


class Staging:
    """A staging copy of the database at ``url``; see :func:`staging`."""

    url: str
    swapped: bool

    def open(self) -> None:
        """Take the restore lock and remove a staging copy a killed restore left."""
        raise NotImplementedError

    def load(self, path: Path) -> None:
        """Restore the backup at ``path`` into the staging copy; BackupError if it cannot."""
        raise NotImplementedError

    def swap(self, keep_old: bool) -> str | None:
        """Put the staged copy in the target's place; returns where the old one went."""
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError


@contextlib.contextmanager
def staging(url: str):
    """A :class:`Staging` for ``url``, removed again unless it was swapped in. Only one
    restore of a database runs at a time (a lock), and a staging copy left by a restore
    that was killed is removed first."""
    stage = SqliteStaging(url) if dialect_of(url) == "sqlite" else PgStaging(url)
    stage.open()
    try:
        yield stage
    finally:
        stage.discard()


def _sqlite_uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{urllib.parse.quote(str(Path(path).resolve()))}?{query}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SqliteStaging(Staging):
    """``.NAME.restoring`` beside the target (the same filesystem, so the swap is a
    rename), under the lock ``.NAME.restore.lock``."""

    def __init__(self, url: str):
        self.target = sqlite_path(url).resolve()
        self.path = self.target.with_name(f".{self.target.name}.restoring")
        self.url = f"sqlite:///{self.path}"
        self._lock = None
        self.swapped = False

    def open(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        lock = self.target.with_name(f".{self.target.name}.restore.lock")
        private_file(lock)
        self._lock = open(lock, "r+b")  # noqa: SIM115 - held until discard()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise BackupError(f"another restore of {self.target} is running") from None
        self._remove_staged()

    def _remove_staged(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def load(self, path: Path) -> None:
        """Copy the backup's bytes (the backup file itself is never opened by SQLite, so
        nothing is written beside it), check every page, and leave the copy in rollback
        journal mode: one file to rename, no -wal beside it."""
        private_file(self.path)
        with open(path, "rb") as src, open(self.path, "r+b") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        try:
            conn = sqlite3.connect(_sqlite_uri(self.path, mode="rw"), uri=True)
            try:
                conn.execute("PRAGMA journal_mode=DELETE").fetchone()
                found = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is damaged: {exc}") from None
        if found != ["ok"]:
            raise BackupError(f"{path} is damaged: {found[0]}")

    def swap(self, keep_old: bool) -> str | None:
        target = self.target
        aside = None
        with open(self.path, "rb") as staged:
            os.fsync(staged.fileno())
        if target.exists():
            self._settle_wal()
            aside = target.with_name(f"{target.name}.before-restore-{_stamp()}")
        with _no_signals():
            if aside is not None:
                os.link(target, aside)  # the old file stays at the target until the rename
                for suffix in ("-wal", "-shm"):
                    old = Path(f"{target}{suffix}")
                    if old.exists():
                        os.replace(old, Path(f"{aside}{suffix}"))
            os.replace(self.path, target)
            self.swapped = True
            _fsync_dir(target.parent)
        if aside is not None and not keep_old:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{aside}{suffix}").unlink(missing_ok=True)
            aside = None
        return None if aside is None else str(aside)

    def _settle_wal(self) -> None:
        """Fold the old database's -wal into it, so no page of the old database is left in
        a -wal beside the new file (SQLite would apply it to the new one). SQLite deletes
        the -wal when its last connection closes: one still there means the database is
        open elsewhere, and the restore is refused."""
        wal = Path(f"{self.target}-wal")
        try:
            conn = sqlite3.connect(self.target, timeout=5)
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            return  # an unreadable old database: its -wal goes aside with it
        if (busy and busy[0]) or wal.exists():
            raise BackupError(f"{self.target} is open in another process (its -wal file "
                              "is still there): stop the service, then restore")

    def discard(self) -> None:
        try:
            if not self.swapped:
                self._remove_staged()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None


def _pg_engine(url: str, **kwargs):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), **kwargs)


class PgStaging(Staging):
    """A database ``NAME_restoring`` on the same server; the swap renames the target to
    ``NAME_before_restore_<time>`` and the staging database to ``NAME`` in one
    transaction. Restores of one database are serialised by an advisory lock held on a
    connection to the ``postgres`` maintenance database."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self.target = parsed.database
        if not self.target:
            raise BackupError("the database URL names no database")
        self.name = f"{self.target[:50]}_restoring"
        self.url = parsed.set(database=self.name).render_as_string(hide_password=False)
        self.admin_url = parsed.set(database="postgres").render_as_string(hide_password=False)
        self._engine = None
        self._conn = None
        self.swapped = False

    def open(self) -> None:
        self._engine = _pg_engine(self.admin_url, isolation_level="AUTOCOMMIT",
                                  poolclass=NullPool)
        try:
            self._conn = self._engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:n))"),
                                     {"n": f"trace restore {self.target}"}).scalar()
        except OperationalError as exc:
            self._close()
            raise BackupError(f"cannot reach the PostgreSQL server: {_first_line(exc)}") \
                from None
        if not got:
            self._close()
            raise BackupError(f"another restore of database {self.target} is running")
        try:
            self._drop_staged()
            self._conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except DBAPIError as exc:
            self._close()
            raise BackupError(f"cannot make the staging database {self.name}: "
                              f"{_first_line(exc)}") from None

    def _drop_staged(self) -> None:
        self._conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def load(self, path: Path) -> None:
        run_child([_tool("pg_restore"), "--no-owner", "--no-privileges",
                   "--single-transaction", "--exit-on-error", f"--dbname={libpq_url(self.url)}",
                   str(path)], what=f"{path} could not be restored")

    def swap(self, keep_old: bool) -> str | None:
        conn = self._conn
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": self.target}).scalar()
        aside = f"{self.target[:40]}_before_restore_{_stamp().replace('T', '_')}"
        others = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :n "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"),
            {"n": self.target}).scalar()
        if others:
            raise BackupError(f"{others} session(s) are connected to database {self.target}: "
                              "stop the service, then restore")
        raw = conn.connection.driver_connection
        for attempt in range(10):
            # A rename needs the database to itself; an autovacuum worker (a freshly loaded
            # copy is its first target) is ended, and starts again later on its own.
            raw.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname IN (%s, %s) AND backend_type = 'autovacuum worker'",
                        (self.name, self.target))
            try:
                with _no_signals():
                    # One server transaction (the session is in autocommit; psycopg's
                    # transaction() sends BEGIN): both names change, or neither does.
                    with raw.transaction():
                        if exists:
                            raw.execute(f'ALTER DATABASE "{self.target}" RENAME TO "{aside}"')
                        raw.execute(f'ALTER DATABASE "{self.name}" RENAME TO "{self.target}"')
                    self.swapped = True
                break
            except psycopg.errors.ObjectInUse as exc:  # a worker came back meanwhile
                if attempt == 9:
                    raise BackupError(f"the restored database could not be put in place of "
                                      f"{self.target}: {_first_line(exc)}") from None
                time.sleep(0.2)
            except (DBAPIError, psycopg.Error) as exc:
                raise BackupError(f"the restored database could not be put in place of "
                                  f"{self.target}: {_first_line(exc)}") from None
        if not exists:
            return None
        if not keep_old:
            conn.execute(text(f'DROP DATABASE "{aside}" WITH (FORCE)'))
            return None
        return aside

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the session ends: its advisory lock goes with it
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def discard(self) -> None:
        try:
            if self._conn is not None and not self.swapped:
                self._drop_staged()
        except DBAPIError:
            pass  # left for the next restore, which drops it first
        finally:
            self._close()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


# --- child processes ---------------------------------------------------------------


def _die_with_parent(parent: int):
    """For ``preexec_fn``: the child gets SIGKILL when this process ends, however it ends
    (Linux ``PR_SET_PDEATHSIG``; elsewhere only the signal handlers of ``run_child``)."""

    def setup() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return setup


class Interrupted(BackupError):
    """SIGTERM or SIGINT arrived while a child process ran; the child was stopped."""


def run_child(args: list[str], what: str) -> None:
    """Run ``pg_restore`` (or another tool) so that it never outlives us: it dies with this
    process (PDEATHSIG), and SIGTERM or SIGINT stop it before we stop. A failure is one
    line: the tool's last line of error output."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, errors="replace",
                            preexec_fn=_die_with_parent(os.getpid()))
    caught: list[int] = []

    def stop(signum, _frame):
        caught.append(signum)
        proc.kill()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        _out, err = proc.communicate()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if caught:
        raise Interrupted(f"{Path(args[0]).name} stopped by {signal.Signals(caught[0]).name}")
    if proc.returncode != 0:
        lines = [line for line in (err or "").splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        reason = errors[0] if errors else f"exit status {proc.returncode}"
        raise BackupError(f"{what}: {reason.strip()}")


def staged_revision(url: str) -> str | None:
    """The schema revision of the staged copy (None: not a trace database)."""
    engine = _pg_engine(url, poolclass=NullPool) if dialect_of(url) != "sqlite" else \
        create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def checkpoint_note_path(path: Path) -> Path:
    return Path(f"{path}.checkpoint")


def parse_note_head(note: str) -> tuple[str, int, bytes]:
    """(log id, size, root) of a checkpoint note (its signature is checked elsewhere)."""
    lines = note.split("\n")
    try:
        return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError):
        raise BackupError("the checkpoint note next to the backup is malformed") from None
