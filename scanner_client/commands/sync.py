"""``trace-scan sync``: fetch the server's block list (recalled / expired goods) for offline use.

The list (``GET /api/v1/blocklist``: lots, serialised units, parcels carrying them)
replaces the local copy in the queue file in one transaction, so ``trace-scan scan``
flags a recalled pack at the scan even when the network is down.  The server's batch
limits (duplicate window) are refreshed at the same time.

Then the log: the scanner keeps the newest checkpoint it saw (``scanner_client.trust``) and
checks, with a consistency proof from the server checked by ``tlog_check``, that the
server's newest checkpoint extends it. A fork is a loud error naming both checkpoints and
exit code ``FORKED_LOG``; the block list is still replaced (recalls must reach the
scanner whatever the log did). A log check that cannot be made (network) is a warning.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "sync"
HELP = "fetch the recall / block list so recalled goods are flagged offline"
EPILOG = """exit codes: 0 OK, 10 NOT_VERIFIED (the server's checkpoint signature),
11 CONFIG_ERROR, 12 QUEUE_CORRUPT, 13 AUTH_ERROR, 14 SERVER_UNREACHABLE (local list
unchanged), 16 PROTOCOL_ERROR, 17 FORKED_LOG (the log does not extend the checkpoint this
scanner kept; see 'trace-scan trust')"""


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
        return check_log(api, s.home, say)
    finally:
        queue.close()
        api.close()


def check_log(api, home, say) -> int:
    """Pin the log key on first use, then check the newest checkpoint extends the kept one."""
    from scanner_client import trust as trusts
    from scanner_client import verify
    from scanner_client.api import TransportError

    trust = trusts.Trust.load(home)
    if trust.fork:
        _loud(trust.fork)
        return exitcodes.FORKED_LOG
    try:
        key_reply = api.log_public_key()
        latest = api.latest_checkpoint()
    except TransportError as exc:
        _common.notice(f"warning: the log was not checked this time: {exc}")
        return exitcodes.OK
    served_key = key_reply.body.get("verifier_key") if isinstance(key_reply.body, dict) else None
    note = latest.body.get("note") if isinstance(latest.body, dict) else None
    if key_reply.status != 200 or latest.status != 200 or not served_key or not note:
        _common.error(f"unexpected answer about the log: {key_reply.describe()} / "
                      f"{latest.describe()}")
        return exitcodes.PROTOCOL_ERROR
    pinned = trust.data.get("verifier_key")
    if pinned is None:
        trust.data["verifier_key"] = pinned = served_key
        trust.save()
        say(f"log key pinned on first use: {served_key}")
    elif pinned != served_key:
        record = {"message": f"FORKED LOG: the server's log key changed from {pinned} to "
                             f"{served_key}", "first": {"verifier_key": pinned},
                  "second": {"verifier_key": served_key}}
        trust.data["fork"] = record
        trust.save()
        _loud(record)
        return exitcodes.FORKED_LOG
    try:
        checkpoint = verify.open_checkpoint(note, verify.load_key(pinned))
    except ValueError as exc:  # NotVerified / InputError
        _common.error(f"the server's newest checkpoint does not verify with the log key: {exc}")
        return exitcodes.NOT_VERIFIED

    def fetch(first: int, second: int) -> list[bytes]:
        reply = api.consistency(first, second)
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise _NoProof(f"no consistency proof from {first} to {second}: {reply.describe()}")
        try:
            return [base64.b64decode(h, validate=True) for h in reply.body["proof"]]
        except (KeyError, TypeError, ValueError):
            raise _NoProof("the consistency proof is malformed") from None

    try:
        say("log: " + trusts.check_extends(trust, checkpoint, note, fetch))
    except trusts.ForkDetected as fork:
        _loud(fork.record)
        return exitcodes.FORKED_LOG
    except _NoProof as exc:
        # The server cannot prove its newest checkpoint extends ours: not a proven fork,
        # but nothing is trusted from it; the kept checkpoint stays.
        _common.error(f"the log cannot be checked: {exc}")
        return exitcodes.PROTOCOL_ERROR
    except TransportError as exc:
        _common.notice(f"warning: the log was not checked this time: {exc}")
    return exitcodes.OK


class _NoProof(Exception):
    pass


def _loud(record: dict) -> None:
    _common.error("\a" + record["message"])
    for which in ("first", "second"):
        part = record.get(which) or {}
        if "size" in part:
            _common.error(f"  {which}: checkpoint {part['size']} root {part['root_hash']}")
    _common.error("  the server's proofs are not trusted any more; after finding out what "
                  "happened, run 'trace-scan trust reset'")
