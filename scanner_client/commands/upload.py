"""``trace-scan upload``: send every queued scan to the server, in batches, with retries.

How each reply is handled is documented in :mod:`scanner_client.upload`.
"""

from __future__ import annotations

import argparse
import sys

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "upload"
HELP = "send the queued scans to the server (batches, retries with backoff)"
DESCRIPTION = """Send the queued scans to the server in batches, oldest first. A scan leaves
the queue only when the server's receipt for it has been stored: accepted and duplicate
scans are removed, rejected ones go to the dead-letter list (trace-scan status
--dead-letters). Server errors, timeouts and network errors are retried with exponential
backoff and full jitter until --deadline; retrying is always safe (the server
de-duplicates by scan id)."""
EPILOG = """exit codes:
  0  OK                  the queue is empty, no scan rejected in this run
  11 CONFIG_ERROR        no server URL / device key, or a bad setting
  12 QUEUE_CORRUPT       the queue file is damaged: run 'trace-scan repair'
  13 AUTH_ERROR          the server refused the device key (401/403); queue intact
  14 SERVER_UNREACHABLE  still failing at --deadline / --max-attempts; queue intact
  15 SCANS_REJECTED      queue drained, but some scans were rejected (dead letters)
  16 PROTOCOL_ERROR      an answer the client cannot act on (404: wrong URL?); queue intact"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import add_arguments as add_config

    add_config(parser)
    _common.add_upload_options(parser)
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None,
                     help="draw a progress bar on stderr (default: when stderr is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")


@_common.guarded
def run(args: argparse.Namespace) -> int:
    from scanner_client.upload import DONE, Progress, Uploader

    s = _common.settings(args)
    api = _common.make_api(s)
    queue = _common.open_queue(s)
    try:
        total = queue.depth()
        if total == 0:
            if not args.quiet:
                _common.notice("nothing to upload: the queue is empty")
            return exitcodes.OK
        show = sys.stderr.isatty() if args.progress is None else args.progress
        retrier = _common.make_retrier(s, notice=None if args.quiet else _common.notice)
        uploader = Uploader(queue, api, retrier, batch_size=s.upload.batch_size,
                            progress=Progress(total, show and not args.quiet))
        result = uploader.run()
        _common.report_rejections(result, _common.notice)
        if result.outcome != DONE:
            queue.set_meta(last_upload_error=result.message)
            _common.error(f"{result.message.rstrip('.')} ({result.summary()})")
        else:
            queue.set_meta(last_upload_error=None)
            if not args.quiet:
                _common.notice(f"uploaded: {result.summary()}")
        return result.exit_code
    finally:
        queue.close()
        api.close()
