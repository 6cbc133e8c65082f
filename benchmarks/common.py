"""Helpers shared by the benchmarks: BENCH lines, medians, real servers, databases."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TRACE_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")


def bench(name: str, value: float, unit: str) -> None:
    """Print one figure the way `make bench` collects them."""
    print(f"BENCH {name} {value:.4g} {unit}", flush=True)


def median(values):
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def fresh_database(kind: str, workdir: Path) -> tuple[str, callable]:
    """A new empty database URL of ``kind`` ("sqlite" or "postgresql") and its cleanup."""
    if kind == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        return f"sqlite:///{path}", lambda: None
    name = f"trace_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, drop


class Server:
    """`trace-service serve` (gunicorn) as a real process on a free port."""

    def __init__(self, database_url: str, instance: Path, workers: int | None = None,
                 threads: int | None = None):
        """``workers`` and ``threads`` default to those of ``trace-service serve``."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, TRACE_DATABASE_URL=database_url, TRACE_INSTANCE_PATH=str(instance))
        exe = Path(sys.executable).parent / "trace-service"
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(self.port)]
            + (["--workers", str(workers)] if workers else [])
            + (["--threads", str(threads)] if threads else []), env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.base + "/api/v1/openapi.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
