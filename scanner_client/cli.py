"""``trace-scan``: the scanner client's command line.

    trace-scan [-h] [--version] COMMAND ...

Subcommands are modules in :mod:`scanner_client.commands` (see there how to add
one).  :func:`main` returns an exit code from :mod:`scanner_client.exitcodes`
instead of raising ``SystemExit``, so it can be called from tests and scripts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from scanner_client import __version__, exitcodes
from scanner_client.commands import COMMANDS

PROG = "trace-scan"

EPILOG = """exit codes (each subcommand's --help lists those it uses):
  0  OK                  success
  1  FAILURE             unexpected internal error
  2  USAGE               bad command line
  3  NOTHING_DECODED     an image held no readable barcode
  4  INVALID_CODE        a barcode was read but is not a valid identifier
  5  INPUT_ERROR         an input file is missing, not an image or corrupt
  10 NOT_VERIFIED        verify: the proof does not verify
  11 CONFIG_ERROR        bad or missing settings (config file, TRACE_SCAN_* variables)
  12 QUEUE_CORRUPT       the local queue file is damaged: run 'trace-scan repair'
  13 AUTH_ERROR          the server refused the device key; queue intact
  14 SERVER_UNREACHABLE  server down / failing until the deadline; queue intact
  15 SCANS_REJECTED      upload: some scans were rejected (see status --dead-letters)
  16 PROTOCOL_ERROR      an answer the client cannot act on (wrong URL?); queue intact
  17 FORKED_LOG          sync: the server's log forked; proofs refused until 'trust reset'
  130 INTERRUPTED        Ctrl-C
with several inputs the most severe applies (5 > 4 > 3 > 0).
set TRACE_SCAN_DEBUG=1 to get a traceback on internal errors."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Scanner client of the trace service: read barcodes, check them locally.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = importlib.import_module(f"scanner_client.commands.{module_name}")
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``trace-scan`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(f"scanner_client.commands.{argv[0]}")
        if getattr(module, "PASSTHROUGH", False):  # parses its own command line (and --help)
            return _run(lambda: module.main(argv[1:]))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else exitcodes.USAGE
    if getattr(args, "_run", None) is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (try '{PROG} --help')", file=sys.stderr)
        return exitcodes.USAGE
    return _run(lambda: args._run(args))


def _run(call) -> int:
    """Run a subcommand, turning Ctrl-C, a closed pipe and internal errors into exit codes."""
    try:
        return call()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - avoid a second error at exit
        except OSError:
            pass
        return exitcodes.OK
    except Exception as exc:  # last resort: a message, not a traceback
        if os.environ.get("TRACE_SCAN_DEBUG"):
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exitcodes.FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
