"""The append-only log of events: sequencing, checkpoints and proofs.

Sequencing. ``chain.events.insert_events`` calls :func:`append` right after it inserts
event rows. ``append`` only notes them on the session; an event gets its sequence number when
that session commits (a ``before_commit`` hook, :func:`_sequence_on_commit`), inside the
same database transaction as the event, so an event is in the log if and only if it was
committed. The hook locks the one ``ledger_head`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite write transactions already hold the database write lock from
``BEGIN IMMEDIATE``), numbers the transaction's events from the head's size, writes
their leaf hashes and the O(1) amortised complete-subtree nodes they finish, and moves the
head. The lock is held until COMMIT returns.

Guarantee: sequence numbers are 0, 1, 2, ... with no gap and no duplicate, and their order
is commit order: when a reader sees entry n, it sees every entry below n. Sequence order
is *not* ``events.id`` order (two transactions may flush in one order and commit in the
other); ``record_time`` is when the service accepted the event, ``seq`` when it committed.

Cost: every event-writing transaction serialises on the head row from its commit hook to
the end of its COMMIT — a few inserts and one fsync — so one log sustains roughly
1 / (commit latency) transactions a second whatever the number of app servers; batching
events into one request shares one lock hold. Taking the lock last (at commit, not at
``record_event``) also means it is always the last lock a transaction takes, so it adds no
deadlock with the trace-key row locks of ``chain.services.lock``.

Checkpoints are signed on demand: ``trace-service checkpoint``, before every backup, when
an inclusion proof is asked for an event no checkpoint covers yet, and when a reader asks
for the latest checkpoint and the newest one is older than
``LOG_CHECKPOINT_INTERVAL_SECONDS`` while the log has grown. So there is at most one
checkpoint per interval plus one per proof request for fresh events, and none while the
log is idle.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import event as sa_event
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace_service.chain import facts
from trace_service.chain.models import Event
from trace_service.db import append_rows
from trace_service.errors import NotFound, Unprocessable
from trace_service.ledger import merkle
from trace_service.ledger.models import (
    HEAD_ID, LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode,
)
from trace_service.ledger.notes import LogKey, checkpoint_body, signed_note

_PENDING = "trace_ledger_pending"

ENTRIES = LedgerEntry.__table__
NODES = LedgerNode.__table__
HEAD = LedgerHead.__table__
CHECKPOINTS = LedgerCheckpoint.__table__


class LogCorrupt(RuntimeError):
    """The stored log cannot serve a request (``trace-service verify`` says where)."""


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _now() -> dt.datetime:
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# --- appending ------------------------------------------------------------------------------


def append(db: Session, items: list[tuple[int, str]]) -> None:
    """Put inserted event rows, given as ``(events.id, content)``, in the log when ``db``'s
    transaction commits, in this order."""
    db.info.setdefault(_PENDING, []).extend(items)


@sa_event.listens_for(Session, "before_commit")
def _sequence_on_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        append_now(session, pending)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_on_rollback(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_SAVEPOINTS, None)


# A rolled-back SAVEPOINT takes its events with it: forget what was appended inside it.
_SAVEPOINTS = "trace_ledger_savepoints"


@sa_event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINTS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING, ()))


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_savepoint(session: Session, previous_transaction) -> None:
    mark = session.info.get(_SAVEPOINTS, {}).pop(id(previous_transaction), None)
    if mark is not None and _PENDING in session.info:
        del session.info[_PENDING][mark:]


def append_now(db: Session, items: list[tuple[int, str]]) -> list[int]:
    """Sequence ``(event_pk, content)`` pairs now, in order; return their sequence numbers.

    Takes the head lock for the rest of the transaction. Bulk loaders call this directly.
    """
    conn = db.connection()  # Core on the session's connection: no ORM overhead per statement
    size, _root, frontier = lock_head(conn)
    first = size
    entries, nodes = [], []
    for event_pk, content in items:
        leaf = merkle.leaf_hash(content.encode("utf-8"))
        entries.append((size, event_pk, leaf))
        nodes += merkle.append_leaf(frontier, size, leaf)
        size += 1
    append_rows(conn, ENTRIES, ("seq", "event_pk", "leaf_hash"), entries)
    append_rows(conn, NODES, ("level", "index", "hash"), nodes)
    conn.execute(_MOVE_HEAD, {"size": size, "root_hash": merkle.root_from_frontier(frontier),
                              "frontier": b"".join(frontier), "updated_at": _now()})
    return list(range(first, size))


_MOVE_HEAD = HEAD.update().where(HEAD.c.id == HEAD_ID)


_LOCK_HEAD = (select(HEAD.c.size, HEAD.c.root_hash, HEAD.c.frontier)
              .where(HEAD.c.id == HEAD_ID).with_for_update())


def lock_head(db) -> tuple[int, bytes, list[bytes]]:
    """(size, root, frontier) of the log, with the head row locked until the transaction
    ends. ``db`` is a Session or a Connection."""
    row = db.execute(_LOCK_HEAD).first()
    if row is None:
        # A brand-new (or emptied) database: make the head; a racing writer's insert wins
        # harmlessly and we lock that one.
        bind = db.get_bind() if isinstance(db, Session) else db
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[bind.dialect.name]
        db.execute(insert(HEAD).values(id=HEAD_ID, size=0, root_hash=merkle.EMPTY_ROOT,
                                       frontier=b"", updated_at=_now())
                   .on_conflict_do_nothing(index_elements=["id"]))
        row = db.execute(_LOCK_HEAD).first()
    frontier = [row.frontier[i:i + 32] for i in range(0, len(row.frontier), 32)]
    return row.size, row.root_hash, frontier


def head(db: Session) -> tuple[int, bytes]:
    """(size, root) as this session sees it, without locking."""
    row = db.execute(select(HEAD.c.size, HEAD.c.root_hash).where(HEAD.c.id == HEAD_ID)).first()
    return (row.size, row.root_hash) if row else (0, merkle.EMPTY_ROOT)


# --- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root_hash: bytes
    issued_at: dt.datetime
    log_id: str
    signature: bytes

    @property
    def body(self) -> str:
        return checkpoint_body(self.log_id, self.size, self.root_hash, self.issued_at)

    def note(self, key: LogKey) -> str:
        return signed_note(self.body, self.log_id, key, self.signature)

    def view(self, key: LogKey) -> dict:
        return {"log_id": self.log_id, "size": self.size, "root_hash": b64(self.root_hash),
                "issued_at": self.issued_at, "note": self.note(key)}


def _checkpoint(row) -> Checkpoint:
    issued_at = row.issued_at
    if issued_at.tzinfo is None:  # SQLite keeps no zone; Core reads bypass UTCDateTime's fix
        issued_at = issued_at.replace(tzinfo=dt.timezone.utc)
    return Checkpoint(row.size, row.root_hash, issued_at.astimezone(dt.timezone.utc),
                      row.log_id, row.signature)


def newest_checkpoint(db: Session) -> Checkpoint | None:
    row = db.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.size.desc()).limit(1)).first()
    return _checkpoint(row) if row else None


def checkpoint_at(db: Session, size: int) -> Checkpoint:
    row = db.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.size == size)).first()
    if row is None:
        raise NotFound("no_checkpoint", f"no checkpoint was signed at size {size}", size=size)
    return _checkpoint(row)


def all_checkpoints(db: Session) -> list[Checkpoint]:
    return [_checkpoint(r) for r in db.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.size))]


def issue_checkpoint(db: Session, key: LogKey) -> Checkpoint:
    """Sign the current head (unless the newest checkpoint already has its size).

    Locks the head, so it neither races appenders nor another issuer. Caller commits.
    """
    size, root, _frontier = lock_head(db)
    latest = newest_checkpoint(db)
    if latest is not None and latest.size == size:
        return latest
    if latest is not None and latest.size > size:
        raise LogCorrupt(f"the log holds {size} entries but a checkpoint was signed at size "
                         f"{latest.size}; run 'trace-service verify'")
    issued_at = _now()
    body = checkpoint_body(key.name, size, root, issued_at)
    row = {"size": size, "root_hash": root, "issued_at": issued_at, "log_id": key.name,
           "signature": key.sign(body)}
    db.execute(LedgerCheckpoint.__table__.insert(), row)
    return Checkpoint(size, root, issued_at, key.name, row["signature"])


def sign_now(database, key: LogKey) -> Checkpoint:
    """Issue a checkpoint in a transaction of its own, then hand it to the witnesses
    (``ledger.witnesses``: in the background; this never waits for them)."""
    from trace_service.ledger import witnesses

    with database.write_session() as db:
        checkpoint = issue_checkpoint(db, key)
        db.commit()
    witnesses.checkpoint_signed(database, checkpoint, checkpoint.note(key))
    return checkpoint


def latest_checkpoint(database, key: LogKey, interval_seconds: int) -> Checkpoint:
    """The newest checkpoint, signing a fresh one first when the newest is older than
    ``interval_seconds`` and the log has grown since (or when there is none)."""
    with database.read_session() as db:
        latest = newest_checkpoint(db)
        size, _root = head(db)
    if latest is not None and (latest.size >= size or _age(latest) < interval_seconds):
        return latest
    return sign_now(database, key)


def run_checkpoints(database, key: LogKey, interval_seconds: int, stop, log=None,
                    on_signed=None) -> None:
    """Sign a checkpoint whenever the log has grown, at most every ``interval_seconds``,
    until ``stop`` (a ``threading.Event``) is set: checkpoints are published on a schedule,
    whether or not anybody reads them. A database error is logged and retried at the next
    tick; it never ends the loop. Several of these loops (one per server) are harmless:
    issuing locks the log head and is a no-op when the newest checkpoint covers it."""
    newest = None
    while not stop.is_set():
        try:
            signed = latest_checkpoint(database, key, interval_seconds)
            if newest is None or signed.size != newest.size:
                if newest is not None and on_signed is not None:
                    on_signed(signed)
                newest = signed
            wait = max(1.0, interval_seconds - _age(signed)) if signed else interval_seconds
        except Exception:  # noqa: BLE001 - the schedule outlives a failed attempt
            if log is not None:
                log.exception("signing a scheduled checkpoint failed; retrying")
            wait = min(interval_seconds, 10)
        stop.wait(min(wait, interval_seconds))


def _age(checkpoint: Checkpoint) -> float:
    return (dt.datetime.now(dt.timezone.utc) - checkpoint.issued_at).total_seconds()


# --- proofs ----------------------------------------------------------------------------------


def fetch_nodes(db: Session, nodes: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The stored hashes of ``nodes`` (level 0 from entries): one query per table."""
    found: dict[merkle.Node, bytes] = {}
    leaves = sorted(i for level, i in nodes if level == 0)
    inner = sorted((level, i) for level, i in nodes if level > 0)
    if leaves:
        rows = db.execute(select(ENTRIES.c.seq, ENTRIES.c.leaf_hash)
                          .where(ENTRIES.c.seq.in_(leaves)))
        found.update(((0, seq), h) for seq, h in rows)
    if inner:
        # OR of (level, index) pairs: each an index seek on both engines (SQLite scans the
        # table for a row-value IN list).
        rows = db.execute(select(NODES.c.level, NODES.c.index, NODES.c.hash).where(or_(
            *(and_(NODES.c.level == level, NODES.c.index == index) for level, index in inner))))
        found.update(((level, index), h) for level, index, h in rows)
    missing = nodes - found.keys()
    if missing:
        raise LogCorrupt(f"the stored tree lacks nodes {sorted(missing)[:5]}; "
                         "run 'trace-service verify'")
    return found


def inclusion_proof(db: Session, seq: int, size: int) -> list[bytes]:
    ranges = merkle.inclusion_ranges(seq, size)
    return merkle.hashes_for(ranges, fetch_nodes(db, merkle.needed_nodes(ranges)))


def consistency_proof(db: Session, first: int, second: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(first, second)
    return merkle.hashes_for(ranges, fetch_nodes(db, merkle.needed_nodes(ranges)))


def root_at(db: Session, size: int) -> bytes:
    """The root of the tree of the first ``size`` entries, from stored nodes."""
    ranges = [(0, size)] if size else []
    if not ranges:
        return merkle.EMPTY_ROOT
    return merkle.hashes_for(ranges, fetch_nodes(db, merkle.needed_nodes(ranges)))[0]


def entry_of_event(db: Session, event_id: str):
    """``(seq, Event)`` of a logged event, or NotFound."""
    row = db.execute(select(ENTRIES.c.seq, Event)
                     .join(Event, Event.id == ENTRIES.c.event_pk)
                     .where(Event.event_id == event_id)).first()
    if row is None:
        raise NotFound("event_not_in_log", f"no logged event has id {event_id}",
                       event_id=event_id)
    return row.seq, row.Event


def inclusion_bundle(database, key: LogKey, event_id: str, size: int | None,
                     visible=None) -> dict:
    """The proof bundle of one event: its canonical content, its place in the log, the
    audit path and the signed checkpoint it leads to. ``visible(db, event)`` may hide the
    event from the caller (answered as unknown).

    Without ``size`` the newest checkpoint is used, signed now if none covers the event.
    """
    with database.read_session() as db:
        seq, event = entry_of_event(db, event_id)
        if visible is not None and not visible(db, event):
            raise NotFound("event_not_in_log", f"no logged event has id {event_id}",
                           event_id=event_id)
        if size is None:
            checkpoint = newest_checkpoint(db)
        else:
            checkpoint = checkpoint_at(db, size)
            if seq >= size:
                raise Unprocessable(
                    "event_after_checkpoint",
                    f"event {event_id} is entry {seq}, logged after checkpoint {size}; "
                    f"ask for a larger size", seq=seq, size=size)
    if checkpoint is None or checkpoint.size <= seq:
        checkpoint = sign_now(database, key)
    # A fresh session: on SQLite the first one's snapshot may predate the new checkpoint.
    with database.read_session() as db:
        proof = inclusion_proof(db, seq, checkpoint.size)
    return {
        "format": "trace-inclusion-proof/v1",
        "log_id": checkpoint.log_id,
        "event_id": facts.of(event).event_id or event.event_id,
        "seq": seq,
        "leaf_index": seq,
        "tree_size": checkpoint.size,
        "content": event.content,
        "leaf_hash": b64(merkle.leaf_hash(event.content.encode("utf-8"))),
        "proof": [b64(h) for h in proof],
        "checkpoint": checkpoint.note(key),
    }


def consistency_bundle(database, key: LogKey, first: int, second: int) -> dict:
    """A consistency proof between two signed checkpoints, with both notes."""
    if first > second:
        raise Unprocessable("bad_sizes", "first must not be larger than second",
                            first=first, second=second)
    with database.read_session() as db:
        old = checkpoint_at(db, first)
        new = checkpoint_at(db, second)
        proof = consistency_proof(db, first, second)
    return {
        "format": "trace-consistency-proof/v1",
        "log_id": new.log_id,
        "first": first,
        "second": second,
        "proof": [b64(h) for h in proof],
        "first_checkpoint": old.note(key),
        "second_checkpoint": new.note(key),
    }


def count_entries(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ENTRIES))
