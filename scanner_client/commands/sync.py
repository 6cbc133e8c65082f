"""``trace-scan sync``: fetch the server's block list (recalled / expired goods) for offline use.

The list (``GET /api/v1/blocklist``: lots, serialised units, parcels carrying them)
replaces the local copy in the queue file in one transaction, so ``trace-scan scan``
flags a recalled pack at the scan even when the network is down.  The server's batch
limits (duplicate window) are refreshed at the same time.
"""

from __future__ import annotations

import argparse
import datetime as dt

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "sync"
HELP = "fetch the recall / block list so recalled goods are flagged offline"
EPILOG = """exit codes: 0 OK, 11 CONFIG_ERROR, 12 QUEUE_CORRUPT, 13 AUTH_ERROR,
14 SERVER_UNREACHABLE (local list unchanged), 16 PROTOCOL_ERROR"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import add_arguments as add_config

    add_config(parser)
    _common.add_upload_options(parser, batch=False)
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")


def _entries(body: dict) -> list[tuple] | None:
    """Block-list rows ``(key, kind, reason, since)``; None when the body is malformed."""
    lots, units, parcels = body.get("lots"), body.get("units"), body.get("parcels")
    if not all(isinstance(x, list) for x in (lots, units, parcels)):
        return None
    out = []
    try:
        for lot in lots:
            out.append((str(lot["key"]), "lot", str(lot.get("reason") or "blocked"),
                        lot.get("since")))
        for unit in units:
            out.append((str(unit["key"]), "unit", str(unit.get("reason") or "blocked"), None))
        out += [(str(key), "parcel", "blocked", None) for key in parcels]
    except (KeyError, TypeError):
        return None
    return out


@_common.guarded
def run(args: argparse.Namespace) -> int:
    from scanner_client.upload import Stop

    s = _common.settings(args)
    api = _common.make_api(s)
    queue = _common.open_queue(s)
    say = (lambda text: None) if args.quiet else _common.notice
    try:
        retrier = _common.make_retrier(s, notice=say)
        try:
            reply = retrier.call(api.blocklist)
            limits = retrier.call(api.limits) if reply.status == 200 else None
        except Stop as stop:
            _common.error(f"{stop.message}; the local block list is unchanged")
            return {"auth": exitcodes.AUTH_ERROR}.get(stop.outcome,
                                                       exitcodes.SERVER_UNREACHABLE)
        entries = _entries(reply.body) if reply.status == 200 and isinstance(reply.body,
                                                                               dict) else None
        if entries is None:
            _common.error(f"unexpected answer to GET blocklist: {reply.describe()}")
            return exitcodes.PROTOCOL_ERROR
        meta = {"last_sync": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "blocklist_generated_at": reply.body.get("generated_at"),
                "blocklist_truncated": "1" if reply.body.get("truncated") else "0"}
        if limits is not None and limits.status == 200 and isinstance(limits.body, dict):
            window = limits.body.get("duplicate_window_seconds")
            if isinstance(window, int) and window >= 0:
                meta["duplicate_window_seconds"] = window
        queue.replace_blocklist(entries, **meta)
        kinds = [e[1] for e in entries]
        say(f"block list: {kinds.count('lot')} lots, {kinds.count('unit')} units, "
            f"{kinds.count('parcel')} parcels (server time {meta['blocklist_generated_at']})")
        if reply.body.get("truncated"):
            _common.notice("warning: the server truncated the unit list; lots and parcels "
                           "are complete")
        return exitcodes.OK
    finally:
        queue.close()
        api.close()
