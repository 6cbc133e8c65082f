"""Erasing personal data, on request and by retention, never breaks a proof."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from scanner_client import verify as offline
from tests.chain.flows import BUYER, deliver, ship
from tests.ledger.conftest import entries, save
from trace_service.orders.models import Order
from trace_service.people.models import Person
from trace_service.shipping.models import Receipt


def persons(sql, person_id):
    return sql("SELECT name, phone, address, external_ref, erased_at FROM persons WHERE id = :p",
               p=person_id)[0]


def test_erasing_a_person_blanks_their_data_and_every_proof_still_verifies(
        world, cli, sql, client, tmp_path, capsys):
    order, parcel = ship(world)
    assert deliver(world, parcel).status_code == 201
    buyer = order["buyer_id"]
    assert persons(sql, buyer)[0] == BUYER["name"]
    key_file = save(tmp_path / "key.json", client.get("/api/v1/log/public-key").get_json())
    before = [world.inspector.ok("GET", "/api/v1/log/proofs/inclusion", event_id=event_id)
              for _seq, _pk, event_id in entries(sql)]

    result = cli("erase-person", buyer)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"erased {buyer} (was name=李*, phone=139****5678")
    assert BUYER["phone"] not in result.stdout and BUYER["address"] not in result.stdout
    name, phone, address, ref, erased_at = persons(sql, buyer)
    assert (name, phone, address, ref) == (None, None, None, None) and erased_at is not None

    verified = cli("verify")
    assert verified.exit_code == 0, verified.output
    for old in before:
        assert offline.main([save(tmp_path / "b.json", old), "-k", key_file]) == offline.OK
        again = world.inspector.ok("GET", "/api/v1/log/proofs/inclusion",
                                   event_id=old["event_id"], size=old["tree_size"])
        assert again == old
    dump = "".join(content for (content,) in sql("SELECT content FROM events"))
    assert BUYER["name"] not in dump and BUYER["phone"] not in dump
    capsys.readouterr()


def test_erasing_twice_is_harmless_and_an_unknown_person_is_refused(world, cli):
    order, _parcel = ship(world)
    assert cli("erase-person", order["buyer_id"]).exit_code == 0
    again = cli("erase-person", order["buyer_id"])
    assert again.exit_code == 0 and "already erased" in again.stdout
    unknown = cli("erase-person", "psn_nobody")
    assert unknown.exit_code == 1 and "unknown_person" in unknown.stderr


def test_retention_erases_only_persons_inactive_for_longer_than_the_period(world, cli, sql, app):
    old_order, old_parcel = ship(world, buyer={"external_ref": "old", "name": "王五",
                                                "phone": "13800000001"})
    assert deliver(world, old_parcel, signer={"name": "赵六"}).status_code == 201
    new_order, _parcel = ship(world, buyer={"external_ref": "new", "name": "钱七"})
    (signer,) = sql("SELECT signer_id FROM receipts WHERE signer_id IS NOT NULL")[0]
    old_people = {old_order["buyer_id"], signer}
    four_years_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4 * 365)
    with app.extensions["trace_db"].write_session() as db:
        for column, where in ((Person.created_at, Person.id), (Order.placed_at, Order.buyer_id),
                              (Receipt.signed_at, Receipt.signer_id)):
            db.execute(update(column.class_).where(where.in_(old_people))
                       .values({column.key: four_years_ago}))
        db.commit()

    dry = cli("retention", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("would erase 2 person(s) inactive for more than 1095 days")
    assert persons(sql, old_order["buyer_id"])[0] == "王五"

    done = cli("retention")
    assert done.exit_code == 0, done.output
    assert all(persons(sql, p)[4] is not None for p in old_people)
    assert persons(sql, new_order["buyer_id"])[0] == "钱七"
    assert cli("verify").exit_code == 0
    shorter = cli("retention", "--days", "1", "--dry-run")
    assert shorter.stdout.startswith("would erase 0 person(s)")


DEMO_BUYER = {"name": "李娜", "phone": "13912345678"}


def text_columns_holding(sql, app, needles) -> list[str]:
    """``table.column`` of every text-like column of every table that holds a needle."""
    from sqlalchemy import inspect as sa_inspect

    with app.extensions["trace_db"].engine.connect() as conn:
        insp = sa_inspect(conn)
        tables = {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}
    found = []
    for table, columns in tables.items():
        for column in columns:
            for needle in needles:
                hit = sql(f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) '
                          "LIKE :n", n=f"%{needle}%")[0][0]
                if hit:
                    found.append(f"{table}.{column}")
    return found


def test_erasing_the_demo_buyer_erases_her_signer_row_too_and_leaves_no_byte_of_her_anywhere(
        app, cli, sql):
    from trace_service.demo import seed

    seed(app)  # what 'trace-service demo' runs, on the app's own (disposed) engine
    needles = list(DEMO_BUYER.values())
    assert text_columns_holding(sql, app, needles) == ["persons.name", "persons.phone"]
    (buyer,) = sql("SELECT id FROM persons WHERE external_ref = 'mall-user-1001'")[0]
    (signer,) = sql("SELECT r.signer_id FROM receipts r JOIN persons p ON p.id = r.signer_id "
                    "WHERE p.phone = '13912345678'")[0]
    assert signer != buyer  # the carrier's own row for her: another scope

    dry = cli("erase-person", buyer, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[:2] == [
        f"would erase {buyer} (was name=李*, phone=139****5678, address=北京市朝阳区********)",
        f"  also would erase {signer} (was name=李*, phone=139****5678)"]
    assert sql("SELECT name FROM persons WHERE id = :p", p=signer)[0][0] == "李娜"

    result = cli("erase-person", buyer)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"erased {buyer} (was name=李*, phone=139****5678")
    assert lines[1] == f"  also erased {signer} (was name=李*, phone=139****5678)"
    if app.extensions["trace_db"].dialect == "sqlite":
        assert lines[-1] == "erased with secure_delete, and the -wal was checkpointed and emptied"
    else:
        assert lines[-1].startswith("PostgreSQL keeps the old row versions on disk until VACUUM")
    assert "13912345678" not in result.stdout and "李娜" not in result.stdout

    assert text_columns_holding(sql, app, needles) == []
    assert cli("verify").exit_code == 0
    if app.extensions["trace_db"].dialect == "sqlite":
        import sqlite3
        from pathlib import Path

        app.extensions["trace_db"].dispose()
        path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        for needle in needles:
            assert needle.encode() not in raw, f"{needle} is still in the file"


def test_the_matching_rule_finds_her_signature_under_her_name_but_not_a_namesake_elsewhere(
        world, cli, sql):
    order, parcel = ship(world, buyer={"external_ref": "u-1", "name": "王芳",
                                       "phone": "+86 139-0000-1111"})
    assert deliver(world, parcel, signer={"name": " 王芳 "}).status_code == 201
    other, _parcel = ship(world, buyer={"external_ref": "u-2", "name": "王芳",
                                        "phone": "13700002222"})
    same_phone, _parcel = ship(world, buyer={"external_ref": "u-3", "name": "Fang W",
                                             "phone": "13900001111"})
    (signer,) = sql("SELECT signer_id FROM receipts WHERE signer_id IS NOT NULL")[0]
    result = cli("erase-person", order["buyer_id"])
    assert result.exit_code == 0, result.output
    erased = {pid for (pid,) in sql("SELECT id FROM persons WHERE erased_at IS NOT NULL")}
    assert erased == {order["buyer_id"], signer, same_phone["buyer_id"]}
    assert other["buyer_id"] not in erased
