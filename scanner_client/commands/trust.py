"""``trace-scan trust``: what this scanner trusts about the server's log, and clearing it.

    trace-scan trust show     the pinned log key, the kept checkpoint, any fork found
    trace-scan trust reset    forget all three (after a fork has been looked into, or
                              when the operator announced a new log key)

The state is ``$TRACE_SCAN_HOME/log-trust.json`` (``scanner_client.trust``); the next
``trace-scan sync`` pins the key and keeps the newest checkpoint again.
"""

from __future__ import annotations

import argparse
import json

from scanner_client import exitcodes

NAME = "trust"
HELP = "show or reset the log key and checkpoint this scanner trusts (after a fork)"
EPILOG = "exit codes: 0 OK, 11 CONFIG_ERROR, 17 FORKED_LOG (show: a fork is recorded)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import add_arguments as add_config

    add_config(parser)
    parser.add_argument("action", choices=("show", "reset"))


def run(args: argparse.Namespace) -> int:
    from scanner_client import config
    from scanner_client.trust import Trust

    try:
        home = config.load(getattr(args, "config", None)).home
    except config.ConfigError as exc:
        print(f"trace-scan: error: {exc}")
        return exitcodes.CONFIG_ERROR
    trust = Trust.load(home)
    if args.action == "reset":
        had = trust.fork
        trust.reset()
        print(f"trust reset ({trust.path}): the next sync pins the log key again"
              + ("; the recorded fork was cleared" if had else ""))
        return exitcodes.OK
    shown = dict(trust.data)
    if "checkpoint" in shown:
        shown["checkpoint"] = {k: v for k, v in shown["checkpoint"].items() if k != "note"}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return exitcodes.FORKED_LOG if trust.fork else exitcodes.OK
