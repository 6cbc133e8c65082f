"""``trace-scan repair``: replace a damaged queue file with one holding every readable scan.

A damaged queue is never repaired behind the worker's back: every command that opens it
stops with QUEUE_CORRUPT and points here.  ``repair`` reads the damaged file page by page
(:mod:`scanner_client.salvage`), writes the scans and dead letters it can read into a new
queue, keeps the damaged file next to it as ``queue.sqlite3.damaged-<time>`` and puts the
new queue in its place.  A healthy queue is left alone.  ``--from FILE`` salvages the
rows of a kept damaged file again into the current queue (ids already there are skipped).
"""

from __future__ import annotations

import argparse

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "repair"
HELP = "move a damaged queue file aside and salvage every readable scan"
EPILOG = """exit codes: 0 OK (repaired, or nothing to repair), 5 INPUT_ERROR (--from FILE
missing), 11 CONFIG_ERROR"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import add_arguments as add_config

    add_config(parser)
    parser.add_argument("--from", dest="source", metavar="FILE",
                        help="salvage from this (damaged) queue file into the current queue")


@_common.guarded
def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scanner_client.salvage import repair, salvage_into

    s = _common.settings(args)
    if args.source:
        source = Path(args.source)
        if not source.is_file():
            _common.error(f"{source}: no such file")
            return exitcodes.INPUT_ERROR
        queue = _common.open_queue(s)
        try:
            before = queue.depth()
            found = salvage_into(queue, source)
            added = queue.depth() - before
        finally:
            queue.close()
        print(f"read {len(found.scans)} queued scans and {len(found.dead_letters)} dead "
              f"letters from {source}; {added} scan(s) added to {s.queue_path}")
        return exitcodes.OK
    report = repair(s.queue_path)
    if report.aside is None:
        print(f"{report.queue} is healthy ({report.scans} queued, {report.dead_letters} dead "
              "letters): nothing to repair")
        return exitcodes.OK
    print(f"the damaged queue was moved aside to {report.aside}")
    print(f"salvaged {report.scans} queued scan(s) and {report.dead_letters} dead letter(s) "
          f"into a new queue at {report.queue} ({report.bad_pages} of {report.pages} pages "
          "unreadable or unused)")
    print("next: 'trace-scan sync' to restore the block list, 'trace-scan upload' to send "
          "the scans (the server ignores any it already has)")
    return exitcodes.OK
