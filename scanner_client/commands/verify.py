"""``trace-scan verify``: a thin entry to :func:`scanner_client.verify.main`.

The verifier (offline check of the service's log proofs) parses its own command line,
including ``--help``: ``PASSTHROUGH`` tells :mod:`scanner_client.cli` to hand it the
arguments untouched.  Its exit codes: 0 verified, 2 usage, 5 unreadable input,
10 NOT_VERIFIED.
"""

from __future__ import annotations

import argparse

NAME = "verify"
HELP = "check a log proof bundle offline (see 'trace-scan verify --help')"
PASSTHROUGH = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Only for the command list in ``trace-scan --help``; :func:`main` parses."""


def main(argv: list[str]) -> int:
    from scanner_client.verify import main as verify_main

    return verify_main(argv)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - cli uses main()
    return main([])
