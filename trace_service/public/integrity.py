"""The integrity badge: are the steps a page shows in the signed, append-only log?

For the events shown, server-side: find their leaf numbers, check the newest checkpoint's
Ed25519 signature, fetch the Merkle nodes of all their inclusion proofs in one go, recompute
each leaf hash from the stored content and verify each proof against the checkpoint's root
(RFC 6962). If a shown event is newer than the newest checkpoint, a checkpoint is signed
first, as ``/api/v1/log/proofs/inclusion`` does, so a consumer never waits for the
checkpoint interval. The newest checkpoint and its signature check are remembered for the
cache period, so a page usually costs three indexed queries here, in the page's session.

Result: ``{"status": "verified" | "failed" | "incomplete" | "none", "checkpoint": size,
"signed_at", "count", "missing"}``.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.ledger import merkle
from trace_service.ledger import services as ledger
from trace_service.ledger import settings as ledger_settings
from trace_service.ledger import witnesses
from trace_service.public.cache import TTLCache

log = logging.getLogger("trace_service.public")


def badge(app, database, db: Session, events: list[tuple[int, str]],
          cache: TTLCache | None = None) -> dict:
    """Verify ``(events.id, content)`` pairs against the newest checkpoint; ``db`` is the
    page's read session."""
    if not events:
        return {"status": "none", "count": 0}
    cache = cache or TTLCache(0)
    key = ledger_settings.log_key(app)
    pks = [pk for pk, _ in events]
    seqs = dict(db.execute(select(ledger.ENTRIES.c.event_pk, ledger.ENTRIES.c.seq)
                           .where(ledger.ENTRIES.c.event_pk.in_(pks))).all())
    newest_seq = max(seqs.values(), default=-1)
    checkpoint = cache.get(("checkpoint",))
    if checkpoint is None or checkpoint.size <= newest_seq:
        checkpoint = ledger.newest_checkpoint(db)
    fresh = False
    if checkpoint is None or checkpoint.size <= newest_seq:
        checkpoint, fresh = ledger.sign_now(database, key), True
    cache.put(("checkpoint",), checkpoint)
    out = {"checkpoint": checkpoint.size, "signed_at": checkpoint.issued_at,
           "count": len(events), "missing": len(events) - len(seqs),
           # Independent witnesses that cosigned this checkpoint (ledger.witnesses): read
           # each time, as cosignatures arrive after the checkpoint is signed.
           "witnesses": witnesses.count_cosignatures(db, checkpoint.size)}
    signed = cache.get(("signed", checkpoint.size, checkpoint.signature))
    if signed is None:
        signed = key.verify(checkpoint.body, checkpoint.signature)
        cache.put(("signed", checkpoint.size, checkpoint.signature), signed)
    if not signed:
        log.error("checkpoint %s does not verify under the log key", checkpoint.size)
        return dict(out, status="failed")
    ranges = {pk: merkle.inclusion_ranges(seqs[pk], checkpoint.size) for pk in seqs}
    needed = merkle.needed_nodes(r for rs in ranges.values() for r in rs)
    try:
        if fresh:  # our snapshot may predate the entries the new checkpoint covers
            with database.read_session() as fresh_db:
                nodes = fetch_nodes(fresh_db, needed)
        else:
            nodes = fetch_nodes(db, needed)
    except ledger.LogCorrupt:
        log.exception("log nodes missing while verifying a public page")
        return dict(out, status="failed")
    for pk, content in events:
        if pk not in seqs:
            continue
        proof = merkle.hashes_for(ranges[pk], nodes)
        if not merkle.verify_inclusion(seqs[pk], checkpoint.size,
                                       merkle.leaf_hash(content.encode("utf-8")), proof,
                                       checkpoint.root_hash):
            log.error("event %s fails its inclusion proof at size %s", pk, checkpoint.size)
            return dict(out, status="failed")
    return dict(out, status="incomplete" if out["missing"] else "verified")


def fetch_nodes(db: Session, nodes: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Stored hashes of ``nodes``: leaves from the entries, inner nodes grouped by level
    (``level = L AND index IN (...)``: a short statement the primary key serves).

    The SQL is written out with the integers themselves (nothing else goes into it): the
    shape changes with every set of proofs, so SQLAlchemy's statement cache could not help
    and compiling the expression would cost more than the database takes to answer.
    """
    found: dict[merkle.Node, bytes] = {}
    leaves = sorted({int(i) for level, i in nodes if level == 0})
    by_level: dict[int, set[int]] = defaultdict(set)
    for level, index in nodes:
        if level:
            by_level[int(level)].add(int(index))
    conn = db.connection()
    if leaves:
        rows = conn.exec_driver_sql(
            "SELECT seq, leaf_hash FROM ledger_entries WHERE seq IN (%s)"
            % ",".join(map(str, leaves)))
        found.update(((0, seq), bytes(h)) for seq, h in rows)
    if by_level:
        where = " OR ".join(
            '(level = %d AND "index" IN (%s))' % (level, ",".join(map(str, sorted(ix))))
            for level, ix in sorted(by_level.items()))
        rows = conn.exec_driver_sql('SELECT level, "index", hash FROM ledger_nodes WHERE '
                                    + where)
        found.update(((level, index), bytes(h)) for level, index, h in rows)
    missing = nodes - found.keys()
    if missing:
        raise ledger.LogCorrupt(f"the stored tree lacks nodes {sorted(missing)[:5]}")
    return found
