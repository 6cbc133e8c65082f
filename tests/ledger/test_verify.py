"""``trace-service verify``: every kind of tampering fails it and is named where it happened."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert

from tests.chain.flows import deliver, ship
from tests.ledger.conftest import entries
from trace_service.chain.models import Event
from trace_service.ledger import merkle
from trace_service.ledger.services import append_now


@pytest.fixture
def signed(world, cli, sql):
    """A history with a checkpoint signed halfway and one at the end; the log's entries."""
    checkpoint_now(cli)
    for _ in range(2):
        _order, parcel = ship(world)
        assert deliver(world, parcel).status_code == 201
    checkpoint_now(cli)
    log = entries(sql)
    assert len(log) >= 12
    return log


def checkpoint_now(cli):
    result = cli("checkpoint")
    assert result.exit_code == 0, result.output
    return result.stdout


def failed(result) -> str:
    assert result.exit_code == 1, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("FAILED: ")
    return first


def delete_event(sql, event_pk):
    sql("DELETE FROM event_keys WHERE event_id = :pk", pk=event_pk)
    sql("DELETE FROM event_parties WHERE event_id = :pk", pk=event_pk)
    sql("DELETE FROM ledger_entries WHERE event_pk = :pk", pk=event_pk)
    sql("DELETE FROM events WHERE id = :pk", pk=event_pk)


def test_verify_passes_on_an_untouched_log_and_prints_its_size_and_root(signed, cli, app):
    result = cli("verify")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok"
    assert lines[1].startswith(f"log {app.config['LOG_ID']}: size {len(signed)}, root ")
    assert "checkpoints verified; newest at size" in lines[2]


def test_verify_passes_on_an_empty_log(app, cli):
    result = cli("verify")
    assert result.exit_code == 0, result.output
    assert f"size 0, root {merkle.EMPTY_ROOT.hex()}" not in result.stdout  # base64, not hex
    assert "size 0, root 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" in result.stdout


def test_one_changed_byte_in_one_event_is_named_by_sequence_number_and_event(signed, cli, sql):
    seq, pk, event_id = signed[5]
    (content,) = sql("SELECT content FROM events WHERE id = :pk", pk=pk)[0]
    changed = content.replace('"v":1', '"v":2')
    assert len(changed) == len(content) and changed != content
    sql("UPDATE events SET content = :c WHERE id = :pk", c=changed, pk=pk)
    first = failed(cli("verify"))
    assert f"seq {seq}, event {event_id}: the event's content does not match" in first


def test_a_deleted_event_is_named_by_its_missing_sequence_number(signed, cli, sql):
    seq, pk, _event_id = signed[4]
    delete_event(sql, pk)
    result = cli("verify")
    first = failed(result)
    assert first == f"FAILED: seq {seq}: entry {seq} is missing: the log jumps from seq " \
                    f"{seq - 1} to {seq + 1}"
    assert f"entry {seq + 1} is missing" not in result.stderr


def test_two_swapped_events_are_found_at_the_first_of_them(signed, cli, sql):
    (a, pk_a, _), (b, pk_b, _) = signed[3], signed[7]
    rows = {seq: (pk, h) for seq, pk, h in sql(
        "SELECT seq, event_pk, leaf_hash FROM ledger_entries WHERE seq IN (:a, :b)", a=a, b=b)}
    sql("DELETE FROM ledger_entries WHERE seq IN (:a, :b)", a=a, b=b)
    for seq, pk in ((a, pk_b), (b, pk_a)):
        sql("INSERT INTO ledger_entries (seq, event_pk, leaf_hash) VALUES (:s, :pk, :h)",
            s=seq, pk=pk, h=rows[seq][1])
    result = cli("verify")
    first = failed(result)
    assert first.startswith(f"FAILED: seq {a}, event {signed[7][2]}: ")
    assert f"seq {b}, event {signed[3][2]}" in result.stderr


def test_a_truncated_tail_is_found_where_the_log_now_ends(signed, cli, sql):
    for _seq, pk, _event_id in signed[-3:]:
        delete_event(sql, pk)
    first = failed(cli("verify"))
    n = len(signed)
    assert f"seq {n - 3}, checkpoint {n}: checkpoint {n} covers {n} entries but the log holds " \
           f"{n - 3}: entries {n - 3}..{n - 1} are missing" in first


def test_an_event_inserted_behind_the_service_is_named(signed, cli, app, sql):
    (content,) = sql("SELECT content FROM events WHERE id = :pk", pk=signed[2][1])[0]
    forged = json.loads(content) | {"event_id": "00000000-0000-4000-8000-000000000001"}
    with app.extensions["trace_db"].engine.begin() as conn:
        conn.execute(insert(Event), [{
            "event_id": forged["event_id"], "biz_step": forged["biz_step"],
            "event_time": _now(),
            "record_time": _now(), "content": json.dumps(forged, sort_keys=True)}])
    first = failed(cli("verify"))
    assert "event 00000000-0000-4000-8000-000000000001: event row" in first
    assert "is not in the log" in first


def test_an_event_slipped_into_the_sequence_is_found_at_its_place(signed, cli, app, sql):
    k = 6
    with app.extensions["trace_db"].engine.begin() as conn:
        conn.execute(insert(Event), [{
            "event_id": "00000000-0000-4000-8000-000000000002", "biz_step": "receipt",
            "event_time": _now(), "record_time": _now(),
            "content": '{"event_id":"00000000-0000-4000-8000-000000000002","v":1}'}])
    (forged_pk,) = sql("SELECT id FROM events WHERE event_id = :e",
                       e="00000000-0000-4000-8000-000000000002")[0]
    # Shift every event from k one place later, leaving the logged hashes where they were,
    # and log the displaced last event at a new place at the end.
    old = sql("SELECT seq, event_pk, leaf_hash FROM ledger_entries WHERE seq >= :k ORDER BY seq",
              k=k)
    sql("DELETE FROM ledger_entries WHERE seq >= :k", k=k)
    pks = [forged_pk] + [pk for _seq, pk, _h in old]
    hashes = [h for _seq, _pk, h in old]
    (last_content,) = sql("SELECT content FROM events WHERE id = :pk", pk=pks[-1])[0]
    hashes.append(merkle.leaf_hash(last_content.encode()))
    for i, (pk, h) in enumerate(zip(pks, hashes)):
        sql("INSERT INTO ledger_entries (seq, event_pk, leaf_hash) VALUES (:s, :pk, :h)",
            s=k + i, pk=pk, h=h)
    first = failed(cli("verify"))
    assert first.startswith(f"FAILED: seq {k}, event 00000000-0000-4000-8000-000000000002: ")


def test_a_replaced_checkpoint_signature_is_named(signed, cli, sql):
    n = len(signed)
    sql("UPDATE ledger_checkpoints SET signature = :s WHERE size = :n", s=bytes(64), n=n)
    first = failed(cli("verify"))
    assert f"checkpoint {n}: signature does not verify with the log's public key" in first


def test_a_log_rewritten_consistently_without_the_key_fails_at_its_checkpoints(
        signed, cli, app, sql, world):
    """Someone edits an event and rebuilds every table of the log to match: only the
    signed checkpoints can tell, and verify names the range since the last good one."""
    middle = len(signed)
    ship(world)
    checkpoint_now(cli)
    seq, pk, _event_id = entries(sql)[middle + 1]
    (content,) = sql("SELECT content FROM events WHERE id = :pk", pk=pk)[0]
    sql("UPDATE events SET content = :c WHERE id = :pk", c=content.replace('"v":1', '"v":3'),
        pk=pk)
    order = [(pk, c) for pk, c in sql(
        "SELECT e.id, e.content FROM ledger_entries l JOIN events e ON e.id = l.event_pk "
        "ORDER BY l.seq")]
    sql("DELETE FROM ledger_entries")
    sql("DELETE FROM ledger_nodes")
    sql("DELETE FROM ledger_head")
    with app.extensions["trace_db"].write_session() as db:
        append_now(db, order)
        db.commit()
    result = cli("verify")
    first = failed(result)
    end = len(order)
    assert first == (f"FAILED: seq {middle}, checkpoint {end}: checkpoint {end} does not match "
                     f"the log recomputed from the events: an entry in seq {middle}..{end - 1} "
                     "was changed, removed, reordered or inserted after it was signed")
    assert f"checkpoint {middle}:" not in result.stderr  # the earlier checkpoint still holds


def _now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)


# --- the indexes: columns and derived tables against the hashed content -------------------

COLUMN_FORGERIES = {
    "event_time": "'2020-01-01 00:00:00.000000'",
    "record_time": "'2020-01-01 00:00:00.000000'",
    "point_id": "NULL",
    "party_id": "NULL",
    "device_id": "NULL",
    "biz_step": "'receipt'",
    "event_id": "'00000000-0000-4000-8000-00000000f00d'",
}


def _a_scan(sql, signed, world=None):
    """(seq, events.id, event_id, point_id) of a logged logistics scan (made if none)."""
    if world is not None:
        _order, parcel = ship(world)
        world.device.ok("POST", "/api/v1/scans", {"key": parcel, "step": "depart"})
    for seq, pk, event_id in entries(sql):
        ((step, point),) = sql("SELECT biz_step, point_id FROM events WHERE id = :pk", pk=pk)
        if step in ("arrive", "depart") and point:
            return seq, pk, event_id, point
    raise AssertionError("no scan in the history")


@pytest.mark.parametrize("column", sorted(COLUMN_FORGERIES))
def test_each_indexed_column_changed_behind_the_service_is_named_on_the_first_line(
        signed, cli, sql, world, column):
    seq, pk, event_id, _point = _a_scan(sql, signed, world)
    sql(f"UPDATE events SET {column} = {COLUMN_FORGERIES[column]} WHERE id = :pk", pk=pk)
    first = failed(cli("verify"))
    assert first.startswith(f"FAILED: seq {seq}, event {event_id}: events.{column} is "), first
    assert "the hashed content says" in first


def test_the_trail_shows_what_the_hashed_content_says_not_a_forged_column(
        signed, cli, sql, world):
    seq, pk, event_id, point = _a_scan(sql, signed, world)
    other = next(p for p in world.ids["points"] if p != point)
    sql("UPDATE events SET point_id = :p, event_time = '2020-01-01 00:00:00.000000' "
        "WHERE id = :pk", p=other, pk=pk)
    ((key,),) = sql("SELECT t.key FROM event_keys k JOIN trace_keys t ON t.id = k.trace_key_id "
                    "WHERE k.event_id = :pk AND k.role = 'subject'", pk=pk)
    trail = world.inspector.ok("GET", "/api/v1/trail", key=key)
    step = next(e for e in trail["events"] if e["event_id"] == event_id)
    assert step["point_id"] == point and not step["event_time"].startswith("2020")
    console = world.inspector.ok("GET", "/api/v1/inspect/trail", key=key)
    shown = next(s for s in console["steps"] if s["event_id"] == event_id)
    assert shown["where"]["point_id"] == point
    assert not str(shown["when"]["event_time"]).startswith("2020")


def test_a_trace_key_link_removed_or_added_behind_the_service_is_named(
        signed, cli, sql, world):
    seq, pk, event_id, _point = _a_scan(sql, signed, world)
    sql("DELETE FROM event_keys WHERE event_id = :pk AND role = 'content'", pk=pk)
    first = failed(cli("verify"))
    assert first.startswith(f"FAILED: seq {seq}, event {event_id}: event_keys does not match")


def test_a_party_granted_an_event_behind_the_service_is_named(signed, cli, sql, world):
    seq, pk, event_id, _point = _a_scan(sql, signed, world)
    sql("INSERT INTO event_parties (party_id, event_id) VALUES (:p, :pk)",
        p=world.ids["pharmacy"], pk=pk)
    first = failed(cli("verify"))
    assert first.startswith(f"FAILED: seq {seq}, event {event_id}: event_parties does not "
                            "match")


def test_content_that_is_not_utf8_is_a_located_problem_not_a_traceback(signed, cli, sql, app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL refuses text that is not UTF-8 in the first place")
    seq, pk, event_id = signed[3]
    # One byte of the stored text becomes 0xFF (SQLite stores what it is given as a blob).
    sql("UPDATE events SET content = CAST(X'FF' || CAST(content AS BLOB) AS TEXT) "
        "WHERE id = :pk", pk=pk)
    result = cli("verify")
    first = failed(result)
    assert first.startswith(f"FAILED: seq {seq}"), first
    assert "Traceback" not in result.output


def test_a_checkpoint_whose_root_was_edited_is_blamed_on_its_signature_not_the_data(
        signed, cli, sql):
    n = len(signed)
    sql("UPDATE ledger_checkpoints SET root_hash = :r WHERE size = :n", r=bytes(32), n=n)
    result = cli("verify")
    first = failed(result)
    assert first.startswith(f"FAILED: checkpoint {n}: signature does not verify"), first
    assert "was changed, removed, reordered" not in result.stderr


def test_an_event_removed_and_the_later_entries_renumbered_is_not_called_a_cut_tail(
        signed, cli, sql):
    k = 5
    _seq, pk, _event_id = signed[k]
    delete_event(sql, pk)
    # Close the gap: every later entry moves one place down, as a careful forger would.
    for seq, _pk, _e in signed[k + 1:]:
        sql("UPDATE ledger_entries SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    first = failed(cli("verify"))
    assert "was removed and the entries after it renumbered" in first, first
    assert f"seq {k - k % 2}..{k - k % 2 + 1}" in first
    assert "tail was cut off" not in first


def test_an_entry_logged_past_the_head_behind_the_service_is_named(signed, cli, app, sql):
    (content,) = sql("SELECT content FROM events WHERE id = :pk", pk=signed[2][1])[0]
    forged = json.loads(content) | {"event_id": "00000000-0000-4000-8000-000000000003"}
    text_ = json.dumps(forged, sort_keys=True, separators=(",", ":"))
    with app.extensions["trace_db"].engine.begin() as conn:
        conn.execute(insert(Event), [{
            "event_id": forged["event_id"], "biz_step": forged["biz_step"],
            "event_time": _now(), "record_time": _now(), "content": text_}])
    (pk,) = sql("SELECT id FROM events WHERE event_id = :e", e=forged["event_id"])[0]
    sql("INSERT INTO ledger_entries (seq, event_pk, leaf_hash) VALUES (:s, :pk, :h)",
        s=len(signed), pk=pk, h=merkle.leaf_hash(text_.encode()))
    first = failed(cli("verify"))
    assert first.startswith(f"FAILED: seq {len(signed)}, event 00000000-0000-4000-8000-"
                            "000000000003: this entry lies beyond the log head"), first
