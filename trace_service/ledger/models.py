"""Tables of the append-only Merkle log (see ``trace_service.ledger.services``).

``ledger_entries``      seq -> event: leaf number ``seq`` of the log is ``events.content``
                        of row ``event_pk``; ``leaf_hash`` = SHA-256(0x00 || content bytes).
                        The leaf hashes are the level-0 nodes of the tree.
``ledger_nodes``        every complete aligned subtree of level >= 1 (``(level, index)`` covers
                        leaves ``[index * 2**level, (index + 1) * 2**level)``), written once
                        when its last leaf is appended: fewer than n rows for n leaves.
``ledger_head``         the single row ``id = 1``: current size, root and frontier (the
                        hashes of the complete subtrees of ``size``'s binary decomposition).
                        Appenders lock it (``SELECT ... FOR UPDATE``): it is the sequencer.
``ledger_checkpoints``  signed tree heads, one per size (see ``trace_service.ledger.notes``).
``ledger_cosignatures`` witnesses' cosignatures of checkpoints; ``ledger_witness_state`` the size
                        each witness last cosigned (``trace_service.ledger.witnesses``).

Rows are only ever inserted, except the head and the witness state, updated in place. All but
the checkpoints and cosignatures can be recomputed from ``events`` (``trace-service verify``
does).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String)
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime, utcnow

# INTEGER PRIMARY KEY on SQLite is the rowid (no separate index); BIGINT elsewhere.
Seq = BigInteger().with_variant(Integer(), "sqlite")

HEAD_ID = 1


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerNode(Base):
    __tablename__ = "ledger_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    log_id: Mapped[str] = mapped_column(String(200))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class LedgerCosignature(Base):
    """A witness's cosignature (C2SP ``cosignature/v1``) of the checkpoint at ``size``.

    Checked against the witness's configured key when received; ``line`` is the note
    signature line as the witness sent it, appended to the note when it is served. No
    foreign key to the checkpoint: a cosignature is evidence about the log that must
    survive whatever happens to the checkpoint row (``verify`` then reports the gap).
    """

    __tablename__ = "ledger_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(String(400))
    cosigned_at: Mapped[int] = mapped_column(BigInteger)  # the witness's Unix time
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerWitnessState(Base):
    """What the service knows of each witness: the size it last cosigned (the ``old`` of
    the next ``add-checkpoint``) and the last failure, for the operator."""

    __tablename__ = "ledger_witness_state"

    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    verifier_key: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
