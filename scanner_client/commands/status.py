"""``trace-scan status``: what is waiting in the local queue, and when it last reached the server.

Works offline; never contacts the server and never shows the device key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "status"
HELP = "queue depth, oldest pending scan, last upload and sync, dead letters"
EPILOG = """exit codes: 0 OK, 11 CONFIG_ERROR, 12 QUEUE_CORRUPT (run 'trace-scan repair')"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import add_arguments as add_config

    add_config(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--dead-letters", action="store_true",
                        help="list the scans the server rejected, with its reasons")


def _gather(s, queue) -> dict:
    oldest = queue.oldest()
    return {
        "queue": str(s.queue_path),
        "server": s.server,
        "device_key": "set" if s.key else "missing",
        "pending": queue.depth(),
        "oldest_pending": None if oldest is None else {
            "id": oldest.id, "key": oldest.trace_key, "step": oldest.step,
            "device_time": oldest.device_time,
            "age_seconds": round(time.time() - oldest.queued_at, 1)},
        "last_upload": queue.meta("last_upload"),
        "last_upload_error": queue.meta("last_upload_error"),
        "last_sync": queue.meta("last_sync"),
        "blocklist_entries": queue.blocklist_size(),
        "dead_letters": queue.dead_letter_count(),
    }


def _dead(row: dict) -> dict:
    return {"id": row["id"], "key": row["trace_key"], "text": row["code_text"],
            "step": row["step"], "device_time": row["device_time"], "code": row["code"],
            "message": row["message"],
            "rejected_at": dt.datetime.fromtimestamp(row["dead_at"], dt.timezone.utc)
            .isoformat(timespec="seconds")}


@_common.guarded
def run(args: argparse.Namespace) -> int:
    s = _common.settings(args)
    queue = _common.open_queue(s)
    try:
        info = _gather(s, queue)
        dead = [_dead(r) for r in queue.dead_letters()] if args.dead_letters else None
    finally:
        queue.close()
    if args.json:
        if dead is not None:
            info["dead_letter_list"] = dead
        print(json.dumps(info, ensure_ascii=False))
        return exitcodes.OK
    oldest = info["oldest_pending"]
    lines = [
        f"queue          {info['queue']}",
        f"server         {info['server'] or '(not configured)'}  (device key "
        f"{info['device_key']})",
        f"pending        {info['pending']} scan(s)",
        "oldest pending " + ("-" if oldest is None else
                             f"{oldest['key']} {oldest['step']} at {oldest['device_time']} "
                             f"({_common.age(oldest['age_seconds'])} ago)"),
        f"last upload    {info['last_upload'] or 'never'}",
    ]
    if info["last_upload_error"]:
        lines.append(f"upload problem {info['last_upload_error']}")
    lines += [
        f"last sync      {info['last_sync'] or 'never'} "
        f"({info['blocklist_entries']} block-list entries)",
        f"dead letters   {info['dead_letters']}"
        + ("" if args.dead_letters or not info["dead_letters"]
           else "  (trace-scan status --dead-letters)"),
    ]
    print("\n".join(lines))
    for d in dead or []:
        print(f"  {d['rejected_at']}  {d['key']}  {d['step']}  {d['code']}: {d['message']}")
    return exitcodes.OK
