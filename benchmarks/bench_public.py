"""The consumer page and its JSON form through the production server, at 1M events.

    python -m benchmarks.bench_public [--events 1000000] [--runs 3] [--seconds 5]
                                      [--connections 8] [--db postgresql|sqlite]

1. A fresh database (PostgreSQL when reachable, the production engine; else SQLite) is
   migrated and seeded with the demo scenario through the real services, then filled with
   ``--events`` filler events (~400 bytes of canonical content each) by a bulk loader:
   explicit ids, one INSERT per table per batch of 20,000, and the Merkle log's own
   ``append_now`` so the log holds every event (the integrity badge's proofs are then as
   deep as at 1M events). The filler events are the journeys of 100,000 serialised packs
   of the demo drug (10 steps each).
2. ``trace-service serve`` (gunicorn, 2 workers x 4 threads, as in production) serves it.
   Rate limits are raised out of the way (the limiter still runs on every request).
3. For each route, ``--connections`` keep-alive clients send requests for ``--seconds``
   per run, in one-second slices, the routes taking turns slice by slice (so a change in
   the machine's load hits every route alike); ``--runs`` runs:
   * ``trivial``  ``GET /healthz`` (no database): the baseline of the same server and run;
   * ``page_html`` the unit page of demo pack SN0001 (Digital Link, 7 journey steps,
     maker, seller and licences, integrity badge, consumer checks), as a phone gets it;
   * ``page_json`` the same page with ``Accept: application/json``;
   * ``page_html_new_visitors`` the HTML page where every request is another phone (its
     own address via X-Forwarded-For), so every request also records a consumer check —
     one INSERT in a transaction of its own;
   * ``page_html_cold`` every request the page of another filler pack nobody looked at
     before (10 journey steps at three cities): no page cache can help, the facts are read
     (the key, its events; businesses and points come from the per-process directory),
     the inclusion proofs of its steps verified, the page rendered and the check recorded.
     This is what a real scan costs, since each pack is usually scanned once.
   The pages are cached per process for 5 s, as in production
   (``TRACE_PUBLIC_CACHE_SECONDS``; see trace_service/public/cache.py); a second server run
   measures the same routes with the cache off (``_nocache`` lines: every request reads
   the facts, verifies the integrity proofs and renders the page), unless ``--cache-only``.
4. Prints ``BENCH`` lines: req/s, p50 and p99 latency (ms) of each route, and each page's
   ratio of req/s to the trivial route (target >= 0.6), medians over the runs.

The load generator runs on the same machine (Python threads, http.client): on a small
machine it competes with the server for CPU, which lowers absolute figures for every route
alike; the ratios are the comparable figure.
"""

from __future__ import annotations

import argparse
import http.client
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, text

from benchmarks.common import Server, bench, fresh_database, median, pg_available
from trace_service import create_app, migrate
from trace_service.chain import events as chain_events
from trace_service.chain.models import Event, EventKey, TraceKey
from trace_service.db import Database, utcnow
from trace_service.demo import seed
from trace_service.ledger import services as ledger

BATCH = 20_000
EVENTS_PER_KEY = 10
PAGE = "/01/06909876543212/10/B2611007/21/SN0001"
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "Mobile/15E148")


# --- data ---------------------------------------------------------------------------------


STEPS = (("commissioning", "maker", None), ("sale", "shop", None), ("packing", "shop", None),
         ("dispatch", "carrier", None), ("depart", "carrier", "Shanghai"),
         ("arrive", "carrier", "Hangzhou"), ("depart", "carrier", "Hangzhou"),
         ("arrive", "carrier", "Beijing"), ("depart", "carrier", "Beijing"),
         ("receipt", "carrier", "Beijing"))
GTIN = "06909876543212"


def filler_serial(n: int) -> str:
    return f"F{n:07d}"


def _content(event_id: str, key: str, step: str, when: str, party: str | None,
             point: str | None) -> str:
    return chain_events.canonical_json(chain_events._drop_empty({
        "v": 1, "event_id": event_id, "type": "ObjectEvent", "action": "OBSERVE",
        "biz_step": step, "cbv_biz_step": chain_events.BIZ_STEPS[step],
        "disposition": "in_transit", "event_time": when, "event_time_zone_offset": "+08:00",
        "record_time": when, "keys": [key], "read_point": point, "party": party,
        "biz_transactions": {"order": "ord_0193b2c4d5e6f7089abcdef0123456"},
    }))


def fill(url: str, events: int) -> float:
    """Add ``events`` filler events: serialised packs of the demo drug (lot B2611007), each
    with the ten steps of a real journey (commissioning, sale, packing, dispatch, scans at
    three cities, receipt) by the demo's businesses at the demo's points, and their keys,
    links and log entries. Returns the seconds taken."""
    from trace_service.catalog.models import Lot, Product
    from trace_service.parties.models import LogisticsPoint, Party

    started = time.perf_counter()
    database = Database(url)
    stamp = utcnow()
    when = chain_events.format_time(stamp)
    with database.read_session() as db:
        next_event = (db.scalar(select(func.max(Event.id))) or 0) + 1
        next_key = (db.scalar(select(func.max(TraceKey.id))) or 0) + 1
        lot_id = db.scalar(select(Lot.id).where(Lot.gtin == GTIN, Lot.lot == "B2611007"))
        who = {"maker": db.scalar(select(Product.maker_id).where(Product.gtin == GTIN)),
               "shop": db.scalar(select(Party.id).where(
                   Party.credit_code == "91310000MA1FL4TD9G")),
               "carrier": db.scalar(select(Party.id).where(Party.kind == "carrier"))}
        where = dict(db.execute(select(LogisticsPoint.city, LogisticsPoint.id)).all())
    n_keys = max(1, events // len(STEPS))
    with database.write_session() as db:
        rows = [{"id": next_key + i, "kind": "unit", "key": f"01/{GTIN}/21/{filler_serial(i)}",
                 "gtin": GTIN, "lot_id": lot_id, "state": "delivered", "owner_id": who["shop"],
                 "updated_at": stamp} for i in range(n_keys)]
        for j in range(0, len(rows), BATCH):
            db.execute(insert(TraceKey.__table__), rows[j:j + BATCH])
        db.commit()
    done = 0
    while done < events:
        size = min(BATCH, events - done)
        ev, links = [], []
        for i in range(done, done + size):
            unit, step_no = divmod(i, len(STEPS))
            unit %= n_keys
            step, party, city = STEPS[step_no]
            event_id = str(uuid.UUID(int=(1 << 100) + i, version=4))
            key = f"01/{GTIN}/21/{filler_serial(unit)}"
            ev.append({"id": next_event + i, "event_id": event_id, "biz_step": step,
                       "event_time": stamp, "record_time": stamp, "party_id": who[party],
                       "point_id": where.get(city),
                       "content": _content(event_id, key, step, when, who[party],
                                           where.get(city))})
            links.append({"trace_key_id": next_key + unit, "event_id": next_event + i,
                          "role": "subject"})
        with database.write_session() as db:
            db.execute(insert(Event.__table__), ev)
            db.execute(insert(EventKey.__table__), links)
            ledger.append_now(db, [(r["id"], r["content"]) for r in ev])
            db.commit()
        done += size
        if done % 200_000 == 0 or done == events:
            print(f"# filled {done:,} events ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            for table in ("events", "trace_keys"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        with database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    else:
        with database.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    database.dispose()
    return time.perf_counter() - started


# --- load -----------------------------------------------------------------------------------


def load(base: str, path, headers: dict, seconds: float, connections: int,
         new_visitors: bool = False) -> tuple[float, list[float]]:
    """Keep-alive clients hammer ``path`` (a string, or a function giving the next path)
    for ``seconds``: (req/s, latencies in s)."""
    host, port = base.split("//", 1)[1].split(":")
    stop = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors: list[str] = []
    counter = iter(range(10**9))
    lock = threading.Lock()

    def client(n: int):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = latencies[n]
        while time.perf_counter() < stop:
            h = dict(headers)
            if new_visitors:
                with lock:
                    k = next(counter)
                h["X-Forwarded-For"] = f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}"
            target = path() if callable(path) else path
            t0 = time.perf_counter()
            try:
                conn.request("GET", target, headers=h)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                errors.append(str(response.status))
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests on {path}, e.g. {errors[:3]}")
    flat = [x for per in latencies for x in per]
    return len(flat) / elapsed, flat


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class ColdSerials:
    """Each call: the page of a filler pack nobody looked at yet (thread-safe)."""

    def __init__(self):
        self._next = iter(range(10**9))
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            n = next(self._next)
        return f"/01/{GTIN}/10/B2611007/21/{filler_serial(n)}"


COLD = ColdSerials()

ROUTES = {
    "trivial": ("/healthz", {"User-Agent": PHONE_UA}, False),
    "page_html": (PAGE, {"User-Agent": PHONE_UA, "Accept-Language": "zh-CN",
                         "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, False),
    "page_json": (PAGE, {"User-Agent": PHONE_UA, "Accept": "application/json"}, False),
    "page_html_new_visitors": (PAGE, {"User-Agent": PHONE_UA, "Accept-Language": "zh-CN",
                                      "Accept": "text/html,*/*;q=0.8"}, True),
    "page_html_cold": (COLD, {"User-Agent": PHONE_UA, "Accept-Language": "zh-CN",
                              "Accept": "text/html,*/*;q=0.8"}, False),
}


def measure(server: Server, args) -> dict[str, list[tuple[float, float, float]]]:
    """Each run gives every route ``--seconds`` in slices of one second, the routes taking
    turns slice by slice, so that a change in the machine's load (other processes) hits all
    routes alike and cancels out of the ratios."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ROUTES}
    for name, (path, headers, new) in ROUTES.items():  # warm up every route and worker
        load(server.base, path, headers, 1.0, args.connections, new)
    slices = max(1, round(args.seconds))
    for run in range(args.runs):
        done = {name: [0, 0.0, []] for name in ROUTES}  # requests, seconds, latencies
        for n in range(slices):
            names = list(ROUTES) if (run + n) % 2 == 0 else list(reversed(ROUTES))
            for name in names:
                path, headers, new = ROUTES[name]
                rps, lat = load(server.base, path, headers, args.seconds / slices,
                                args.connections, new)
                done[name][0] += len(lat)
                done[name][1] += len(lat) / rps if rps else 0.0
                done[name][2].extend(lat)
        for name, (count, seconds, lat) in done.items():
            rps = count / seconds
            results[name].append((rps, percentile(lat, 0.5) * 1000,
                                  percentile(lat, 0.99) * 1000))
            print(f"# run {run + 1} {name}: {rps:.0f} req/s, p50 "
                  f"{percentile(lat, 0.5) * 1000:.2f} ms, p99 "
                  f"{percentile(lat, 0.99) * 1000:.2f} ms", flush=True)
    return results


def report(results, suffix: str) -> None:
    trivial = results["trivial"]
    for name, runs in results.items():
        bench(f"public_{name}{suffix}_rps", median(r[0] for r in runs), "req/s")
        bench(f"public_{name}{suffix}_p50", median(r[1] for r in runs), "ms")
        bench(f"public_{name}{suffix}_p99", median(r[2] for r in runs), "ms")
        if name != "trivial":
            ratios = [r[0] / t[0] for r, t in zip(runs, trivial)]
            bench(f"public_{name}{suffix}_vs_trivial_ratio", median(ratios), "ratio")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--db", default="postgresql" if pg_available() else "sqlite")
    parser.add_argument("--cache-only", action="store_true",
                        help="skip the second server run with the page cache switched off")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = fresh_database(args.db, workdir)
        try:
            migrate.upgrade(url)
            instance = workdir / "instance"
            app = create_app({"DATABASE_URL": url}, instance_path=str(instance))
            with app.app_context():
                seed(app)
            app.extensions["trace_db"].dispose()
            seconds = fill(url, args.events)
            database = Database(url)
            with database.read_session() as db:
                total = db.scalar(select(func.count()).select_from(Event))
                logged = ledger.count_entries(db)
            database.dispose()
            print(f"# {args.db}: {total:,} events, {logged:,} in the log, filled in "
                  f"{seconds:.0f} s", flush=True)
            bench(f"public_events_in_database_{args.db}", total, "events")
            configs = [("", "5")] + ([] if args.cache_only else [("_nocache", "0")])
            for suffix, cache in configs:
                os.environ.update(TRACE_PUBLIC_PAGES_PER_MINUTE="100000000",
                                  TRACE_PUBLIC_TRUSTED_PROXIES="1",
                                  TRACE_PUBLIC_CACHE_SECONDS=cache)
                server = Server(url, instance)
                try:
                    results = measure(server, args)
                finally:
                    server.stop()
                report(results, f"_{args.db}{suffix}")
        finally:
            drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
