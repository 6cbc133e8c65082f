"""Exports: sortable CSV (for Excel), JSON, and the evidence bundle.

CSV files are UTF-8 with a byte-order mark (so Excel reads Chinese text right), CRLF line
ends, one header row, a fixed column order, times in ISO 8601 UTC, no personal data, and
cells that Excel would take for a formula (starting with ``= + - @``, tab or CR) prefixed
with ``'``.

The evidence bundle (``trace-evidence-bundle/v1``) is a zip::

    manifest.json         what is in the bundle, with SHA-256 and size of every other file
    manifest.sig          a signed note over the manifest's SHA-256, by the log's key
    checkpoint.txt        the signed checkpoint every proof leads to
    public-key.json       the log's public key (as GET /api/v1/log/public-key; for reference
                          only: verify with the key you already trust)
    events/NNNN-<id>.json each event's inclusion-proof bundle (canonical content, audit
                          path, checkpoint): ``trace-scan verify`` checks each one alone
    trail.json, trail.csv the trail as the console shows it (who, where, when)
    README.txt            how to check it

``python -m scanner_client.evidence BUNDLE.zip --public-key KEY`` checks all of it offline
(see docs/inspector.md); any edit, addition or removal makes it fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from base64 import b64encode

from sqlalchemy import select

from trace_service.chain.models import Event, EventKey
from trace_service.chain.services import describe_key, find_key
from trace_service.context import Ctx
from trace_service.errors import Unprocessable
from trace_service.inspect import integrity
from trace_service.inspect.search import _Who, step_view
from trace_service.ledger.models import LedgerEntry
from trace_service.ledger.notes import SIGNATURE_PREFIX, LogKey

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EVIDENCE_FORMAT = "trace-evidence-bundle/v1"
MAX_EVIDENCE_EVENTS = 5000

TRAIL_COLUMNS = (
    "n", "event_id", "biz_step", "disposition", "via", "event_time_utc", "local_time",
    "record_time_utc", "party_id", "party", "device_id", "device", "staff_no", "point_id",
    "point", "city", "gln", "order", "integrity", "log_seq",
)


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(columns, rows) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def sort_rows(rows: list[dict], column: str | None, descending: bool, allowed) -> list[dict]:
    """Rows sorted by one column (blank values last), stably; the default order otherwise."""
    if not column:
        return rows
    if column not in allowed:
        raise Unprocessable("bad_sort", f"sort: one of {', '.join(allowed)}", field="sort")
    present = [r for r in rows if r.get(column) is not None]
    blank = [r for r in rows if r.get(column) is None]
    present.sort(key=lambda r: _sort_key(r[column]), reverse=descending)
    return present + blank


def _sort_key(value):
    if isinstance(value, dt.datetime):
        return (1, value.astimezone(dt.timezone.utc).isoformat())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (2, str(value))


def trail_rows(steps: list[dict]) -> list[dict]:
    return [{
        "n": i + 1, "event_id": s["event_id"], "biz_step": s["biz_step"],
        "disposition": s["disposition"], "via": s["via"],
        "event_time_utc": s["when"]["event_time"], "local_time": s["when"]["local_time"],
        "record_time_utc": s["when"]["record_time"], "party_id": s["who"]["party_id"],
        "party": s["who"]["party"], "device_id": s["who"]["device_id"],
        "device": s["who"]["device"], "staff_no": s["who"]["staff_no"],
        "point_id": s["where"]["point_id"], "point": s["where"]["point"],
        "city": s["where"]["city"], "gln": s["where"]["gln"],
        "order": s["transactions"].get("order"), "integrity": s["integrity"]["status"],
        "log_seq": s["integrity"].get("seq"),
    } for i, s in enumerate(steps)]


def full_trail(ctx: Ctx, text_: str, key: LogKey, max_events: int = MAX_EVIDENCE_EVENTS):
    """Every step of a trace key with integrity status (for exports): (header, events,
    steps, checkpoint)."""
    tk = find_key(ctx.db, text_)
    rows = ctx.db.execute(
        select(Event, EventKey.role).join(EventKey, EventKey.event_id == Event.id)
        .where(EventKey.trace_key_id == tk.id).order_by(Event.id).limit(max_events + 1)).all()
    if len(rows) > max_events:
        raise Unprocessable("trail_too_long", f"{tk.key} has more than {max_events} steps; "
                            "export it in pages from /api/v1/inspect/trail", key=tk.key)
    checkpoint = integrity.fresh_checkpoint(ctx.db, key)
    events = [e for e, _ in rows]
    statuses = integrity.check_events(ctx.db, key, checkpoint, events)
    who = _Who(ctx.db, events)
    steps = [step_view(e, role, who, statuses[e.id]) for e, role in rows]
    return tk, describe_key(ctx.db, tk), events, steps, checkpoint


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_bytes(value) -> bytes:
    return json.dumps(jsonable(value), ensure_ascii=False, indent=1).encode("utf-8")


# --- evidence --------------------------------------------------------------------------------


def sign_manifest(key: LogKey, manifest: bytes) -> str:
    """A signed note (``trace-evidence-bundle/v1`` / SHA-256 of the manifest), signed by the
    log's key under the log id. Its first line is not a log id and it has no tree size, so
    it can never be taken for a checkpoint."""
    body = f"{EVIDENCE_FORMAT}\nsha256 {hashlib.sha256(manifest).hexdigest()}\n"
    blob = b64encode(key.key_id_for() + key.sign(body)).decode()
    return f"{body}\n{SIGNATURE_PREFIX}{key.name} {blob}\n"


def evidence_bundle(ctx: Ctx, text_: str, key: LogKey) -> tuple[str, bytes]:
    """(file name, zip bytes) of the evidence bundle of a trace key's whole trail."""
    tk, header, events, steps, checkpoint = full_trail(ctx, text_, key)
    seqs = dict(ctx.db.execute(select(LedgerEntry.event_pk, LedgerEntry.seq).where(
        LedgerEntry.event_pk.in_([e.id for e in events]))).all()) if events else {}
    files: dict[str, bytes] = {}
    entries, left_out = [], []
    for n, event in enumerate(events, 1):
        seq = seqs.get(event.id)
        if seq is None or checkpoint is None or seq >= checkpoint.size:
            left_out.append({"event_id": event.event_id, "why": "not covered by the checkpoint"
                             if seq is not None else "not in the log"})
            continue
        path = f"events/{n:04d}-{event.event_id}.json"
        files[path] = json.dumps(integrity.proof_bundle(ctx.db, key, checkpoint, event, seq),
                                 ensure_ascii=False, indent=1).encode("utf-8")
        entries.append({"event_id": event.event_id, "seq": seq, "file": path})
    if checkpoint is not None:
        files["checkpoint.txt"] = checkpoint.note(key).encode("utf-8")
    files["public-key.json"] = json.dumps(integrity.public_key_document(key),
                                          indent=1).encode("utf-8")
    files["trail.json"] = json_bytes({"trace_key": header, "steps": steps})
    files["trail.csv"] = csv_bytes(TRAIL_COLUMNS, ([r[c] for c in TRAIL_COLUMNS]
                                                   for r in trail_rows(steps)))
    files["README.txt"] = _README.format(key=tk.key).encode("utf-8")
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    manifest = json.dumps({
        "format": EVIDENCE_FORMAT,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "subject": {"kind": tk.kind, "key": tk.key},
        "log_id": key.name,
        "tree_size": checkpoint.size if checkpoint else 0,
        "checkpoint": "checkpoint.txt" if checkpoint else None,
        "public_key": "public-key.json",
        "events": entries,
        "events_left_out": left_out,
        "files": [{"path": p, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
                  for p, b in sorted(files.items())],
    }, ensure_ascii=False, indent=1).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", manifest)
        zf.writestr("manifest.sig", sign_manifest(key, manifest))
        for path, data in sorted(files.items()):
            zf.writestr(path, data)
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    return f"evidence-{_slug(tk.key)}-{stamp}.zip", buffer.getvalue()


def _slug(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in key)[:80]


_README = """Evidence bundle of {key}
========================

Every step of the trail is one file in events/: the event's canonical content (the exact
bytes the service's append-only log hashed), its place in the log and the audit path to
the signed checkpoint in checkpoint.txt. manifest.json lists every file with its SHA-256,
and manifest.sig is the log key's signature over the manifest.

Check it offline, trusting only the log's public key (obtained from a source you trust,
not from this bundle):

    python -m scanner_client.evidence THIS.zip --public-key KEY

or each event alone:

    trace-scan verify events/*.json --public-key KEY

Any changed, added or removed byte makes the check fail and says where.
"""
