"""Fixtures of the failure tests: a seeded database per engine, gunicorn, scanner devices.

Each engine (SQLite, PostgreSQL) gets one database per xdist worker, migrated by Alembic
and seeded once (:func:`tests.e2e.harness.seed`), and one shared server.  Tests take
fresh devices from the seeded pool, so their scans never meet (the server's duplicate
rule is per point) and each test counts only its own devices' rows.  PostgreSQL tests
are skipped loudly when it is unreachable, and fail with ``TRACE_REQUIRE_POSTGRES=1``
(the ``pg_admin_url`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import drop_pg_database, make_pg_database
from tests.e2e.harness import Scanner, Server, seed

PARCELS = 150  # each device scans them all, arrive + depart: 300 scans per device
DEVICES = 40


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def e2e_world(request, tmp_path_factory, worker_id):
    from trace_service import migrate

    base = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{base / 'trace.sqlite3'}"
    else:
        admin = request.getfixturevalue("pg_admin_url")
        name = f"trace_e2e_{worker_id}_{uuid.uuid4().hex[:8]}"
        url = make_pg_database(admin, name)
        request.addfinalizer(lambda: drop_pg_database(admin, name))
    migrate.upgrade(url)
    return seed(url, base / "instance", parcels=PARCELS, devices=DEVICES)


@pytest.fixture(scope="session")
def e2e_server(e2e_world, tmp_path_factory):
    """The shared server; tests that kill a server start their own."""
    server = Server(e2e_world, tmp_path_factory.mktemp("server-logs")).start()
    yield server
    server.stop()


@pytest.fixture
def scanners(e2e_world, e2e_server, tmp_path):
    """``scanners(n)``: n fresh scanner devices talking to the shared server."""
    made = []

    def make(n: int, server_url: str | None = None) -> list[Scanner]:
        devices = e2e_world.take_devices(n)
        out = [Scanner(d, tmp_path / f"scanner-{len(made) + i}", server_url or e2e_server.url)
               for i, d in enumerate(devices)]
        made.extend(out)
        return out

    return make
