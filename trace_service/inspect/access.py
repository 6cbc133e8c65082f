"""The access log: who read what, and when, for every inspector request.

Every request an inspector key makes (any /api/v1 route, not only the inspector's), every
request to the inspector's own routes by anyone, and every console page is logged as one
``access_log`` row **in the request's own transaction**: the row commits with the answer
(a commit that fails turns the answer into an error, so no data leaves unlogged).

Refused requests (status >= 400) change nothing in the database, like every refused
request of the API; they are logged to the ``trace_service.access`` logger instead.

On SQLite the request's session is made a write session (``BEGIN IMMEDIATE``) before the
first read, so adding the row at the end never has to upgrade a read transaction (which
SQLite refuses when another writer committed meanwhile).
"""

from __future__ import annotations

import logging

from flask import g, request
from sqlalchemy import select

from trace_service import db as dbmod
from trace_service.auth.permissions import Actor
from trace_service.db import utcnow
from trace_service.inspect.models import AccessLog

log = logging.getLogger("trace_service.access")

API, CONSOLE = "api", "console"
# Blueprints every request to which is logged, whoever calls.
LOGGED_BLUEPRINTS = frozenset({"inspect", "recalls", "inspect_console"})


def init_app(app) -> None:
    app.before_request(_before_request)
    app.after_request(_after_request)


def begin(actor: Actor, channel: str) -> None:
    """Mark the current request as logged, for ``actor`` through ``channel``."""
    g.actor = actor
    g.access_channel = channel
    database = dbmod.get_db()
    if database.dialect == "sqlite" and not g.get("_access_write_session"):
        # Replace the (read) session the authentication used by a write session whose
        # transaction begins at the first statement of the view.
        old = g.pop("_trace_session", None)
        if old is not None:
            old.close()
        g._trace_session = database.write_session()
        g._access_write_session = True


def note_subject(subject: str | None) -> None:
    """Record what the request read (a canonical trace key, a recall id ...)."""
    if subject:
        g.access_subject = subject[:300]


def _before_request():
    actor = g.get("actor")
    if actor is None or not request.path.startswith("/api/"):
        return None
    if actor.role == "inspector" or request.blueprint in LOGGED_BLUEPRINTS:
        begin(actor, API)
    return None


def _after_request(response):
    channel = g.get("access_channel")
    actor = g.get("actor")
    if channel is None or actor is None:
        return response
    query = request.query_string.decode("utf-8", "replace")[:1000] or None
    if response.status_code >= 400:
        log.info("refused %s %s?%s for key %s (%s): %s", request.method, request.path,
                 query or "", actor.key_id, actor.role, response.status_code)
        return response
    dbmod.session().add(AccessLog(
        at=utcnow(), key_id=actor.key_id, role=actor.role, party_id=actor.party_id,
        channel=channel, method=request.method, path=request.path[:500], query=query,
        endpoint=(request.endpoint or "")[:100] or None, status=response.status_code,
        subject=g.get("access_subject"), remote_addr=(request.remote_addr or "")[:64] or None,
    ))
    return response


def entries(db, *, key_id: str | None, since, until, limit: int, before: int | None):
    """Newest first, keyset-paged by id."""
    stmt = select(AccessLog).order_by(AccessLog.id.desc()).limit(limit + 1)
    if key_id:
        stmt = stmt.where(AccessLog.key_id == key_id)
    if since is not None:
        stmt = stmt.where(AccessLog.at >= since)
    if until is not None:
        stmt = stmt.where(AccessLog.at < until)
    if before is not None:
        stmt = stmt.where(AccessLog.id < before)
    rows = db.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
