"""Files only the service's own user may read: secrets, keys, the SQLite database.

A file written with ``open()`` gets the process umask's mode (usually 0644, readable by
every local user) and a ``chmod`` afterwards leaves a moment in which another user can open
it and keep reading. These helpers create files with mode 0600 from the first byte, and
tighten the mode of such files made by earlier versions.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE = 0o600


def tighten(path: Path | str) -> None:
    """Drop the group and other permissions of an existing file (no-op if already so)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def write_private(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, replacing it whole (never half-written):
    a temporary file made 0600 is renamed over the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, PRIVATE)  # O_CREAT leaves an existing stray temporary file's mode
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def create_private_once(path: Path | str, make: Callable[[], bytes]) -> bytes:
    """The contents of ``path``, creating it with mode 0600 and the bytes ``make()`` returns
    if it does not exist. Race-safe: the file is written whole under a temporary name and
    linked into place, so concurrent starters agree on the winner's contents."""
    path = Path(path)
    if path.exists():
        tighten(path)
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        os.chmod(tmp, PRIVATE)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or in memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def private_sqlite(url: str) -> None:
    """Make the SQLite database of ``url`` (if it is one) readable by this user only."""
    path = sqlite_file(url)
    if path is not None:
        private_sqlite_path(path)


def private_file(path: Path | str) -> None:
    """Make sure ``path`` exists with mode 0600 (created empty if missing), for a file
    another program is about to fill: sqlite3 and pg_dump keep an existing file's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        tighten(path)


def private_sqlite_path(path: Path | str) -> None:
    """Make the SQLite database file ``path`` readable by this user only.

    A missing file is created empty with mode 0600 (an empty file is an empty SQLite
    database), so sqlite3 never creates it with the umask's mode; SQLite gives the ``-wal``
    and ``-shm`` files it makes the mode of the database file. Existing files, and their
    ``-wal``/``-shm``/``-journal`` companions, are tightened."""
    path = Path(path)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        tighten(path.with_name(path.name + suffix))
