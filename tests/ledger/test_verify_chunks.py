"""verify_log works a chunk of entries at a time; the chunk size must not change a verdict."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, text

from tests.ledger.test_merkle import mth
from trace_service.chain.models import Event
from trace_service.ledger.services import append_now, issue_checkpoint
from trace_service.ledger.settings import log_key
from trace_service.ledger.verify import verify_log

SIZES = (0, 5, 8, 16, 23, 32, 45)  # checkpoints are signed at each


NOW = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone.utc)


def content(i: int) -> str:
    """A minimal event whose indexed columns (below) agree with it, as verify checks."""
    return (f'{{"biz_step":"arrive","event_id":"e{i:04d}",'
            f'"event_time":"2026-12-01T08:30:00.000Z","n":{i},'
            f'"record_time":"2026-12-01T08:30:00.000Z","v":1}}')


@pytest.fixture
def log(app):
    """45 logged events with checkpoints at SIZES, written by the log's own append."""
    database = app.extensions["trace_db"]
    now = NOW
    key = log_key(app)
    done = 0
    for size in SIZES:
        with database.write_session() as db:
            if size > done:
                rows = [{"event_id": f"e{i:04d}", "biz_step": "arrive", "event_time": now,
                         "record_time": now, "content": content(i)} for i in range(done, size)]
                db.execute(insert(Event), rows)
                pks = dict(db.execute(text("SELECT event_id, id FROM events")).all())
                append_now(db, [(pks[f"e{i:04d}"], content(i)) for i in range(done, size)])
            issue_checkpoint(db, key)
            db.commit()
        done = size
    return database


def verdicts(app, database):
    """Per chunk level: size, root, the first problem, the kinds of problems and every
    problem but node ones (a damaged tree yields many; only the first 20 are listed, and
    which 20 depends on the order they are met in)."""
    out = {}
    for chunk_level in (1, 2, 3, 4, 13):
        with database.read_session() as db:
            report = verify_log(db, log_key(app), chunk_level=chunk_level)
        problems = report.sorted_problems()
        out[chunk_level] = (report.size, report.root, str(report.first),
                            sorted({p.kind for p in problems}),
                            [str(p) for p in problems if p.kind != "node"])
    return out


def run(database, *statements):
    with database.engine.begin() as conn:
        for statement, params in statements:
            conn.execute(text(statement), params)


def pk_of(database, i):
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT id FROM events WHERE event_id = :e"),
                            {"e": f"e{i:04d}"}).scalar()


TAMPERING = {
    "untouched": lambda db: None,
    "content of entry 17 changed": lambda db: run(db, (
        "UPDATE events SET content = :c WHERE event_id = 'e0017'", {"c": content(17) + " "})),
    "entry 9 deleted": lambda db: run(db, (
        "DELETE FROM ledger_entries WHERE seq = 9", {})),
    "stored node of level 2 changed": lambda db: run(db, (
        'UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND "index" = 5', {"h": bytes(32)})),
    "stored node of level 4 removed": lambda db: run(db, (
        'DELETE FROM ledger_nodes WHERE level = 4 AND "index" = 1', {})),
    "a node beyond the log": lambda db: run(db, (
        'INSERT INTO ledger_nodes (level, "index", hash) VALUES (1, 40, :h)', {"h": bytes(32)})),
    "tail of 6 cut off": lambda db: run(db, (
        "DELETE FROM ledger_entries WHERE seq >= 39", {})),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_every_chunk_size_gives_the_same_verdict(app, log, tampering):
    TAMPERING[tampering](log)
    seen = verdicts(app, log)
    assert len({repr(v) for v in seen.values()}) == 1, seen
    size, root, first, _kinds, _others = seen[13]
    if tampering == "untouched":
        assert first == "None" and size == 45
        assert root == mth(tuple(content(i).encode() for i in range(45)))
    else:
        assert first != "None", tampering
