"""``trace-witness``: ``init`` (key and logs), ``serve``, ``key`` (print the verifier key).

The home directory is ``--home``, else ``$TRACE_WITNESS_HOME``, else ``~/.trace-witness``.
Exit codes: 0 ok, 2 bad command line, 3 no or incomplete witness in the home directory,
4 an invalid key or name.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import tlog_check
from tlog_witness.witness import Witness

NO_WITNESS = 3
BAD_KEY = 4


def _home(args) -> str:
    return (args.home or os.environ.get("TRACE_WITNESS_HOME")
            or os.path.expanduser("~/.trace-witness"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trace-witness",
                                     description="cosign checkpoints that extend the last one")
    parser.add_argument("--home", help="state directory (default $TRACE_WITNESS_HOME or "
                                       "~/.trace-witness)")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="make the witness key and follow logs")
    init.add_argument("--name", required=True, help="the witness's key name, e.g. "
                                                    "witness.example.org/w1")
    init.add_argument("--log-key", action="append", required=True, metavar="VERIFIER_KEY",
                      help="a log's verifier key (GET /api/v1/log/public-key); repeatable")
    serve = sub.add_parser("serve", help="answer POST /add-checkpoint")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8400)
    sub.add_parser("key", help="print the witness's verifier key")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    home = _home(args)
    try:
        if args.command == "init":
            witness = Witness.init(home, args.name, args.log_key)
            print(witness.verifier_key)
            return 0
        witness = Witness(home)
    except tlog_check.TlogError as exc:
        print(f"error [{exc.code}]: {exc}", file=sys.stderr)
        return BAD_KEY
    except (OSError, ValueError) as exc:
        print(f"error [no_witness]: {exc}", file=sys.stderr)
        return NO_WITNESS
    if args.command == "key":
        print(witness.verifier_key)
        return 0
    from tlog_witness.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = make_server(witness, args.host, args.port)
    print(f"witness {witness.key.name} listening on http://{args.host}:"
          f"{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
