"""The inspector console's sessions, kept by the server.

A signed cookie alone cannot be taken back: until it expires, whoever holds a copy (a
shared computer, a proxy log, a stolen laptop) is signed in, whatever the owner did. So
the cookie carries only a random token, and the session it names is a row of
``console_sessions``: signing out marks the row revoked, and a cookie whose row is revoked,
expired or missing is refused, however good its signature. The token is stored as its
SHA-256 only, so reading the table gives no usable cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trace_service.inspect.models import ConsoleSession

#: Ended sessions are kept this long after they expire (who was signed in, and when they
#: signed out), then deleted at a later sign-in.
KEEP_ENDED = dt.timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Session, key_id: str, now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A new session of ``key_id`` lasting at most ``lifetime``; returns the cookie's token.
    Sessions ended long ago are deleted on the way. Caller commits."""
    db.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    db.add(ConsoleSession(id=_digest(token), key_id=key_id, created_at=now,
                          expires_at=now + lifetime))
    db.flush()
    return token


def active(db: Session, token: str | None, now: dt.datetime) -> ConsoleSession | None:
    """The session ``token`` names, if it is neither revoked nor expired."""
    if not token:
        return None
    row = db.scalar(select(ConsoleSession).where(ConsoleSession.id == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


def end(db: Session, token: str | None, now: dt.datetime) -> None:
    """Revoke the session ``token`` names (signing out). Caller commits."""
    if not token:
        return
    row = db.scalar(select(ConsoleSession).where(ConsoleSession.id == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        db.flush()
