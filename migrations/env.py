"""Alembic environment: migrates the database named by the service's settings."""

from __future__ import annotations

from alembic import context

from trace_service import models
from trace_service.db import make_engine

config = context.config
target_metadata = models.Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        import os

        from trace_service.config import load_settings

        instance = os.environ.get("TRACE_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
        url = load_settings(instance)["DATABASE_URL"]
    return url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _render_item(type_, obj, autogen_context):
    """Render the service's UTCDateTime as a plain timezone-aware DateTime."""
    from trace_service.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.name == "postgresql":
        # Wait at most 10 s for a lock rather than queueing behind live traffic forever.
        connection.exec_driver_sql("SET lock_timeout = '10s'")
    raw = connection.connection.dbapi_connection if sqlite else None
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=sqlite,
                      transaction_per_migration=True, compare_type=True,
                      render_item=_render_item)
    own = sqlite and not connection.in_transaction()
    if own:
        # SQLite alters a table by copying it into a new one and dropping the old: with
        # foreign keys enforced, dropping a table other rows refer to fails. They are off
        # while migrating (the pragma only works outside a transaction) and every
        # reference is checked before they are back on.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
        if own:
            if connection.in_transaction():
                connection.commit()
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} broken references, "
                                   f"e.g. {broken[0]}")
    finally:
        if own:
            if connection.in_transaction():
                connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_offline()
else:
    run_online()
