"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, and one
session (one transaction) per request.

Views never commit. The request hook in ``trace_service.http`` commits once when the
response is a success and rolls back otherwise, so a request is all-or-nothing.
"""

from __future__ import annotations

import datetime as dt

import uuid6
from flask import current_app, g
from sqlalchemy import DateTime, MetaData, String, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from trace_service.files import private_sqlite

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; this type makes both behave
    the same for the code above it. Naive datetimes are refused: every time in the
    service carries its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        if value.tzinfo is not dt.timezone.utc:
            value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_id(prefix: str) -> str:
    """A public, unguessable, time-ordered id such as ``ord_01937c2e9a4b7d3e8f...``."""
    return f"{prefix}_{uuid6.uuid7().hex}"


# Values per IN list: SQLite allows 32,766 parameters a statement.
CHUNK = 5000


def chunks(values: list, size: int = CHUNK):
    """``values`` in slices of ``size``, for statements that take a list of them."""
    for i in range(0, len(values), size):
        yield values[i:i + size]


def one_of(db, column, values):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one parameter
    whatever the number of values, so the statement text stays short and the same from
    one call to the next (psycopg re-parses statements longer than 4 kB on every call,
    which a 500-value IN list is). ``db`` is a Session or Connection."""
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect
    if dialect.name == "postgresql":
        # Strings as VARCHAR[] without a length: a cast to VARCHAR(n)[] would silently cut
        # a longer value to n characters, and the cut value could match another row.
        element = String() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
    return column.in_(values)


def append_rows(conn, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples of plain values in ``columns`` order, no type conversion
    needed) into ``table`` through the driver's own bulk path, on the transaction's
    connection: for the log's append-only tables, where a batch adds a thousand small
    rows and SQLAlchemy's per-row parameter handling would cost more than the insert.

    PostgreSQL: one ``COPY ... FROM STDIN`` (psycopg sends each row of an ``executemany``
    as a statement of its own, ~25 us of Python each). SQLite: the sqlite3 module's
    ``executemany``, which loops in C."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    driver.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine configured for the service's two supported databases.

    ``hide_parameters``: a statement's bound values are personal data (names, phones,
    addresses) as often as not, so neither a logged database error nor ``echo`` shows
    them; the statement itself is still shown."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        private_sqlite(url)  # personal data: 0600 before sqlite3 would make it 0644
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True,
                         pool_size=10, max_overflow=10)


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and explicit transactions.

    pysqlite's own transaction handling starts transactions lazily, which lets two
    writers read the same row and then race to upgrade their lock. We take control:
    a write session begins with ``BEGIN IMMEDIATE`` (taking the write lock up front, so
    a check-then-write is serialised), a read session with a plain ``BEGIN``.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        # Text that is not UTF-8 (a damaged byte in a file SQLite does not check) is read
        # as its bytes, escaped, instead of failing the whole query: verify then names
        # the entry, and a trail holding it still opens.
        dbapi_connection.text_factory = _lenient_text
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """The engine and session factories of one app."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.dialect = self.engine.dialect.name
        write_bind = self.engine
        if self.dialect == "sqlite":
            write_bind = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self.read_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.write_session = sessionmaker(bind=write_bind, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def get_db() -> Database:
    return current_app.extensions["trace_db"]


def session() -> Session:
    """The current request's session, opened on first use.

    Requests that can change data (POST, PUT, PATCH, DELETE) get a write session.
    """
    from flask import request

    sess = g.get("_trace_session")
    if sess is None:
        db = get_db()
        writes = request.method in ("POST", "PUT", "PATCH", "DELETE")
        sess = (db.write_session if writes else db.read_session)()
        g._trace_session = sess
    return sess


def paginate(db: Session, stmt, id_column, limit: int, cursor: str | None) -> dict:
    """One page of ``stmt`` ordered by ``id_column`` (unique, time-ordered), keyset style."""
    from trace_service.schemas import decode_cursor, encode_cursor

    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(id_column > after)
    rows = db.scalars(stmt.order_by(id_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = getattr(rows[-1], id_column.key) if (more and rows) else None
    return {"items": rows, "next_cursor": encode_cursor(last)}
