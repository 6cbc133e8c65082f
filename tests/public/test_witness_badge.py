"""The consumer page's integrity badge says how many independent witnesses cosigned the
checkpoint its proof leads to (zh-CN and en)."""

from __future__ import annotations

from tests.public.conftest import JSON, SN1, get
from trace_service.db import utcnow
from trace_service.ledger import services as ledger
from trace_service.ledger import settings as ledger_settings
from trace_service.ledger import witnesses


def test_the_badge_counts_the_witnesses_that_cosigned_the_checkpoint_it_leads_to(
        app, client, demo):
    database = app.extensions["trace_db"]
    newest = ledger.sign_now(database, ledger_settings.log_key(app))
    with database.write_session() as db:
        for name in ("witness.test/w1", "witness.test/w2"):
            db.execute(witnesses.COSIGNATURES.insert(), {
                "size": newest.size, "witness": name, "line": f"\u2014 {name} AAAA\n",
                "cosigned_at": 1, "received_at": utcnow()})
        db.commit()
    badge = client.get(SN1, headers=JSON).get_json()["integrity"]
    assert badge["status"] == "verified" and badge["checkpoint"] == newest.size
    assert badge["witnesses"] == 2
    en = get(client, SN1, lang="en").get_data(as_text=True)
    assert 'data-part="witnesses" data-count="2"' in en
    assert "2 independent witness(es) cosigned this checkpoint" in en
    zh = get(client, SN1, lang="zh-CN").get_data(as_text=True)
    assert "已有 2 个独立见证方联署此检查点" in zh


def test_the_badge_says_when_no_witness_has_cosigned_yet(client, demo):
    assert client.get(SN1, headers=JSON).get_json()["integrity"]["witnesses"] == 0
    assert "No independent witness has cosigned" in get(client, SN1, lang="en").get_data(
        as_text=True)
    assert "尚无独立见证方联署此检查点" in get(client, SN1, lang="zh-CN").get_data(as_text=True)
