"""Sequencing: every committed event gets the next number, with no gap or duplicate, even
when many writers commit at once (PostgreSQL runs them truly in parallel)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.chain.flows import drug_code, sell
from tests.chain.test_concurrency import race
from tests.ledger.conftest import entries
from trace_service.auth.permissions import Actor
from trace_service.chain.events import record_event
from trace_service.chain.models import Event
from trace_service.ledger import merkle
from trace_service.ledger.models import LedgerEntry
from trace_service.ledger.verify import verify_log
from trace_service.ledger.settings import log_key

WRITERS = 8
TRANSACTIONS = 12


def test_every_event_recorded_through_the_api_is_logged_once_in_order(world, sql, app):
    log = entries(sql)
    (count,) = sql("SELECT count(*) FROM events")[0]
    assert [seq for seq, _pk, _e in log] == list(range(count))
    assert len({pk for _s, pk, _e in log}) == count
    contents = [c for (c,) in sql("SELECT e.content FROM ledger_entries l JOIN events e "
                                  "ON e.id = l.event_pk ORDER BY l.seq")]
    frontier = []
    for i, content in enumerate(contents):
        merkle.append_leaf(frontier, i, merkle.leaf_hash(content.encode()))
    (size, root) = sql("SELECT size, root_hash FROM ledger_head")[0]
    assert (size, bytes(root)) == (count, merkle.root_from_frontier(frontier))


def test_a_rolled_back_transaction_leaves_no_entry_and_no_gap(world, sql, app):
    database = app.extensions["trace_db"]
    actor = Actor(key_id="test", role="admin")
    before = entries(sql)
    with database.write_session() as db:
        record_event(db, biz_step="listing", disposition="active", actor=actor, keys=[])
        db.rollback()
    with database.write_session() as db:
        record_event(db, biz_step="listing", disposition="active", actor=actor, keys=[])
        # closed without commit: rolled back
    assert entries(sql) == before
    with database.write_session() as db:
        kept = record_event(db, biz_step="delisting", disposition="inactive", actor=actor,
                            keys=[]).event_id
        db.commit()
    assert entries(sql)[-1][0::2] == (len(before), kept)


def test_events_of_a_rolled_back_savepoint_are_not_logged(world, sql, app):
    database = app.extensions["trace_db"]
    actor = Actor(key_id="test", role="admin")
    before = entries(sql)
    with database.write_session() as db:
        kept = record_event(db, biz_step="listing", disposition="active", actor=actor,
                            keys=[]).event_id
        savepoint = db.begin_nested()
        record_event(db, biz_step="listing", disposition="active", actor=actor, keys=[])
        savepoint.rollback()
        with db.begin_nested():
            also = record_event(db, biz_step="delisting", disposition="inactive", actor=actor,
                                keys=[]).event_id
        db.commit()
    after = entries(sql)
    assert [e[2] for e in after[len(before):]] == [kept, also]
    assert [e[0] for e in after] == list(range(len(after)))


def test_concurrent_writers_get_sequence_numbers_without_gaps_or_duplicates(world, app):
    database = app.extensions["trace_db"]
    actor = Actor(key_id="test", role="admin")
    barrier = threading.Barrier(WRITERS)
    errors = []

    def writer(w):
        try:
            barrier.wait()
            for t in range(TRANSACTIONS):
                with database.write_session() as db:
                    for _ in range(1 + (w + t) % 3):  # one to three events a transaction
                        record_event(db, biz_step="listing", disposition="active", actor=actor,
                                     keys=[], data={"writer": str(w), "tx": str(t)})
                    db.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    with database.read_session() as db:
        seqs = db.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
        events = db.scalar(select(func.count()).select_from(Event))
        logged = db.scalar(select(func.count(func.distinct(LedgerEntry.event_pk))))
        report = verify_log(db, log_key(app))
    assert seqs == list(range(events))
    assert logged == events
    assert report.ok, [str(p) for p in report.problems]


def test_concurrent_sales_through_the_api_are_all_logged(world, app, sql):
    from tests.world import DRUG

    units = [drug_code(n) for n in (1, 2, 3)] + [f"01/0{DRUG}/21/S{n}" for n in (1, 2, 3)]

    def attempt(caller, i):
        return sell(world, caller, order_no=f"SEQ-{i}", buyer={"external_ref": f"b{i}"},
                    lines=[{"listing_id": world.ids["drug_listing"], "key": units[i]}])

    responses = race(app, world, attempt, count=len(units))
    assert [r.status_code for r in responses] == [201] * len(units)
    log = entries(sql)
    assert [seq for seq, _pk, _e in log] == list(range(len(log)))
    (count,) = sql("SELECT count(*) FROM events")[0]
    assert len(log) == count
