"""What this scanner trusts about the server's log: its key, the newest checkpoint seen,
and whether a fork was ever found (``$TRACE_SCAN_HOME/log-trust.json``).

Every scanner is a small witness of the log. ``trace-scan sync`` pins the log's key on
first use, then on every sync checks that the server's newest checkpoint extends the
newest one this scanner saw: same size means the same root; a larger size needs a valid
RFC 6962 consistency proof *from the root kept here* (not from whatever the server now
says that checkpoint was); a smaller one is a rollback. Any failure is a fork: both
checkpoints are recorded, ``sync`` exits ``FORKED_LOG`` and ``trace-scan verify`` refuses
the server's proofs until an operator who has looked into it runs ``trace-scan trust
reset``. The checks are those of ``tlog_check`` (via :mod:`scanner_client.verify`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import tlog_check

TRUST_FILE = "log-trust.json"


class ForkDetected(Exception):
    """The server's log does not extend what this scanner saw; ``record`` says how."""

    def __init__(self, message: str, record: dict):
        super().__init__(message)
        self.record = record


@dataclass
class Trust:
    path: Path
    data: dict

    @classmethod
    def load(cls, home: Path) -> "Trust":
        path = Path(home) / TRUST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            # An unreadable trust file must not be taken for "trust anything".
            data = {"fork": {"message": f"the trust file {path} cannot be read ({exc}); "
                                        "run 'trace-scan trust reset' after checking it"}}
        return cls(path, data if isinstance(data, dict) else {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    @property
    def fork(self) -> dict | None:
        return self.data.get("fork")

    def reset(self) -> None:
        self.data = {}
        self.save()


def describe(size: int, root: bytes | str) -> str:
    if isinstance(root, bytes):
        root = base64.b64encode(root).decode()
    return f"checkpoint {size} (root {root})"


def check_extends(trust: Trust, checkpoint, note: str, fetch_consistency) -> str:
    """Check that ``checkpoint`` (already verified with the pinned key) extends the one
    kept in ``trust``; keep it when it does. ``fetch_consistency(first, second)`` returns
    the proof hashes from the server. Returns what happened; raises :class:`ForkDetected`
    (after recording it) when the log forked."""
    kept = trust.data.get("checkpoint")
    if not kept:
        _keep(trust, checkpoint, note)
        return f"trusting {describe(checkpoint.size, checkpoint.root)}, the first seen"
    old_size, old_root = kept["size"], base64.b64decode(kept["root_hash"])
    new = describe(checkpoint.size, checkpoint.root)
    old = describe(old_size, old_root)
    problem = None
    if checkpoint.size < old_size:
        problem = f"the server's newest {new} is smaller than {old} seen before: rolled back"
    elif checkpoint.size == old_size:
        if checkpoint.root != old_root:
            problem = f"{new} and {old} seen before have the same size and different roots"
    else:
        proof = fetch_consistency(old_size, checkpoint.size)
        if not tlog_check.verify_consistency(old_size, checkpoint.size, old_root,
                                             checkpoint.root, proof):
            problem = f"{new} does not extend {old} seen before: the consistency proof fails"
    if problem:
        record = {"message": f"FORKED LOG: {problem}",
                  "first": {"size": old_size, "root_hash": kept["root_hash"],
                            "note": kept.get("note")},
                  "second": {"size": checkpoint.size,
                             "root_hash": base64.b64encode(checkpoint.root).decode(),
                             "note": note},
                  "detected_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        trust.data["fork"] = record
        trust.save()
        raise ForkDetected(record["message"], record)
    if checkpoint.size > old_size:
        _keep(trust, checkpoint, note)
        return f"{new} extends {old}"
    return f"{new} unchanged"


def _keep(trust: Trust, checkpoint, note: str) -> None:
    trust.data["checkpoint"] = {"size": checkpoint.size,
                                "root_hash": base64.b64encode(checkpoint.root).decode(),
                                "note": note}
    trust.save()
