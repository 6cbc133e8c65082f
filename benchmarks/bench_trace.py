"""Trace forward from a lot sold in 100,000 orders, on SQLite and PostgreSQL.

    python -m benchmarks.bench_trace [--orders 100000] [--noise 100000] [--runs 5] [--quick]

1. A fresh database (made by the real migrations) gets, by bulk Core inserts (not the
   HTTP API, which would take an hour): 10 merchants with a listing each, 3 carriers,
   20 logistics points in 10 cities, 1,000 buyers, the lot ``L-BENCH`` with 2,000
   serialised units, and ``--orders`` orders of it: 98% sell 1-3 of the lot by quantity,
   2% sell one of its units. 95% of them are packed into a parcel (SSCC), of which 60%
   are delivered, 25% in transit at a point, 10% dispatched and 5% still packed. Another
   lot gets ``--noise`` orders the same way, so the indexes have something to skip.
   Then ``movements`` is filled from those tables by ``rebuild_movements``, the INSERT ...
   SELECT of migration 0007's backfill (the services keep it up to date one sale and
   parcel at a time; bulk inserts bypass them). ``ANALYZE`` runs once after loading, as
   autovacuum / ``PRAGMA optimize`` would.
2. Timed, median of ``--runs``, each in a fresh session:
   * ``trace_forward_100k_orders_<db>``: ``inspect.trace.trace(direction="forward",
     limit=None)``: every movement of the lot and its units (sale line x parcel, with
     state, last point and city, merchant and carrier names, returns) and the totals:
     the complete forward trace as the rows (tuples) and names the CSV export writes
     out.
   * baseline: a bare ``SELECT`` of the same order lines by lot id (``order_lines`` of
     the lot's trace keys, every column, no join), in the same run.
   * ``trace_forward_ratio_<db>`` = trace / baseline.
   * ``trace_first_page_<db>``: ``GET /api/v1/inspect/trace?direction=forward&limit=200``
     through the Flask test client with an inspector key (totals, 200 rows, JSON,
     access-log row, commit).

Prints ``BENCH <name> <value> <unit>`` lines; exits 1 if a complete trace took more than
0.5 s (the target).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, select, text

from benchmarks.common import bench, fresh_database, median, pg_available
from trace_service import create_app, migrate
from trace_service.auth.permissions import Actor
from trace_service.auth.services import create_key
from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.models import TraceKey
from trace_service.context import Ctx
from trace_service.db import Database, new_id, utcnow
from trace_service.identifiers import gs1_check_digit
from trace_service.inspect.movements import rebuild_movements
from trace_service.inspect.trace import trace
from trace_service.orders.models import Order, OrderLine
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.people.models import Person
from trace_service.shipping.models import Parcel, ParcelItem

TARGET_SECONDS = 0.5
CHUNK = 10_000
GTIN = "06901234567892"
CITIES = ("Hangzhou", "Shanghai", "Beijing", "Guangzhou", "Shenzhen", "Chengdu", "Wuhan",
          "Nanjing", "Xi'an", "Tianjin")


def _party(i: int, kind: str, name: str) -> dict:
    return {"id": new_id("pty"), "kind": kind, "name": name, "credit_code": f"9133{i:014d}",
            "verified": True, "created_at": utcnow()}


def _sscc(n: int) -> str:
    body = f"06901234{n:09d}"
    return "00/" + body + gs1_check_digit(body)


class Loader:
    """Bulk inserts, ``CHUNK`` rows a statement, with ids assigned here."""

    def __init__(self, conn):
        self.conn = conn
        self.next_tk = 1
        self.parcels = 0

    def insert(self, table, rows):
        for i in range(0, len(rows), CHUNK):
            self.conn.execute(insert(table), rows[i:i + CHUNK])

    def trace_keys(self, rows):
        for row in rows:
            row["id"] = self.next_tk
            self.next_tk += 1
        self.insert(TraceKey.__table__, rows)
        return [row["id"] for row in rows]


def seed(url: str, orders: int, noise: int, rng: random.Random) -> dict:
    database = Database(url)
    now = utcnow()
    with database.engine.begin() as conn:
        load = Loader(conn)
        maker = _party(0, "manufacturer", "Dairy")
        merchants = [_party(1 + i, "merchant", f"Shop {i}") for i in range(10)]
        carriers = [_party(20 + i, "carrier", f"Carrier {i}") for i in range(3)]
        load.insert(Party.__table__, [maker] + merchants + carriers)
        points = [{"id": new_id("pnt"), "name": f"Point {i}", "city": CITIES[i % len(CITIES)],
                   "carrier_id": carriers[i % 3]["id"], "created_at": now} for i in range(20)]
        load.insert(LogisticsPoint.__table__, points)
        load.insert(Product.__table__, [{"gtin": GTIN, "name": "Milk", "category": "food",
                                         "maker_id": maker["id"], "registrant_id": maker["id"],
                                         "created_at": now}])
        buyers = [{"id": new_id("psn"), "external_ref": f"buyer-{i}", "name": f"Buyer {i}",
                   "phone": "13800000000", "address": "Hangzhou", "created_at": now}
                  for i in range(1000)]
        load.insert(Person.__table__, buyers)
        lots = {}
        for name, n_orders in (("L-NOISE", noise), ("L-BENCH", orders)):
            lot_id = new_id("lot")
            load.insert(Lot.__table__, [{"id": lot_id, "gtin": GTIN, "lot": name,
                                         "created_at": now}])
            (lot_tk,) = load.trace_keys([{"kind": "lot", "key": f"01/{GTIN}/10/{name}",
                                          "gtin": GTIN, "lot_id": lot_id, "state": "active",
                                          "owner_id": maker["id"], "updated_at": now}])
            listings = [{"id": new_id("lst"), "merchant_id": m["id"], "gtin": GTIN,
                         "lot_id": lot_id, "title": "Milk", "price_cents": 6990,
                         "currency": "CNY", "status": "active", "created_at": now}
                        for m in merchants]
            load.insert(Listing.__table__, listings)
            _sell(load, rng, n_orders, name, lot_id, lot_tk, listings, buyers, carriers,
                  points, now)
            lots[name] = lot_id
        rebuild_movements(conn)
    database.dispose()
    return lots


def _sell(load: Loader, rng, n_orders, name, lot_id, lot_tk, listings, buyers, carriers,
          points, now) -> None:
    n_units = min(2000, max(n_orders // 50, 1))
    unit_ids = load.trace_keys([{"kind": "unit", "key": f"01/{GTIN}/21/{name}-{i}",
                                 "gtin": GTIN, "lot_id": lot_id, "state": "commissioned",
                                 "owner_id": listings[0]["merchant_id"], "updated_at": now}
                                for i in range(n_units)])
    orders, lines, parcel_tks, parcels, items, unit_states = [], [], [], [], [], {}
    for i in range(n_orders):
        listing = listings[i % len(listings)]
        order_id = new_id("ord")
        placed = now - dt.timedelta(minutes=n_orders - i)
        unit = unit_ids[i // 50] if i % 50 == 0 and i // 50 < len(unit_ids) else None
        item, qty = (unit, 1) if unit else (lot_tk, rng.randint(1, 3))
        orders.append({"id": order_id, "merchant_id": listing["merchant_id"],
                       "order_no": f"{name}-{i}", "buyer_id": buyers[i % len(buyers)]["id"],
                       "payment_channel": "alipay", "payment_reference": f"PAY{i}",
                       "total_cents": 6990 * qty, "currency": "CNY", "status": "placed",
                       "placed_at": placed})
        lines.append({"order_id": order_id, "listing_id": listing["id"], "trace_key_id": item,
                      "quantity": qty, "price_cents": 6990})
        r = rng.random()
        if r < 0.05:
            if unit:
                unit_states[unit] = "sold"
            continue
        state = ("delivered" if r < 0.62 else "in_transit" if r < 0.87
                 else "dispatched" if r < 0.97 else "packed")
        load.parcels += 1
        parcel_tks.append({"kind": "parcel", "key": _sscc(load.parcels), "state": state,
                           "owner_id": listing["merchant_id"], "updated_at": now})
        parcels.append({"id": new_id("pcl"), "order_id": order_id,
                        "merchant_id": listing["merchant_id"],
                        "carrier_id": carriers[i % 3]["id"], "created_at": placed,
                        "dispatched_at": placed if state != "packed" else None,
                        "delivered_at": now if state == "delivered" else None,
                        "last_point_id": (points[i % 20]["id"]
                                          if state in ("in_transit", "delivered") else None)})
        items.append((len(parcels) - 1, item, qty))
        orders[-1]["status"] = state if state != "in_transit" else "dispatched"
        if unit:
            unit_states[unit] = state
    load.insert(Order.__table__, orders)
    load.insert(OrderLine.__table__, lines)
    tk_ids = load.trace_keys(parcel_tks)
    for parcel, tk_id in zip(parcels, tk_ids):
        parcel["trace_key_id"] = tk_id
    load.insert(Parcel.__table__, parcels)
    load.insert(ParcelItem.__table__, [{"parcel_id": parcels[p]["id"], "trace_key_id": item,
                                        "quantity": qty} for p, item, qty in items])
    for state in set(unit_states.values()):
        ids = [k for k, s in unit_states.items() if s == state]
        for i in range(0, len(ids), CHUNK):
            load.conn.execute(TraceKey.__table__.update()
                              .where(TraceKey.__table__.c.id.in_(ids[i:i + CHUNK]))
                              .values(state=state))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(url: str, workdir: Path, runs: int) -> dict:
    app = create_app({"DATABASE_URL": url, "ENV": "testing", "SECRET_KEY": "bench"},
                     instance_path=str(workdir / f"instance-{uuid.uuid4().hex[:6]}"))
    database = app.extensions["trace_db"]
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with database.write_session() as db:
        _key, inspector = create_key(db, role="inspector", label="bench")
        db.commit()
    lot_key = f"01/{GTIN}/10/L-BENCH"
    actor = Actor(key_id=_key.id, role="inspector")
    lot_id = None
    results = {"trace": [], "baseline": [], "page": []}
    rows = 0
    for _ in range(runs):
        with database.read_session() as db:
            ctx = Ctx(db=db, actor=actor)
            out = {}
            results["trace"].append(_timed(lambda: out.update(trace(
                ctx, lot_key, direction="forward", limit=None))))
            rows = len(out["forward"]["movements"].rows)
        with database.read_session() as db:
            lot_id = lot_id or db.scalar(select(Lot.id).where(Lot.lot == "L-BENCH"))
            of_lot = select(TraceKey.id).where(TraceKey.lot_id == lot_id)
            results["baseline"].append(_timed(lambda: db.execute(
                select(OrderLine.__table__).where(OrderLine.trace_key_id.in_(of_lot))).all()))
    client = app.test_client()
    for _ in range(runs):
        results["page"].append(_timed(lambda: _first_page(client, inspector, lot_key)))
    database.dispose()
    return {name: median(values) for name, values in results.items()} | {"rows": rows}


def _first_page(client, key: str, lot_key: str) -> None:
    response = client.get("/api/v1/inspect/trace", query_string={
        "key": lot_key, "direction": "forward", "limit": 200},
        headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["forward"]["items"]) == 200


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--noise", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10,000 orders, 3 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.noise, args.runs = 10_000, 10_000, 3
    label = f"{args.orders // 1000}k" if args.orders % 1000 == 0 else str(args.orders)
    slow = False
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.db.split(","):
            if kind == "postgresql" and not pg_available():
                print("# PostgreSQL unreachable: skipping its trace benchmark")
                continue
            url, drop = fresh_database(kind, Path(tmp))
            try:
                migrate.upgrade(url)
                start = time.perf_counter()
                seed(url, args.orders, args.noise, random.Random(6))
                print(f"# {kind}: seeded {args.orders + args.noise} orders in "
                      f"{time.perf_counter() - start:.1f} s")
                r = measure(url, Path(tmp), args.runs)
            finally:
                drop()
            print(f"# {kind}: {r['rows']} movements; trace {r['trace']:.3f} s, bare select "
                  f"{r['baseline']:.3f} s, first API page {r['page']:.3f} s; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            bench(f"trace_forward_{label}_orders_{kind}", r["trace"], "s")
            bench(f"trace_forward_baseline_select_{label}_orders_{kind}", r["baseline"], "s")
            bench(f"trace_forward_ratio_{kind}", r["trace"] / r["baseline"], "ratio")
            bench(f"trace_first_page_{label}_orders_{kind}", r["page"], "s")
            slow = slow or r["trace"] > TARGET_SECONDS
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
