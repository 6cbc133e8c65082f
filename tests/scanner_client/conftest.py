"""Fixtures for the scanner client tests: a small generated image set and a CLI runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) from anywhere
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def image_set(tmp_path_factory):
    """The test subset of benchmarks.decode_images, rendered once per session.

    Returns {(kind, degradation): {"path": Path, **truth entry}}.
    """
    from benchmarks.decode_images import test_subset_specs, write_set

    outdir = tmp_path_factory.mktemp("decode_images")
    truth = write_set(outdir, test_subset_specs())
    return {(e["kind"], e["degradation"]): {**e, "path": outdir / e["file"]} for e in truth}


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code = code
        self.out = out
        self.err = err

    @property
    def records(self) -> list[dict]:
        """The --json output, one dict per line."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def trace_scan(capsys):
    """Run ``scanner_client.cli.main(argv)`` in-process; return code, stdout, stderr."""
    from scanner_client.cli import main

    def run(*argv) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def scan_home(tmp_path, monkeypatch):
    """A fresh TRACE_SCAN_HOME (queue, config) with no other TRACE_SCAN_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith("TRACE_SCAN_"):
            monkeypatch.delenv(name)
    home = tmp_path / "scan-home"
    monkeypatch.setenv("TRACE_SCAN_HOME", str(home))
    return home


@pytest.fixture
def wedge(monkeypatch):
    """``wedge("code1", "code2")``: what a keyboard-wedge scanner types on stdin next."""
    import io

    def type_codes(*codes: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{c}\n" for c in codes)))

    return type_codes
