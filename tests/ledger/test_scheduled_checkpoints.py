"""Checkpoints are signed on a schedule, whether or not anybody reads them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from tests.chain.flows import ship
from tests.ledger.conftest import cli_env
from trace_service.ledger.models import LedgerCheckpoint


def count_checkpoints(app) -> tuple[int, int]:
    with app.extensions["trace_db"].read_session() as db:
        return (db.scalar(select(func.count()).select_from(LedgerCheckpoint)),
                db.scalar(select(func.max(LedgerCheckpoint.size))) or 0)


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_checkpoint_process_signs_when_the_log_grows_and_only_then(app, world):
    env = dict(os.environ, **cli_env(app))
    signer = subprocess.Popen([sys.executable, "-m", "trace_service.cli", "checkpoint",
                               "--every", "1"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        from trace_service.ledger.services import head

        with app.extensions["trace_db"].read_session() as db:
            size, _root = head(db)
        assert wait_for(lambda: count_checkpoints(app)[1] == size), signer.stderr
        quiet = count_checkpoints(app)
        time.sleep(2.5)
        assert count_checkpoints(app) == quiet  # nothing new: nothing signed
        ship(world)  # nobody reads the log, yet the new events get a checkpoint
        with app.extensions["trace_db"].read_session() as db:
            grown, _root = head(db)
        assert grown > size
        assert wait_for(lambda: count_checkpoints(app)[1] == grown)
    finally:
        signer.send_signal(signal.SIGTERM)
        out, err = signer.communicate(timeout=20)
    assert signer.returncode == 0, err
    assert f"checkpoint {grown} signed" in out


def test_the_demo_ends_with_a_checkpoint_covering_its_whole_history(app):
    from trace_service.demo import seed
    from trace_service.ledger.services import head, newest_checkpoint

    seed(app)
    with app.extensions["trace_db"].read_session() as db:
        size, root = head(db)
        newest = newest_checkpoint(db)
    assert newest is not None and (newest.size, newest.root_hash) == (size, root)
