"""Real processes for the failure tests: a seeded database, gunicorn, scanner clients.

* :func:`seed` fills a migrated database through the service layer (as
  ``benchmarks/bench_ingest.py`` does): one carrier, parcels in transit, one scanner
  device per logistics point with its key, a recalled lot with a parcel.
* :class:`Server` runs ``trace-service serve`` (gunicorn) in its own process group, so
  :meth:`Server.kill` can SIGKILL master and workers at once and :meth:`Server.start`
  bring it back on the same port.
* :class:`Scanner` is one device: its own ``TRACE_SCAN_HOME`` (queue file) and key,
  driving ``python -m scanner_client`` as a subprocess.
* :func:`stored_scans` / :func:`stored_events` read what the server stored.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
CREDIT = ["91330100MA27Q8XX14", "91330106MA2B0LBX0Q", "91110105MA01CKJE72"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_for(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@dataclass
class Device:
    id: str
    key: str
    key_prefix: str


@dataclass
class World:
    """What :func:`seed` made."""

    database_url: str
    instance: Path
    admin_key: str
    devices: list[Device]
    parcels: list[str]  # SSCCs (18 digits) of parcels in transit
    recalled_parcel: str
    recalled_unit: str
    _next: int = field(default=0, repr=False)

    def take_devices(self, n: int) -> list[Device]:
        """Devices no other test has used (each at its own point: no cross-test duplicates)."""
        if self._next + n > len(self.devices):
            raise RuntimeError("the seeded device pool is exhausted; seed more devices")
        out = self.devices[self._next:self._next + n]
        self._next += n
        return out


def seed(database_url: str, instance: Path, *, parcels: int, devices: int) -> World:
    from trace_service import create_app
    from trace_service.auth.permissions import Actor
    from trace_service.auth.services import create_key
    from trace_service.catalog import services as catalog
    from trace_service.catalog.models import Lot
    from trace_service.context import Ctx
    from trace_service.brands import services as brands
    from trace_service.identifiers import gs1_check_digit
    from trace_service.orders import services as orders
    from trace_service.parties import services as parties
    from trace_service.shipping import services as shipping

    app = create_app({"DATABASE_URL": database_url}, instance_path=str(instance))
    sess = app.extensions["trace_db"].write_session()
    root = Ctx(sess, Actor(key_id="seed", role="admin"))
    shop, maker, carrier = (
        parties.create_party(root, kind=kind, name=name, credit_code=code, verified=True)
        for kind, name, code in zip(("merchant", "manufacturer", "carrier"),
                                    ("Shop", "Maker", "Carrier"), CREDIT))
    today = dt.date.today()
    parties.add_licence(root, shop.id, kind="food_business", number="1", categories=["food"],
                        valid_from=today - dt.timedelta(days=1),
                        valid_until=today + dt.timedelta(days=365), issuer=None)
    admin_key = create_key(sess, role="admin", label="e2e")[1]
    pool = []
    for i in range(devices):
        point = parties.create_point(root, name=f"P{i}", city=f"C{i}", latitude=None,
                                     longitude=None, gln=None, carrier_id=carrier.id)
        device = parties.create_device(root, label=f"D{i}", point_id=point.id,
                                       carrier_id=carrier.id)
        key, plaintext = create_key(sess, role="device", device_id=device.id)
        pool.append(Device(device.id, plaintext, key.prefix))
    merchant = Ctx(sess, Actor(key_id="m", role="merchant", party_id=shop.id))
    gtin = "690123456789" + gs1_check_digit("690123456789")
    # The shop sells its own brand: it holds the GTIN's company prefix, so it commissions
    # (and holds) the goods itself.
    brands.record_prefix(root, shop.id, prefix=gtin[:7], evidence="test certificate")
    catalog.create_product(merchant, gtin=gtin, name="Milk", category="food", maker_id=maker.id,
                           drug_product_code=None)
    for lot in ("B", "R"):
        catalog.create_lot(merchant, gtin=gtin, lot=lot, production_date=None,
                           expiry_date=today + dt.timedelta(days=90), origin=None,
                           quantity=None)
    serials = [f"S{i}" for i in range(parcels)]
    catalog.register_units(merchant, gtin=gtin, lot="B", serials=serials, drug_codes=[])
    catalog.register_units(merchant, gtin=gtin, lot="R", serials=["R0"], drug_codes=[])
    listing = catalog.create_listing(merchant, gtin=gtin, lot=None, title="Milk",
                                     price_cents=100, currency="CNY")
    keys = []
    for i, serial in enumerate([*serials, "R0"]):
        order = orders.place_order(
            merchant, order_no=f"O{i}", buyer={"external_ref": f"b{i}"}, consignee=None,
            payment={"channel": "alipay", "reference": f"P{i}"},
            lines=[{"listing_id": listing.id, "key": f"01/0{gtin}/21/{serial}"}],
            event_time=None)
        body = f"0690123{i:010d}"
        key = body + gs1_check_digit(body)
        shipping.pack(merchant, order.id, parcel_key=key, carrier_id=carrier.id, items=None,
                      event_time=None)
        shipping.dispatch(merchant, key, event_time=None)
        keys.append(key)
    from sqlalchemy import select

    sess.scalar(select(Lot).where(Lot.lot == "R")).recalled_at = dt.datetime.now(dt.timezone.utc)
    sess.commit()
    sess.close()
    app.extensions["trace_db"].dispose()
    return World(database_url, instance, admin_key, pool, keys[:-1], keys[-1],
                 f"01/0{gtin}/21/R0")


class _PortTaken(Exception):
    pass


class Server:
    """``trace-service serve`` as a real process group on a fixed port."""

    def __init__(self, world: World, log_dir: Path, port: int | None = None,
                 workers: int = 2, threads: int = 4):
        self.world, self.log_dir = world, log_dir
        self.workers, self.threads = workers, threads
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 30) -> Server:
        """Start (or restart, on the same port); a first start whose free port was taken
        meanwhile by another process tries another port."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except _PortTaken:
                if self.starts > 1 or attempt == 2:
                    raise RuntimeError(f"port {self.port} is taken") from None
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, timeout: float) -> Server:
        env = dict(os.environ, TRACE_DATABASE_URL=self.world.database_url,
                   TRACE_INSTANCE_PATH=str(self.world.instance))
        self.starts += 1
        log = open(self.log_dir / f"server-{self.port}-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trace_service.cli", "serve", "--port", str(self.port),
             "--workers", str(self.workers), "--threads", str(self.threads)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_text = (self.log_dir / f"server-{self.port}-{self.starts}.log").read_text()
                if "Address already in use" in log_text:
                    raise _PortTaken()
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n"
                                   f"{log_text[-3000:]}")
            try:
                requests.get(self.url + "/api/v1/scans/limits", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL the master and all workers (the whole process group)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None


class Scanner:
    """One scanner device: its own queue folder and key; runs ``trace-scan`` as a process."""

    def __init__(self, device: Device, home: Path, server_url: str):
        self.device, self.home, self.server_url = device, home, server_url
        home.mkdir(parents=True, exist_ok=True)

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.sqlite3"

    def env(self, server: str | None = None, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACE_SCAN_")}
        env.update(TRACE_SCAN_HOME=str(self.home), TRACE_SCAN_SERVER=server or self.server_url,
                   TRACE_SCAN_KEY=self.device.key, PYTHONPATH=str(ROOT), **extra)
        return env

    def argv(self, *args) -> list[str]:
        return [sys.executable, "-m", "scanner_client", *map(str, args)]

    def run(self, *args, input: str | None = None, server: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              env=self.env(server), timeout=timeout, cwd=self.home)

    def popen(self, *args, server: str | None = None, **kw) -> subprocess.Popen:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.argv(*args), env=self.env(server), text=True,
                                cwd=self.home, **kw)

    def scan(self, codes: list[str], step: str = "arrive") -> subprocess.CompletedProcess:
        """Queue ``codes`` as a wedge scanner would type them; nothing is uploaded."""
        done = self.run("scan", "--step", step, "--no-upload", "--no-bell",
                        input="".join(f"{c}\n" for c in codes))
        assert done.returncode == 0, done.stderr
        return done

    def _rows(self, sql: str) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.queue_path}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def queued_ids(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM scans")}

    def dead_letters(self) -> list[tuple]:
        return self._rows("SELECT id, trace_key, code, message FROM dead_letters")


def stored_scans(database_url: str, device_ids: list[str]) -> list[tuple]:
    """(scan id, status, trace key, code) of every scan the server stored for ``device_ids``."""
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                text("SELECT id, status, trace_key, code FROM scans WHERE device_id IN :ids")
                .bindparams(_expanding("ids")), {"ids": list(device_ids)})]
    finally:
        engine.dispose()


def stored_events(database_url: str, scan_ids: set[str]) -> list[str]:
    """The ``event_id`` of every event made from ``scan_ids`` (one per accepted scan)."""
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT event_id FROM events WHERE event_id IN :ids")
                                .bindparams(_expanding("ids")), {"ids": list(scan_ids)})
            return [r[0] for r in rows]
    finally:
        engine.dispose()


def _expanding(name: str):
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def sscc_text(sscc: str) -> str:
    """A parcel label as a wedge scanner with AIM prefixes types it (GS1-128, AI 00)."""
    return f"]C100{sscc}"


class ScanCounter:
    """Counts the scans the server stored for some devices (polled while uploads run)."""

    def __init__(self, database_url: str, device_ids: list[str]):
        self.engine = engine_for(database_url)
        self.query = text("SELECT count(*) FROM scans WHERE device_id IN :ids").bindparams(
            _expanding("ids"))
        self.ids = list(device_ids)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(self.query, {"ids": self.ids}).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def finish(procs: list[subprocess.Popen], timeout: float = 120) -> list[tuple[int, str, str]]:
    """Wait for every process; (exit code, stdout, stderr) of each."""
    deadline = time.monotonic() + timeout
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        out.append((p.returncode, stdout, stderr))
    return out


def codes_file(path: Path, codes: list[str]) -> Path:
    path.write_text("".join(f"{c}\n" for c in codes))
    return path
