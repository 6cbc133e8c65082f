"""Counting consumer checks of a unit, without storing who checked, and without letting a
script inflate the count.

A *check* is a consumer's GET of a unit's public page (HTML or JSON). Checks are counted per
**device**, conservatively, because a count above one tells shoppers their pack may be a
copy, and a competitor with a script would like a genuine pack to say so:

* **A device is its address, not its user agent.** Anyone can send a new ``User-Agent``
  with every request; so an IPv4 address is one device whatever it claims to be, and an
  IPv6 ``/64`` (one household's or phone's prefix) is one device. Phones sharing a home
  connection count once: fewer warnings, never a false one.
* **Automated clients are not counted**: no ``User-Agent``, one that names a bot, crawler,
  link preview, HTTP library or command-line tool (``curl``, ``python-requests``, ``Go-http-
  client``, headless browsers ...), or a request without ``Accept-Language`` (every browser
  sends one).
* **One network counts a few devices at most**: beyond ``NETWORK_DEVICES`` devices of one
  IPv4 ``/24`` or IPv6 ``/48`` on one unit in a day (a script spreading over a block of
  addresses), further checks from that network are not counted.

A check that is not counted is still stored, marked ``counted = false``, so the page can
say that checks from automated clients were left out; it never enters the count, the
first check, the places or the signals.

What is stored of the client is ``HMAC-SHA256(salt of the day, device)`` and the same of its
network, cut to 32 hex digits; the salt is random, made on the first check of the day
(service time zone) and deleted the day after, so the hashes only de-duplicate within a day
and cannot be traced back to an address once the salt is gone. The place is stored only if
the consumer offers it (a city, or lat/lon rounded to 0.1°).

Not a check at all: HEAD requests and browser prefetches (``Sec-Purpose``/``Purpose:
prefetch``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import threading
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace_service.db import utcnow
from trace_service.parties.models import LogisticsPoint
from trace_service.public.models import ConsumerCheck, VisitorSalt

#: Checks of one unit loaded in full; beyond this only counts and the first check are read.
RECENT = 50
#: User agents of automated clients: robots, link previews, HTTP libraries, tools.
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|headless|phantomjs|"
    r"curl|wget|python|httpx|aiohttp|go-http-client|java/|okhttp|libwww|scrapy|"
    r"node-fetch|axios|undici|postman|insomnia|httpie|powershell|apache-httpclient|"
    r"guzzle|ruby|perl|php/", re.I)
#: Devices of one network (IPv4 /24, IPv6 /48) counted per unit and day (see module doc).
NETWORK_DEVICES = 4
#: What ``classify`` says of a request.
PERSON, AUTOMATED = "person", "automated"
#: A coarse place is matched to a known city within this distance (km).
CITY_RADIUS_KM = 80.0


def classify(method: str, headers) -> str | None:
    """``PERSON`` or ``AUTOMATED`` for a look at a unit's page, None for a request that is no
    look at all (HEAD, a prefetch). ``headers`` maps header names to values."""
    if method != "GET":
        return None
    purpose = (headers.get("Sec-Purpose") or headers.get("Purpose") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose:
        return None
    agent = (headers.get("User-Agent") or "").strip()
    if not agent or _BOTS.search(agent) or not headers.get("Accept-Language"):
        return AUTOMATED
    return PERSON


def device_and_network(address: str) -> tuple[str, str]:
    """The device and the network of a client address (see module docstring): an IPv4
    address and its /24, or an IPv6 /64 and its /48. Anything else is its own both."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address, address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return str(ip), str(ipaddress.ip_network(f"{ip}/24", strict=False))
    return (str(ipaddress.ip_network(f"{ip}/64", strict=False)),
            str(ipaddress.ip_network(f"{ip}/48", strict=False)))


class SaltBox:
    """The day's salt, read once per process per day (made by whoever needs it first)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._salt: bytes | None = None

    def get(self, database, day: dt.date) -> bytes:
        with self._lock:
            if self._day == day and self._salt is not None:
                return self._salt
        salt = _salt_of(database, day)
        with self._lock:
            self._day, self._salt = day, salt
        return salt


def _salt_of(database, day: dt.date) -> bytes:
    with database.read_session() as db:
        salt = db.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day))
    if salt is not None:
        return salt
    with database.write_session() as db:
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[database.dialect]
        db.execute(insert(VisitorSalt).values(day=day, salt=secrets.token_bytes(32),
                                              created_at=utcnow())
                   .on_conflict_do_nothing(index_elements=["day"]))
        # Yesterday's salt is kept so checks around midnight still de-duplicate for a while.
        db.execute(delete(VisitorSalt).where(VisitorSalt.day < day - dt.timedelta(days=1)))
        salt = db.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day))
        db.commit()
    return salt


def visitor_hash(salt: bytes, *parts: str) -> str:
    """HMAC-SHA256 of ``parts`` under the day's salt, 32 hex digits: a device or a network
    as stored (``visitor_hash(salt, device)``, ``visitor_hash(salt, "network", network)``)."""
    return hmac.new(salt, "\n".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class Check:
    at: dt.datetime
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass
class ChecksSummary:
    """What the page says about the checks of one unit (the same for every visitor)."""

    count: int = 0  # counted checks only, like everything else here but ``not_counted``
    first: Check | None = None
    first_visitor: tuple[dt.date, str] | None = None  # (day, visitor hash) of the first
    recent: list[Check] = field(default_factory=list)  # newest first, at most RECENT
    after: dict[str, int] = field(default_factory=dict)  # checks after a time, by label
    not_counted: bool = False  # some checks looked automated and were left out


def summarise(db: Session, trace_key_id: int,
              since: dict[str, dt.datetime] | None = None) -> ChecksSummary:
    """Counted checks of a unit, and whether some were not counted: two indexed queries
    (three more only past ``RECENT`` checks)."""
    since = since or {}
    c = ConsumerCheck
    mine = (c.trace_key_id == trace_key_id, c.counted)
    rows = db.execute(
        select(c.checked_at, c.city, c.latitude, c.longitude, c.day, c.visitor_hash)
        .where(*mine).order_by(c.checked_at.desc(), c.id.desc()).limit(RECENT + 1)).all()
    summary = ChecksSummary(recent=[Check(r.checked_at, r.city, r.latitude, r.longitude)
                                    for r in rows[:RECENT]])
    if len(rows) <= RECENT:
        first = rows[-1] if rows else None
        summary.count = len(rows)
        summary.after = {label: sum(1 for r in rows if r.checked_at > when)
                         for label, when in since.items()}
    else:
        summary.count = db.scalar(select(func.count()).where(*mine))
        first = db.execute(select(c.checked_at, c.city, c.latitude, c.longitude, c.day,
                                  c.visitor_hash).where(*mine)
                           .order_by(c.checked_at, c.id).limit(1)).first()
        summary.after = {label: db.scalar(select(func.count()).where(*mine, c.checked_at > when))
                         for label, when in since.items()}
    if first is not None:
        summary.first = Check(first.checked_at, first.city, first.latitude, first.longitude)
        summary.first_visitor = (first.day, first.visitor_hash)
    summary.not_counted = db.scalar(select(c.id).where(
        c.trace_key_id == trace_key_id, ~c.counted).limit(1)) is not None
    return summary


def record(database, trace_key_id: int, day: dt.date, visitor: str, now: dt.datetime,
           since: dict[str, dt.datetime] | None = None, *, network: str | None = None,
           counted: bool = True) -> tuple[int | None, ChecksSummary]:
    """Note this device's check of a unit, once a day, in a short transaction of its own,
    and summarise the unit's checks (this one included) in the same transaction.

    ``counted`` is False for a request that looked automated; a check is not counted
    either when ``network`` already has ``NETWORK_DEVICES`` other counted devices on this
    unit today. Returns ``(check id, summary)``, the id None when the check is not counted
    (such a check gets no place form). A device that already checked today (seen by
    another server process, say) keeps its earlier check, counted or not. On PostgreSQL
    the commit does not wait for the WAL flush (``synchronous_commit = off`` for this
    transaction only): a check is a signal, not evidence, and a crash may lose the last
    few hundred milliseconds of them, never a chain event.
    """
    c = ConsumerCheck
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[database.dialect]
    with database.write_session() as db:
        if database.dialect == "postgresql":
            db.execute(text("SET LOCAL synchronous_commit TO OFF"))
        if counted and network is not None:
            others = db.scalar(select(func.count()).where(
                c.trace_key_id == trace_key_id, c.day == day, c.network_hash == network,
                c.counted, c.visitor_hash != visitor))
            counted = others < NETWORK_DEVICES
        row = db.execute(insert(c).values(
            trace_key_id=trace_key_id, day=day, visitor_hash=visitor, checked_at=now,
            counted=counted, network_hash=network)
            .on_conflict_do_nothing(index_elements=["trace_key_id", "day", "visitor_hash"])
            .returning(c.id, c.counted)).first()
        if row is None:
            row = db.execute(select(c.id, c.counted).where(
                c.trace_key_id == trace_key_id, c.day == day, c.visitor_hash == visitor)).first()
        summary = summarise(db, trace_key_id, since)
        db.commit()
    return (row.id if row.counted else None), summary


class SeenVisitors:
    """Which visitors this process already counted today, per unit (and the signed tokens
    made for them): a repeat view by the same phone then costs no database round trip.
    Bounded; forgetting is harmless (the unique constraint de-duplicates)."""

    def __init__(self, max_entries: int = 100_000):
        self.max_entries = max_entries
        self._data: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple):
        return self._data.get(key)

    def put(self, key: tuple, value) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                for old in list(self._data)[: self.max_entries // 2]:
                    del self._data[old]
            self._data[key] = value


def add_check(db: Session, trace_key_id: int, at: dt.datetime, *, city: str | None = None,
              latitude: float | None = None, longitude: float | None = None) -> None:
    """Record a check made elsewhere (demo data, imports): an anonymous visitor."""
    db.add(ConsumerCheck(trace_key_id=trace_key_id, day=at.date(),
                         visitor_hash=secrets.token_hex(16), checked_at=at, city=city,
                         latitude=latitude, longitude=longitude))
    db.flush()


# --- places -----------------------------------------------------------------------------


def known_cities(db: Session) -> list[dict]:
    """Cities of the logistics points, with a centre: what the place form offers."""
    rows = db.execute(select(LogisticsPoint.city, func.avg(LogisticsPoint.latitude),
                             func.avg(LogisticsPoint.longitude))
                      .group_by(LogisticsPoint.city).order_by(LogisticsPoint.city)).all()
    return [{"city": city, "latitude": lat, "longitude": lon} for city, lat, lon in rows]


def coarse_place(cities: list[dict], city: str | None, latitude: float | None,
                 longitude: float | None) -> tuple[str | None, float | None, float | None]:
    """(city, lat, lon) as stored: lat/lon rounded to 0.1° (about 11 km); a city named from
    the list gets its centre; coordinates get the nearest listed city within reach."""
    if latitude is not None and longitude is not None:
        lat, lon = round(latitude, 1), round(longitude, 1)
        near = nearest_city(cities, lat, lon)
        return near, lat, lon
    for known in cities:
        if city and known["city"].lower() == city.strip().lower():
            lat, lon = known["latitude"], known["longitude"]
            return known["city"], (round(lat, 1) if lat is not None else None), (
                round(lon, 1) if lon is not None else None)
    return None, None, None


def nearest_city(cities: list[dict], lat: float, lon: float) -> str | None:
    best, best_km = None, CITY_RADIUS_KM
    for known in cities:
        if known["latitude"] is None or known["longitude"] is None:
            continue
        km = distance_km(lat, lon, known["latitude"], known["longitude"])
        if km <= best_km:
            best, best_km = known["city"], km
    return best


def set_place(database, check_id: int, trace_key_id: int, place: tuple) -> bool:
    city, lat, lon = place
    if city is None and lat is None:
        return False
    with database.write_session() as db:
        row = db.get(ConsumerCheck, check_id)
        if row is None or row.trace_key_id != trace_key_id:
            return False
        row.city, row.latitude, row.longitude = city, lat, lon
        db.commit()
    return True


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(a)))


def place_label(check: Check | None) -> str | None:
    """A coarse, public description of where a check happened."""
    if check is None:
        return None
    if check.city:
        return check.city
    if check.located:
        ns = "N" if check.latitude >= 0 else "S"
        ew = "E" if check.longitude >= 0 else "W"
        return f"≈{abs(round(check.latitude))}°{ns} {abs(round(check.longitude))}°{ew}"
    return None
