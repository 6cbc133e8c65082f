"""Scan ingestion through the real HTTP server against a bare insert of the same rows.

For each database (SQLite, PostgreSQL): a fresh database is migrated and seeded with
parcels in transit; N scans are uploaded through gunicorn (``trace-service serve`` with its
default workers and threads) in batches by several scanners at once, as ``trace-scan``
does: each scanner is a device at a logistics point of its own and uploads its own queue,
one batch after the other, in sequence order. Every scanner scans every parcel, round
after round (arrive, depart, ...), starting a quarter of the parcels apart: at any moment
the points scan different parcels, since a parcel is in one place at a time (two points
scanning one parcel at once is an anomaly, not the load). Then the rows that ingestion
stored (scans, events, event_keys) are inserted again, bare, with fresh ids, in batches of
the same size with a commit per batch, into the same database. The figure is the ratio
of the two rates, median of several runs.

    python -m benchmarks.bench_ingest [--scans 100000] [--batch 500] [--clients 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from benchmarks.common import Server, bench, fresh_database, median, pg_available
from trace_service import create_app, migrate
from trace_service.auth.permissions import Actor
from trace_service.auth.services import create_key
from trace_service.brands import services as brands
from trace_service.catalog import services as catalog
from trace_service.chain.models import Event, EventKey
from trace_service.context import Ctx
from trace_service.identifiers import gs1_check_digit
from trace_service.ingest.models import Scan
from trace_service.orders import services as orders
from trace_service.parties import services as parties
from trace_service.shipping import services as shipping

CREDIT = ["91330100MA27Q8XX14", "91330106MA2B0LBX0Q", "91110105MA01CKJE72"]


def seed(app, n_parcels: int, n_devices: int = 4) -> tuple[list[str], list[str]]:
    """Parcels in transit, one serialised unit each, and ``n_devices`` scanners, each at a
    point of its own; returns (device keys, parcel keys)."""
    sess = app.extensions["trace_db"].write_session()
    root = Ctx(sess, Actor(key_id="bench", role="admin"))
    shop = parties.create_party(root, kind="merchant", name="Shop", credit_code=CREDIT[0],
                                verified=True)
    maker = parties.create_party(root, kind="manufacturer", name="Maker", credit_code=CREDIT[1],
                                 verified=True)
    carrier = parties.create_party(root, kind="carrier", name="Carrier", credit_code=CREDIT[2],
                                   verified=True)
    today = dt.date.today()
    parties.add_licence(root, shop.id, kind="food_business", number="1", categories=["food"],
                        valid_from=today - dt.timedelta(days=1),
                        valid_until=today + dt.timedelta(days=365), issuer=None)
    keys = []
    for i in range(n_devices):
        point = parties.create_point(root, name=f"P{i}", city=f"C{i}", latitude=None,
                                     longitude=None, gln=None, carrier_id=carrier.id)
        device = parties.create_device(root, label=f"D{i}", point_id=point.id,
                                       carrier_id=carrier.id)
        keys.append(create_key(sess, role="device", device_id=device.id)[1])
    merchant = Ctx(sess, Actor(key_id="m", role="merchant", party_id=shop.id))
    gtin = "690123456789" + gs1_check_digit("690123456789")
    # The shop's own brand: it holds the prefix and so commissions and holds the goods.
    brands.record_prefix(root, shop.id, prefix=gtin[:7], evidence="benchmark")
    catalog.create_product(merchant, gtin=gtin, name="Milk", category="food", maker_id=maker.id,
                           drug_product_code=None)
    catalog.create_lot(merchant, gtin=gtin, lot="B", production_date=None,
                       expiry_date=today + dt.timedelta(days=90), origin=None, quantity=None)
    serials = [f"S{i}" for i in range(n_parcels)]
    for i in range(0, n_parcels, 1000):  # the API takes 1,000 units a request
        catalog.register_units(merchant, gtin=gtin, lot="B", serials=serials[i:i + 1000],
                               drug_codes=[])
    listing = catalog.create_listing(merchant, gtin=gtin, lot=None, title="Milk",
                                     price_cents=100, currency="CNY")
    parcels = []
    for i, serial in enumerate(serials):
        order = orders.place_order(merchant, order_no=f"O{i}", buyer={"external_ref": f"b{i}"},
                                   consignee=None, payment={"channel": "alipay",
                                                            "reference": f"P{i}"},
                                   lines=[{"listing_id": listing.id,
                                           "key": f"01/0{gtin}/21/{serial}"}],
                                   event_time=None)
        body = f"0690123{i:010d}"
        key = body + gs1_check_digit(body)
        shipping.pack(merchant, order.id, parcel_key=key, carrier_id=carrier.id, items=None,
                      event_time=None)
        shipping.dispatch(merchant, key, event_time=None)
        parcels.append(key)
    sess.commit()
    sess.close()
    return keys, parcels


def make_batches(n_scans: int, batch: int, device_keys: list[str],
                 parcels: list[str]) -> dict[str, list[list[dict]]]:
    """Each scanner's uploads, in its sequence order: {device key: [batch, ...]}.

    Scanner d scans all parcels round after round, starting at parcel d * P / D (P
    parcels, D scanners), alternately arriving and departing, 11 minutes a round."""
    base = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) - dt.timedelta(days=30)
    n_dev, n_par = len(device_keys), len(parcels)
    out = {}
    for d, key in enumerate(device_keys):
        scans = []
        for i in range(n_scans // n_dev + (d < n_scans % n_dev)):
            rnd, k = divmod(i, n_par)
            parcel = (k + d * n_par // n_dev) % n_par
            scans.append({
                "id": str(uuid.uuid4()), "key": parcels[parcel], "seq": i,
                "step": "arrive" if rnd % 2 == 0 else "depart",
                "device_time": (base + dt.timedelta(minutes=11 * rnd, seconds=k % 60))
                .isoformat()})
        out[key] = [scans[j:j + batch] for j in range(0, len(scans), batch)]
    return out


def upload(base: str, batches: dict[str, list[list[dict]]]) -> float:
    """One thread per scanner, each sending its own batches one after the other."""
    errors = []

    def client(key: str, own: list[list[dict]]):
        session = requests.Session()
        for scans in own:
            r = session.post(base + "/api/v1/scans/batch", json={"scans": scans},
                             headers={"Authorization": f"Bearer {key}"}, timeout=120)
            body = r.json()
            if r.status_code != 200 or body["accepted"] != len(scans):
                errors.append((r.status_code, str(body)[:300]))

    threads = [threading.Thread(target=client, args=item) for item in batches.items()]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} batches failed, e.g. {errors[0]}")
    return elapsed


def bare_insert(app, batch: int) -> float:
    """Insert the rows ingestion stored (scans, events, event links) once more, bare.

    The copies get fresh ids (events: explicit ids above the current maximum, so no read
    back is needed) and go into the same tables of the same database, in batches of the
    same size with a commit per batch: what storing the scans costs with no HTTP, no
    validation, no rules and no log.
    """
    db = app.extensions["trace_db"]
    with db.read_session() as s:
        scans = [dict(r._mapping) for r in s.execute(select(Scan.__table__))]
        ids = {r["id"] for r in scans}
        events = [dict(r._mapping) for r in s.execute(
            select(Event.__table__).where(Event.biz_step.in_(("arrive", "depart"))))]
        events = [e for e in events if e["event_id"] in ids]
        pks = {e["id"] for e in events}
        links = [dict(r._mapping) for r in s.execute(select(EventKey.__table__))
                 if r.event_id in pks]
        top = s.scalar(select(func.max(Event.id)))
    by_event = {}
    for link in links:
        by_event.setdefault(link["event_id"], []).append(link)
    new_id = {e["event_id"]: str(uuid.uuid4()) for e in events}
    scan_of = {r["id"]: r for r in scans}
    start = time.perf_counter()
    for j in range(0, len(events), batch):
        chunk = events[j:j + batch]
        rows, link_rows, scan_rows = [], [], []
        for offset, e in enumerate(chunk, start=top + 1 + j):
            rows.append(dict(e, id=offset, event_id=new_id[e["event_id"]]))
            link_rows += [dict(link, event_id=offset) for link in by_event.get(e["id"], [])]
            scan_rows.append(dict(scan_of[e["event_id"]], id=new_id[e["event_id"]],
                                  event_id=new_id[e["event_id"]]))
        with db.write_session() as s:
            s.execute(insert(Event.__table__), rows)
            s.execute(insert(EventKey.__table__), link_rows)
            s.execute(insert(Scan.__table__), scan_rows)
            s.commit()
    return time.perf_counter() - start


def run_once(kind: str, args, workdir: Path) -> tuple[float, float]:
    url, drop = fresh_database(kind, workdir)
    try:
        migrate.upgrade(url)
        instance = workdir / f"instance-{uuid.uuid4().hex[:6]}"
        app = create_app({"DATABASE_URL": url}, instance_path=str(instance))
        keys, parcels = seed(app, args.parcels, args.clients)
        batches = make_batches(args.scans, args.batch, keys, parcels)
        server = Server(url, instance)
        try:
            api_seconds = upload(server.base, batches)
        finally:
            server.stop()
        bare_seconds = bare_insert(app, args.batch)
        app.extensions["trace_db"].dispose()
        return args.scans / api_seconds, args.scans / bare_seconds
    finally:
        drop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=100_000)
    parser.add_argument("--parcels", type=int, default=4000,
                        help="parcels in transit (a scanner batch covers 500 of them)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4,
                        help="scanners uploading at once (each a device at its own point)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.db.split(","):
            if kind == "postgresql" and not pg_available():
                print("# PostgreSQL unreachable: skipping its ingest benchmark")
                continue
            results = [run_once(kind, args, Path(tmp)) for _ in range(args.runs)]
            for api, bare in results:
                print(f"# {kind}: api {api:.0f} scans/s, bare insert {bare:.0f} scans/s, "
                      f"ratio {api / bare:.3f}")
            bench(f"ingest_rate_{kind}", median(r[0] for r in results), "scans/s")
            bench(f"ingest_bare_insert_rate_{kind}", median(r[1] for r in results), "scans/s")
            bench(f"ingest_ratio_{kind}", median(r[0] / r[1] for r in results), "ratio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
