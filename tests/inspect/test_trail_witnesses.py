"""The inspector trail says how many independent witnesses cosigned the checkpoint its
integrity status is checked against."""

from __future__ import annotations

import re

from tests.inspect.test_console import sign_in
from trace_service.db import utcnow
from trace_service.ledger import services as ledger
from trace_service.ledger import witnesses


def test_the_trail_counts_the_witnesses_of_its_checkpoint(app, history):
    client = app.test_client()
    assert sign_in(client, history.inspector.key).status_code == 302
    html = client.get("/inspect/trail", query_string={"key": history.ids["parcel_a"]}
                      ).get_data(as_text=True)
    assert 'data-part="witnesses" data-count="0"' in html
    assert "not cosigned by any witness yet" in html
    size = int(re.search(r"against checkpoint (\d+)", html).group(1))
    with app.extensions["trace_db"].write_session() as db:
        assert ledger.newest_checkpoint(db).size == size
        for name in ("witness.test/w1", "witness.test/w2", "witness.test/w3"):
            db.execute(witnesses.COSIGNATURES.insert(), {
                "size": size, "witness": name, "line": f"\u2014 {name} AAAA\n",
                "cosigned_at": 1, "received_at": utcnow()})
        db.commit()
    html = client.get("/inspect/trail", query_string={"key": history.ids["parcel_a"]}
                      ).get_data(as_text=True)
    assert "cosigned by 3 independent witnesses" in html
