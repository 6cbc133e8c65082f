"""Spot checks: reproducible risk-weighted samples, results, and a failure that recalls."""

from __future__ import annotations

from collections import Counter

from tests.chain.flows import MILK, sell
from tests.helpers import error_of
from trace_service.inspect.spotchecks import draw


def listings(world, n=6):
    for i in range(n):
        world.merchant.ok("POST", "/api/v1/listings",
                          {"gtin": MILK, "title": f"Milk offer {i}", "price_cents": 500 + i})


def sample(caller, **body):
    return caller.ok("POST", "/api/v1/inspect/spot-checks", body)


def test_the_same_seed_draws_the_same_sample_and_the_draw_is_recorded(world):
    listings(world)
    first = sample(world.inspector, population="listings", n=4, seed=20261122)
    again = sample(world.inspector, population="listings", n=4, seed=20261122)
    ids = [t["listing_id"] for t in first["tasks"]]
    assert ids == [t["listing_id"] for t in again["tasks"]] and len(set(ids)) == 4
    assert first["population_size"] == 8 and first["seed"] == 20261122
    assert first["population_digest"] == again["population_digest"]
    assert first["algorithm"].startswith("successive-weighted-draws")
    others = {tuple(t["listing_id"] for t in sample(world.inspector, population="listings",
                                                     n=4, seed=s)["tasks"]) for s in range(5)}
    assert len(others) > 1
    drawn = sample(world.inspector, population="listings", n=2)
    assert isinstance(drawn["seed"], int)
    got = world.inspector.ok("GET", f"/api/v1/inspect/spot-checks/{first['id']}")
    assert [t["listing_id"] for t in got["tasks"]] == ids
    page = world.inspector.ok("GET", "/api/v1/inspect/spot-checks", limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"]


def test_risk_weights_and_categories_shape_the_population(world):
    listings(world, 3)
    drugs = sample(world.inspector, population="listings", n=5, categories=["drug"], seed=1)
    assert [t["category"] for t in drugs["tasks"]] == ["drug"]
    no_food = sample(world.inspector, population="listings", n=5, weights={"food": 0}, seed=1)
    assert [t["listing_id"] for t in no_food["tasks"]] == [world.ids["drug_listing"]]
    weights = {t["category"]: t["weight"] for t in sample(
        world.inspector, population="listings", n=5, seed=3)["tasks"]}
    assert weights == {"drug": 5, "food": 4}
    empty = world.inspector.post("/api/v1/inspect/spot-checks",
                                 {"population": "lots", "n": 1, "categories": ["rare_earth"]})
    assert empty.status_code == 409 and error_of(empty)["code"] == "empty_population"


def test_results_are_recorded_once_and_a_failure_can_open_a_recall(world):
    check = sample(world.inspector, population="lots", n=2, seed=7)
    tasks = {t["lot"]: t for t in check["tasks"]}
    url = f"/api/v1/inspect/spot-checks/{check['id']}/tasks/{{}}/result"
    passed = world.inspector.ok("POST", url.format(tasks["B1"]["id"]),
                                {"result": "passed", "notes": "labels and licence in order"},
                                status=200)
    assert passed["status"] == "passed" and passed["recorded_at"]
    twice = world.inspector.post(url.format(tasks["B1"]["id"]),
                                 {"result": "failed", "notes": "second thoughts"})
    assert twice.status_code == 409 and error_of(twice)["code"] == "task_already_recorded"
    failed = world.inspector.ok("POST", url.format(tasks["L1"]["id"]), {
        "result": "failed", "notes": "coliform count over limit",
        "recall": {"reason": "coliforms over GB 19645 limit", "severity": "II",
                   "authority": "市场监管局"}}, status=200)
    assert failed["status"] == "failed" and failed["recall_id"]
    recall = world.inspector.ok("GET", f"/api/v1/inspect/recalls/{failed['recall_id']}")
    assert recall["lots"][0]["lot"] == "L1" and recall["severity"] == "II"
    assert sell(world).status_code == 409
    by_merchant = world.merchant.post(url.format(tasks["L1"]["id"]), {"result": "passed",
                                                                     "notes": "fine"})
    assert by_merchant.status_code == 403


def test_successive_weighted_draws_are_deterministic_and_follow_the_weights():
    population = [(f"item-{i}", w) for i, w in enumerate([1, 9, 3, 0 + 1, 6])]
    assert draw(population, 3, seed=42) == draw(population, 3, seed=42)
    assert sorted(draw(population, 10, seed=1)) == sorted(population)
    firsts = Counter(draw([("light", 1), ("heavy", 9)], 1, seed=s)[0][0] for s in range(2000))
    assert 0.86 < firsts["heavy"] / 2000 < 0.94
