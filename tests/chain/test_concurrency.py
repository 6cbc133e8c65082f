"""Races: concurrent requests for the same serial. Exactly one wins; the rest are told why."""

import threading

from sqlalchemy import func, select

from tests.chain.flows import MILK_LOT, drug_code, sell, sell_drug
from tests.helpers import Caller
from trace_service.chain.models import Event
from trace_service.orders.models import Order

THREADS = 8


def race(app, world, attempt, count=THREADS, key=None):
    """Run ``attempt(caller, i)`` in ``count`` threads released at once; return responses."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        caller = Caller(app.test_client(), key or world.pharmacy.key)
        barrier.wait()
        results[i] = attempt(caller, i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_concurrent_sales_of_one_serial_let_exactly_one_through(app, world):
    def attempt(caller, i):
        return sell(world, caller, order_no=f"RACE-{i}", buyer={"external_ref": f"b{i}"},
                    lines=[{"listing_id": world.ids["drug_listing"], "key": drug_code(1)}])

    responses = race(app, world, attempt)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (THREADS - 1), [r.get_json() for r in responses]
    assert {r.get_json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "already_sold"}
    with app.extensions["trace_db"].read_session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        assert s.scalar(select(func.count()).select_from(Event)
                        .where(Event.biz_step == "sale")) == 1


def test_concurrent_sales_of_different_serials_by_one_new_buyer_all_succeed(app, world):
    from tests.world import DRUG

    units = [drug_code(n) for n in (1, 2, 3)] + [f"01/0{DRUG}/21/S{n}" for n in (1, 2, 3)]

    def attempt(caller, i):
        return sell(world, caller, order_no=f"PAR-{i}", buyer={"external_ref": "new-buyer"},
                    lines=[{"listing_id": world.ids["drug_listing"], "key": units[i]}])

    responses = race(app, world, attempt, count=len(units))
    assert [r.status_code for r in responses] == [201] * len(units), [
        r.get_json() for r in responses]
    assert len({r.get_json()["buyer_id"] for r in responses}) == 1


def test_a_retried_order_number_racing_itself_is_stored_once(app, world):
    def attempt(caller, i):
        return sell(world, caller, order_no="SAME", buyer={"external_ref": "b"},
                    lines=[{"listing_id": world.ids["drug_listing"],
                            "key": drug_code(1 + i % 3)}])

    responses = race(app, world, attempt)
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert all(r.status_code in (201, 409) for r in responses)


def test_sale_after_a_lost_race_can_sell_another_serial(app, world):
    assert sell_drug(world, 1).status_code == 201
    assert sell_drug(world, 1).status_code == 409
    assert sell_drug(world, 2).status_code == 201


def test_sales_racing_for_the_last_cases_of_a_lot_never_sell_more_than_is_held(app, world):
    # The shop holds 500 cases; eight orders of 100 race: five fit, three are refused.
    def attempt(caller, i):
        return sell(world, caller, order_no=f"LOT-{i}", buyer={"external_ref": f"b{i}"},
                    lines=[{"listing_id": world.ids["milk_listing"], "key": MILK_LOT,
                            "quantity": 100}])

    responses = race(app, world, attempt, key=world.merchant.key)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 5 + [409] * 3, [r.get_json() for r in responses]
    assert {r.get_json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "not_enough_in_custody"}
    assert world.merchant.ok("GET", "/api/v1/stock")["lots"] == []


def test_a_transfer_received_twice_at_once_is_taken_into_stock_once(app, world):
    from tests.world import MILK

    shipped = world.dairy.ok("POST", "/api/v1/transfers", {
        "destination_id": world.ids["foods"], "reference": "RACE",
        "items": [{"key": MILK_LOT, "quantity": 50}]})

    def attempt(caller, i):
        return caller.post(f"/api/v1/transfers/{shipped['id']}/receive", {})

    responses = race(app, world, attempt, key=world.merchant.key)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (THREADS - 1), [r.get_json() for r in responses]
    held = {lot["key"]: lot["quantity"] for lot in world.merchant.ok("GET", "/api/v1/stock")[
        "lots"]}
    assert held == {f"01/0{MILK}/10/L1": 550}
