"""Shared by the queue/server subcommands: settings, the queue, the API, error mapping.

Not a subcommand (it is not listed in ``COMMANDS``).
"""

from __future__ import annotations

import argparse
import functools
import sys

from scanner_client import exitcodes

PROG = "trace-scan"


def error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def guarded(run):
    """Map configuration and queue errors to their exit codes, with one clear line."""
    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        from scanner_client.config import ConfigError
        from scanner_client.queue import QueueCorrupt, QueueError

        try:
            return run(args)
        except ConfigError as exc:
            error(str(exc))
            return exitcodes.CONFIG_ERROR
        except QueueCorrupt as exc:
            error(str(exc))
            return exitcodes.QUEUE_CORRUPT
        except QueueError as exc:
            error(str(exc))
            return exitcodes.FAILURE
    return wrapper


def add_upload_options(parser: argparse.ArgumentParser, *, batch: bool = True) -> None:
    """Options that override the ``[upload]`` settings for one run."""
    g = parser.add_argument_group("retries (defaults from the [upload] settings)")
    if batch:
        g.add_argument("--batch-size", type=int, metavar="N",
                       help="scans per request, at most the server's max_batch (default 200)")
    g.add_argument("--deadline", type=float, metavar="S",
                   help="stop retrying S seconds after the start (default 120)")
    g.add_argument("--max-attempts", type=int, metavar="N",
                   help="give up after N consecutive failed attempts (default 0: no limit)")
    g.add_argument("--timeout", type=float, metavar="S",
                   help="seconds to wait for a response (default 60)")
    g.add_argument("--connect-timeout", type=float, metavar="S",
                   help="seconds to wait for a connection (default 5)")
    g.add_argument("--backoff-base", type=float, metavar="S",
                   help="first retry waits up to S seconds, doubling per failure (default 0.5)")
    g.add_argument("--backoff-cap", type=float, metavar="S",
                   help="never wait more than S seconds between retries (default 30)")


def settings(args: argparse.Namespace):
    """Settings from ``--config``, the environment and the upload options in ``args``."""
    from scanner_client import config

    s = config.load(getattr(args, "config", None))
    config.override_upload(s, args)
    return s


def open_queue(s, *, check: bool = True):
    from scanner_client.queue import Queue

    return Queue(s.queue_path, check=check)


def make_api(s):
    from scanner_client.api import Api

    server, key = s.require_server()
    return Api(server, key, timeout=s.upload.timeout, connect_timeout=s.upload.connect_timeout)


def make_retrier(s, *, deadline: float | None = None, max_attempts: int | None = None,
                 stop=None, notice=None):
    from scanner_client.upload import Backoff, Retrier

    return Retrier(Backoff(s.upload.backoff_base, s.upload.backoff_cap),
                   deadline=s.upload.deadline if deadline is None else deadline,
                   max_attempts=s.upload.max_attempts if max_attempts is None else max_attempts,
                   stop=stop, notice=notice)


def notice(text: str) -> None:
    """A line on stderr (clears a progress bar drawn there first)."""
    prefix = "\r\x1b[K" if sys.stderr.isatty() else ""
    print(f"{prefix}{PROG}: {text}", file=sys.stderr, flush=True)


def age(seconds: float) -> str:
    """``42s``, ``5m 3s``, ``2h 5m``, ``3d 4h``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def report_rejections(result, say, limit: int = 10) -> None:
    """One line per rejected or flagged scan of an upload run, at most ``limit`` of each."""
    for key, code, message in result.rejections[:limit]:
        say(f"REJECTED {key}: {code}: {message}")
    if len(result.rejections) > limit:
        say(f"... and {len(result.rejections) - limit} more rejected "
            "(trace-scan status --dead-letters)")
    for key, warnings in result.warnings[:limit]:
        say(f"WARNING {key}: the server flags {', '.join(warnings)} goods")
    if len(result.warnings) > limit:
        say(f"... and {len(result.warnings) - limit} more flagged by the server")
