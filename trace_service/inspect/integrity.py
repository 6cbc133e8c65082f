"""Integrity status of events: each one's inclusion proof checked against the newest signed
checkpoint, and proof bundles for evidence exports.

Everything runs in the caller's session, so a trail page and its integrity status are
read in one transaction. When the log holds events no checkpoint covers yet, a fresh
checkpoint is signed first: on SQLite inside the request's own write transaction (which
already holds the database write lock), on PostgreSQL in a short transaction of its own
(so the log's head row is not locked for the rest of the request).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.chain import facts
from trace_service.chain.models import Event
from trace_service.db import get_db
from trace_service.ledger import merkle, settings, witnesses
from trace_service.ledger import services as ledger
from trace_service.ledger.models import LedgerEntry
from trace_service.ledger.notes import LogKey

VERIFIED, PENDING, FAILED, NOT_LOGGED = "verified", "pending", "failed", "not_logged"


def log_key(app=None) -> LogKey:
    return settings.log_key(app or current_app)


def fresh_checkpoint(db: Session, key: LogKey) -> ledger.Checkpoint | None:
    """The newest checkpoint, signed now if the log grew past it; None for an empty log."""
    latest = ledger.newest_checkpoint(db)
    size, _root = ledger.head(db)
    if size == 0:
        return latest
    if latest is not None and latest.size >= size:
        return latest
    if db.get_bind().dialect.name == "sqlite":
        return ledger.issue_checkpoint(db, key)
    return ledger.sign_now(get_db(), key)


def witnesses_of(size: int | None) -> int:
    """How many independent witnesses cosigned the checkpoint of ``size`` (0 for None):
    each one vouches that this checkpoint extends every one it cosigned before, so the
    log shown cannot be a fork it was not shown (docs/integrity.md, Witnesses)."""
    if size is None:
        return 0
    with get_db().read_session() as db:
        return witnesses.count_cosignatures(db, size)


@dataclass
class Status:
    status: str
    seq: int | None = None
    tree_size: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def check_events(db: Session, key: LogKey, checkpoint, events: list[Event]) -> dict[int, Status]:
    """{events.id: Status}: each event's stored content hashed and its audit path
    recomputed up to the checkpoint's root; the checkpoint's own signature checked."""
    if not events:
        return {}
    entries = {pk: (seq, leaf) for pk, seq, leaf in db.execute(
        select(LedgerEntry.event_pk, LedgerEntry.seq, LedgerEntry.leaf_hash)
        .where(LedgerEntry.event_pk.in_([e.id for e in events])))}
    signed = checkpoint is not None and key.verify(checkpoint.body, checkpoint.signature)
    out = {}
    for event in events:
        entry = entries.get(event.id)
        if entry is None:
            out[event.id] = Status(NOT_LOGGED, reason="the event is not in the log")
            continue
        seq, stored_leaf = entry
        if checkpoint is None or seq >= checkpoint.size:
            out[event.id] = Status(PENDING, seq=seq,
                                   reason="logged after the newest signed checkpoint")
            continue
        if not signed:
            out[event.id] = Status(FAILED, seq=seq, tree_size=checkpoint.size,
                                   reason="the checkpoint's signature is not valid")
            continue
        out[event.id] = _check_one(db, event, seq, stored_leaf, checkpoint)
    return out


def _check_one(db: Session, event: Event, seq: int, stored_leaf: bytes, checkpoint) -> Status:
    leaf = merkle.leaf_hash(event.content.encode("utf-8"))
    try:
        proof = ledger.inclusion_proof(db, seq, checkpoint.size)
    except ledger.LogCorrupt as exc:
        return Status(FAILED, seq=seq, tree_size=checkpoint.size, reason=str(exc))
    if leaf != stored_leaf:
        return Status(FAILED, seq=seq, tree_size=checkpoint.size,
                      reason="the event's content changed after it was logged")
    if not merkle.verify_inclusion(seq, checkpoint.size, leaf, proof, checkpoint.root_hash):
        return Status(FAILED, seq=seq, tree_size=checkpoint.size,
                      reason="the audit path does not lead to the checkpoint's root")
    return Status(VERIFIED, seq=seq, tree_size=checkpoint.size)


def proof_bundle(db: Session, key: LogKey, checkpoint, event: Event, seq: int) -> dict:
    """The ``trace-inclusion-proof/v1`` bundle of one event (the format of
    ``GET /api/v1/log/proofs/inclusion``, checked by ``trace-scan verify``)."""
    proof = ledger.inclusion_proof(db, seq, checkpoint.size)
    return {
        "format": "trace-inclusion-proof/v1",
        "log_id": checkpoint.log_id,
        "event_id": facts.of(event).event_id,
        "seq": seq,
        "leaf_index": seq,
        "tree_size": checkpoint.size,
        "content": event.content,
        "leaf_hash": base64.b64encode(merkle.leaf_hash(event.content.encode("utf-8"))).decode(),
        "proof": [base64.b64encode(h).decode() for h in proof],
        "checkpoint": checkpoint.note(key),
    }


def public_key_document(key: LogKey) -> dict:
    """The same document as ``GET /api/v1/log/public-key``."""
    return {"log_id": key.name, "algorithm": "ed25519", "key_id": key.key_id_for().hex(),
            "public_key": base64.b64encode(key.public_bytes).decode(),
            "public_key_pem": key.public_pem, "verifier_key": key.verifier_key}
