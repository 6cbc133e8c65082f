"""Spot checks (网上抽查): a reproducible, risk-weighted sample of listings or lots.

The population is every active listing (or every lot not under recall) matching the
criteria, in id order, each with an integer risk weight::

    weight = category weight x (1 + min(complaints in the last 90 days, 5))

Category weights default to ``CATEGORY_RISK`` (drugs and medical devices 5, food and
hazardous goods 4 ...) and can be overridden per draw. Complaints count against the
listing's merchant, or against the lot's units and lot key.

The draw is weighted sampling without replacement by successive draws, in integers only:
``rng = random.Random(seed)``; ``n`` times, ``r = rng.randrange(total remaining weight)``
picks the item whose cumulative weight interval (in id order) contains ``r``, which then
leaves the population (a Fenwick tree keeps this O(log N)). Each item's chance at each
draw is its weight over the remaining total. No floats are involved, so the same seed
and the same population give the same sample on any machine and Python version;
``population_digest`` (SHA-256 of the "id weight" lines) says whether the population
is still the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.models import TraceKey
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, NotFound, Unprocessable
from trace_service.feedback.models import Complaint
from trace_service.inspect.models import SpotCheck, SpotCheckTask
from trace_service.parties.models import CATEGORIES

ALGORITHM = "successive-weighted-draws/random.Random/v1"
POPULATIONS = ("listings", "lots")
RESULTS = ("passed", "failed")
MAX_SAMPLE = 500
COMPLAINT_WINDOW = dt.timedelta(days=90)
CATEGORY_RISK = {
    "drug": 5, "medical_device": 5, "food": 4, "hazardous": 4, "special_equipment": 4,
    "agricultural_input": 3, "agricultural_product": 3, "daily_consumer_good": 2,
    "rare_earth": 2, "other": 1,
}


class Fenwick:
    """Prefix sums of integer weights with point updates and search, O(log n) each."""

    def __init__(self, weights: list[int]):
        self.n = len(weights)
        self.tree = [0] * (self.n + 1)
        for i, w in enumerate(weights):
            self.add(i, w)

    def add(self, i: int, delta: int) -> None:
        i += 1
        while i <= self.n:
            self.tree[i] += delta
            i += i & -i

    def total(self) -> int:
        return self.prefix(self.n)

    def prefix(self, count: int) -> int:
        s = 0
        while count > 0:
            s += self.tree[count]
            count -= count & -count
        return s

    def find(self, r: int) -> int:
        """The index i whose interval [prefix(i), prefix(i + 1)) contains r."""
        pos, step = 0, 1 << self.n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= self.n and self.tree[nxt] <= r:
                pos = nxt
                r -= self.tree[nxt]
            step >>= 1
        return pos


def draw(population: list[tuple[str, int]], n: int, seed: int) -> list[tuple[str, int]]:
    """``n`` items of ``population`` ((id, weight > 0) in id order) by successive weighted
    draws without replacement; the same arguments always give the same list."""
    rng = random.Random(seed)
    weights = [w for _id, w in population]
    tree = Fenwick(weights)
    picked = []
    for _ in range(min(n, len(population))):
        index = tree.find(rng.randrange(tree.total()))
        picked.append(population[index])
        tree.add(index, -weights[index])
    return picked


def digest(population: list[tuple[str, int]]) -> str:
    return hashlib.sha256("".join(f"{i} {w}\n" for i, w in population).encode()).hexdigest()


def population(db: Session, kind: str, *, categories: list[str], merchant_id: str | None,
               weights: dict[str, int], now: dt.datetime) -> list[tuple[str, int]]:
    risk = dict(CATEGORY_RISK, **weights)
    since = now - COMPLAINT_WINDOW
    if kind == "listings":
        stmt = (select(Listing.id, Product.category, Listing.merchant_id)
                .join(Product, Product.gtin == Listing.gtin).where(Listing.status == "active"))
        if merchant_id:
            stmt = stmt.where(Listing.merchant_id == merchant_id)
        complaints = dict(db.execute(select(Complaint.merchant_id, func.count())
                                     .where(Complaint.created_at >= since)
                                     .group_by(Complaint.merchant_id)).all())
    else:
        stmt = (select(Lot.id, Product.category, Lot.id)
                .join(Product, Product.gtin == Lot.gtin).where(Lot.recalled_at.is_(None)))
        if merchant_id:
            stmt = stmt.where(Lot.id.in_(select(Listing.lot_id).where(
                Listing.merchant_id == merchant_id)))
        complaints = dict(db.execute(
            select(TraceKey.lot_id, func.count())
            .join(Complaint, Complaint.trace_key_id == TraceKey.id)
            .where(Complaint.created_at >= since, TraceKey.lot_id.is_not(None))
            .group_by(TraceKey.lot_id)).all())
    if categories:
        stmt = stmt.where(Product.category.in_(categories))
    rows = db.execute(stmt.order_by(stmt.selected_columns[0])).all()
    return [(id_, risk.get(category, 1) * (1 + min(complaints.get(owner, 0), 5)))
            for id_, category, owner in rows if risk.get(category, 1) > 0]


def create(ctx: Ctx, *, kind: str, n: int, seed: int | None, categories: list[str],
           merchant_id: str | None, weights: dict[str, int]) -> SpotCheck:
    if kind not in POPULATIONS:
        raise Unprocessable("bad_population", f"population must be one of {', '.join(POPULATIONS)}",
                            field="population")
    unknown = sorted((set(categories) | set(weights)) - set(CATEGORIES))
    if unknown:
        raise Unprocessable("unknown_category", f"unknown categories: {', '.join(unknown)}",
                            categories=unknown)
    seed = secrets.randbelow(2**63) if seed is None else seed
    now = utcnow()
    pop = population(ctx.db, kind, categories=categories, merchant_id=merchant_id,
                     weights=weights, now=now)
    if not pop:
        raise Conflict("empty_population", f"no {kind} match these criteria")
    check = SpotCheck(
        id=new_id("spc"), created_at=now, created_by=ctx.actor.key_id, population=kind,
        criteria={"categories": sorted(categories), "merchant_id": merchant_id,
                  "weights": dict(sorted(weights.items())),
                  "complaint_window_days": COMPLAINT_WINDOW.days},
        seed=seed, requested=n, population_size=len(pop), population_digest=digest(pop),
        algorithm=ALGORITHM)
    ctx.db.add(check)
    ctx.db.flush()
    for position, (id_, weight) in enumerate(draw(pop, n, seed)):
        ctx.db.add(SpotCheckTask(
            id=new_id("spt"), spot_check_id=check.id, position=position, weight=weight,
            listing_id=id_ if kind == "listings" else None,
            lot_id=id_ if kind == "lots" else None, status="pending"))
    ctx.db.flush()
    ctx.db.refresh(check)
    return check


def get(db: Session, check_id: str) -> SpotCheck:
    check = db.get(SpotCheck, check_id)
    if check is None:
        raise NotFound("spot_check_not_found", f"no spot check {check_id}", spot_check_id=check_id)
    return check


def record(ctx: Ctx, check_id: str, task_id: str, *, result: str, notes: str,
           recall: dict | None) -> SpotCheckTask:
    """Record a task's result; a failed one may open a recall of its lot in the same step."""
    from trace_service.recalls import services as recalls

    check = get(ctx.db, check_id)
    task = ctx.db.scalar(select(SpotCheckTask).where(
        SpotCheckTask.id == task_id, SpotCheckTask.spot_check_id == check.id)
        .with_for_update())
    if task is None:
        raise NotFound("task_not_found", f"spot check {check_id} has no task {task_id}")
    if task.status != "pending":
        raise Conflict("task_already_recorded",
                       f"task {task.id} was recorded as {task.status} on "
                       f"{task.recorded_at.isoformat()}", status=task.status)
    if recall is not None and result != "failed":
        raise Unprocessable("recall_needs_failure", "only a failed check can open a recall",
                            field="recall")
    task.status = result
    task.notes = notes
    task.recorded_at = utcnow()
    task.recorded_by = ctx.actor.key_id
    if recall is not None:
        lots = recall.get("lots") or _task_lots(ctx.db, task)
        if not lots:
            raise Unprocessable("recall_needs_lots", "this listing is not of one lot: name the "
                                "lots to recall in recall.lots", field="recall.lots")
        opened = recalls.open_recall(ctx, lots=lots, reason=recall["reason"],
                                     severity=recall["severity"], authority=recall["authority"],
                                     reference=recall.get("reference"))
        task.recall_id = opened.id
    ctx.db.flush()
    return task


def _task_lots(db: Session, task: SpotCheckTask) -> list[str]:
    lot_id = task.lot_id
    if lot_id is None and task.listing_id:
        lot_id = db.scalar(select(Listing.lot_id).where(Listing.id == task.listing_id))
    if lot_id is None:
        return []
    lot = db.get(Lot, lot_id)
    return [f"01/{lot.gtin}/10/{lot.lot}"]


def task_views(db: Session, check: SpotCheck) -> list[dict]:
    """Tasks with what they point at (listing title and merchant, or lot and product)."""
    listings = {li.id: li for li in db.scalars(select(Listing).where(
        Listing.id.in_([t.listing_id for t in check.tasks if t.listing_id])))}
    lots = {lot.id: lot for lot in db.scalars(select(Lot).where(
        Lot.id.in_([t.lot_id for t in check.tasks if t.lot_id])))}
    out = []
    for t in check.tasks:
        view = {"id": t.id, "position": t.position, "weight": t.weight, "status": t.status,
                "notes": t.notes, "recorded_at": t.recorded_at, "recall_id": t.recall_id,
                "listing_id": t.listing_id, "lot_id": t.lot_id}
        if t.listing_id:
            listing = listings[t.listing_id]
            view.update(title=listing.title, merchant_id=listing.merchant_id,
                        gtin=listing.gtin, category=listing.product.category)
        if t.lot_id:
            lot = lots[t.lot_id]
            view.update(key=f"01/{lot.gtin}/10/{lot.lot}", gtin=lot.gtin, lot=lot.lot,
                        category=lot.product.category, title=lot.product.name)
        out.append(view)
    return out
