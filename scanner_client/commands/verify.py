"""``trace-scan verify``: a thin entry to :func:`scanner_client.verify.main`.

The verifier (offline check of the service's log proofs) parses its own command line,
including ``--help``: ``PASSTHROUGH`` tells :mod:`scanner_client.cli` to hand it the
arguments untouched.  Its exit codes: 0 verified, 2 usage, 5 unreadable input,
10 NOT_VERIFIED, 17 FORKED_LOG (``sync`` recorded a fork: see ``trace-scan trust``).
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

    refused = _fork_recorded()
    if refused is not None:
        return refused
    return verify_main(argv)


def _fork_recorded() -> int | None:
    """FORKED_LOG when ``sync`` found this server's log forked (``scanner_client.trust``):
    its proofs are not trusted until ``trace-scan trust reset``."""
    import sys

    from scanner_client import config, exitcodes
    from scanner_client.trust import Trust

    try:
        home = config.load(None).home
    except config.ConfigError:
        return None  # no settings: an offline verifier with only a key, nothing recorded
    fork = Trust.load(home).fork
    if not fork:
        return None
    print(f"trace-scan verify: error: {fork['message']}; the server's proofs are refused "
          "until 'trace-scan trust reset'", file=sys.stderr)
    return exitcodes.FORKED_LOG


def run(args: argparse.Namespace) -> int:  # pragma: no cover - cli uses main()
    return main([])
