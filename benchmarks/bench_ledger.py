"""The Merkle log: verify throughput, the cost of logging on event appends, proof latency.

    python -m benchmarks.bench_ledger [--leaves 1000000] [--runs 3] [--ingest 400]

1. A SQLite database (made by the real migrations) is filled with ``--leaves`` events of
   realistic canonical content (~500 bytes) by a bulk loader that inserts the event rows
   and sequences them with the log's own ``append_now``, 10,000 a transaction.
2. Verify throughput, same run, same bytes, median of ``--runs`` (interleaved):
   * ``verify_vs_sha256_ratio`` (the headline): SHA-256 of each logged content, in memory,
     against recomputing the log from the same bytes in memory (``merkle.root_of``: leaf
     hashes and the whole tree, chunk-wise as ``verify_log`` does). 1.0 would mean
     building the tree is free; the tree costs one 65-byte hash per leaf on top.
   * ``verify_db_vs_read_sha256_ratio``: end to end against the database. The baseline
     reads every logged content in sequence order and SHA-256es it; ``verify_log`` (what
     ``trace-service verify`` runs) reads the same rows plus every stored node, the head
     and the checkpoints, recomputes leaves and tree and compares everything.
3. Ingest: ``record_event`` + COMMIT with the log and with the log's append replaced by a
   no-op, alternating rounds in the same fresh database, on SQLite and (when reachable)
   PostgreSQL; one event a transaction (the worst case: every commit takes the head
   lock) and 50 a transaction (a scanner batch); median events/s of each and the
   fraction of throughput the log costs.
4. Proof latency at ``--leaves``: inclusion proofs (nodes read from the database) for
   random leaves against a checkpoint at the full size, the whole proof bundle
   (``inclusion_bundle``: lookup by event id, proof, signed note), and consistency proofs
   from random earlier sizes; p50 and p99.

Prints ``BENCH <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.common import bench, fresh_database, median, pg_available
from trace_service import migrate
from trace_service.auth.permissions import Actor
from trace_service.chain import events as chain_events
from trace_service.chain.models import Event
from trace_service.db import Database, utcnow
from trace_service.ledger import merkle
from trace_service.ledger import services as ledger
from trace_service.ledger.models import LedgerEntry
from trace_service.ledger.notes import LogKey, generate_private_pem, load_private_key
from trace_service.ledger.verify import gc_paused, verify_log

BATCH = 10_000
BATCH_TX = 50  # events a transaction in the batched ingest (a scanner upload batch)
IN_MEMORY = 262_144  # contents held in memory for the in-memory ratio


def _content(i: int, now: str) -> str:
    """Canonical content shaped like a logistics scan (~500 bytes); ``json.dumps`` with the
    canonical options (chain.events.canonical_json minus its type checks, for speed)."""
    return json.dumps({
        "v": 1, "event_id": str(uuid.UUID(int=i + 1, version=4)), "type": "ObjectEvent",
        "action": "OBSERVE", "biz_step": "arrive", "cbv_biz_step": "arriving",
        "disposition": "in_transit", "event_time": now, "event_time_zone_offset": "+08:00",
        "record_time": now, "keys": [f"00/{i:018d}"], "read_point": "pnt_0193b2c4d5e6f708",
        "party": "pty_0193b2c4d5e6f7089abc", "device": f"dev_0193b2c4d5e6f7{i % 97:04d}",
        "data": {"staff": f"stf_{i % 503:06d}", "scan_id": f"{i:032x}"},
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build_log(url: str, leaves: int) -> None:
    """Fill a migrated database with ``leaves`` logged events."""
    database = Database(url)
    now = chain_events.format_time(utcnow())
    stamp = utcnow()
    try:
        for start in range(0, leaves, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, leaves)):
                content = _content(i, now)
                event_id = str(uuid.UUID(int=i + 1, version=4))
                rows.append({"id": i + 1, "event_id": event_id, "biz_step": "arrive",
                             "event_time": stamp, "record_time": stamp, "content": content})
            with database.write_session() as db:
                db.execute(insert(Event), rows)
                ledger.append_now(db, [(r["id"], r["content"]) for r in rows])
                db.commit()
    finally:
        database.dispose()


def _timed(fn, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return median(times), result


def bench_verify(url: str, key: LogKey, leaves: int, runs: int) -> None:
    database = Database(url)

    def baseline():  # same conditions as verify (GC paused too)
        with database.read_session() as db, gc_paused():
            conn = db.connection().execution_options(yield_per=BATCH)
            rows = conn.execute(select(Event.content).join(
                LedgerEntry, LedgerEntry.event_pk == Event.id).order_by(LedgerEntry.seq))
            sha256 = hashlib.sha256
            for (content,) in rows:
                sha256(content.encode("utf-8")).digest()

    def verify():  # as `trace-service verify` runs it
        with database.read_session() as db, gc_paused():
            report = verify_log(db, key)
        assert report.ok, [str(p) for p in report.problems[:3]]
        return report

    base_times, verify_times = [], []
    for _ in range(runs):  # interleaved, so drift affects both alike
        base_times.append(_timed(baseline, 1)[0])
        verify_times.append(_timed(verify, 1)[0])
    base, full = median(base_times), median(verify_times)
    bench("verify_db_events_per_s", leaves / full, "events/s")
    bench("read_sha256_db_events_per_s", leaves / base, "events/s")
    bench("verify_db_vs_read_sha256_ratio", base / full, "ratio")

    with database.read_session() as db:  # the first IN_MEMORY contents (ratio, not size)
        contents = [c.encode("utf-8") for (c,) in db.execute(
            select(Event.content).join(LedgerEntry, LedgerEntry.event_pk == Event.id)
            .order_by(LedgerEntry.seq).limit(IN_MEMORY))]
    database.dispose()

    def plain():
        sha256 = hashlib.sha256
        for data in contents:
            sha256(data).digest()

    def tree():
        return merkle.root_of(contents)

    plain_times, tree_times = [], []
    for _ in range(runs):
        plain_times.append(_timed(plain, 1)[0])
        tree_times.append(_timed(tree, 1)[0])
    bench("verify_tree_events_per_s", len(contents) / median(tree_times), "events/s")
    bench("sha256_events_per_s", len(contents) / median(plain_times), "events/s")
    bench("verify_vs_sha256_ratio", median(plain_times) / median(tree_times), "ratio")


@contextmanager
def log_disabled():
    original = ledger.append
    ledger.append = lambda db, items: None
    try:
        yield
    finally:
        ledger.append = original


def bench_ingest(kind: str, workdir: Path, events: int, runs: int) -> None:
    url, cleanup = fresh_database(kind, workdir)
    try:
        migrate.upgrade(url)
        database = Database(url)
        actor = Actor(key_id="bench", role="admin")

        def round_(n, per_tx):
            start = time.perf_counter()
            for t in range(0, n, per_tx):
                with database.write_session() as db:
                    for i in range(t, t + per_tx):
                        chain_events.record_event(db, biz_step="arrive",
                                                  disposition="in_transit", actor=actor,
                                                  keys=[], data={"i": str(i)})
                    db.commit()
            return n / (time.perf_counter() - start)

        for per_tx, name in ((1, ""), (BATCH_TX, f"_batch{BATCH_TX}")):
            round_(per_tx * 20, per_tx)  # warm up
            with_log, without = [], []
            n = events if per_tx == 1 else events * 5
            for _ in range(runs):
                with_log.append(round_(n, per_tx))
                with log_disabled():
                    without.append(round_(n, per_tx))
            bench(f"ingest_{kind}{name}_with_log", median(with_log), "events/s")
            bench(f"ingest_{kind}{name}_without_log", median(without), "events/s")
            bench(f"ingest_{kind}{name}_log_cost", 1 - median(with_log) / median(without),
                  "fraction")
        database.dispose()
    finally:
        cleanup()


def _percentiles(samples):
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000)


def bench_proofs(url: str, key: LogKey, size: int, samples: int) -> None:
    database = Database(url)
    checkpoint = ledger.sign_now(database, key)
    assert checkpoint.size == size
    rng = random.Random(7)
    inclusion, bundles, consistency = [], [], []
    with database.read_session() as db:
        for _ in range(samples):
            seq = rng.randrange(size)
            start = time.perf_counter()
            proof = ledger.inclusion_proof(db, seq, size)
            inclusion.append(time.perf_counter() - start)
            assert len(proof) <= 20
        for _ in range(samples):
            first = rng.randrange(1, size)
            start = time.perf_counter()
            ledger.consistency_proof(db, first, size)
            consistency.append(time.perf_counter() - start)
    with database.read_session() as db:
        event_ids = [db.scalar(select(Event.event_id).join(
            LedgerEntry, LedgerEntry.event_pk == Event.id).where(
            LedgerEntry.seq == rng.randrange(size))) for _ in range(samples)]
    for event_id in event_ids:
        start = time.perf_counter()
        ledger.inclusion_bundle(database, key, event_id, size)
        bundles.append(time.perf_counter() - start)
    database.dispose()
    for name, values in (("inclusion_proof", inclusion), ("proof_bundle", bundles),
                         ("consistency_proof", consistency)):
        p50, p99 = _percentiles(values)
        bench(f"{name}_p50_at_{size}", p50, "ms")
        bench(f"{name}_p99_at_{size}", p99, "ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ingest", type=int, default=400, help="events per ingest round")
    parser.add_argument("--ingest-runs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed")
    args = parser.parse_args(argv)
    key = LogKey("bench.invalid/log", load_private_key(generate_private_pem()))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        url = f"sqlite:///{workdir / 'log.sqlite3'}"
        migrate.upgrade(url)
        build_log(url, args.leaves)
        built = time.perf_counter() - started
        bench(f"bulk_load_{args.leaves}_events", args.leaves / built, "events/s")
        bench_verify(url, key, args.leaves, args.runs)
        bench_proofs(url, key, args.leaves, args.samples)
        bench_ingest("sqlite", workdir, args.ingest, args.ingest_runs)
        if pg_available():
            bench_ingest("postgresql", workdir, args.ingest, args.ingest_runs)
        else:
            print("PostgreSQL unreachable: ingest on PostgreSQL skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
