"""Witness cosignatures: after each checkpoint, ask every configured witness to cosign it.

A witness (``tlog_witness``, or any C2SP ``tlog-witness``) cosigns a checkpoint only if it
extends the last one it cosigned, so checkpoints carrying cosignatures of witnesses that
are not the operator cannot be part of a fork, even if the operator holds the key and the
database. ``TRACE_WITNESSES`` names them (``settings.parse_witnesses``).

When a checkpoint is signed (``services.sign_now``), :func:`checkpoint_signed` wakes one
background thread per database; the thread sends each witness ``add-checkpoint`` with a
consistency proof from the size that witness last cosigned (``ledger_witness_state``),
checks the returned cosignature against the witness's key and stores it
(``ledger_cosignatures``). A request never waits for a witness and never fails because
of one: a witness that is down, slow or refusing is logged, its error kept in its state
row, and asked again at the next checkpoint (with the newest one, which extends every
checkpoint it missed). A ``409`` tells the size the witness holds; the service retries
once from there. A witness holding a *different* tree at some size is logged as an error:
that is what a fork looks like from the outside.
"""

from __future__ import annotations

import atexit
import base64
import logging
import threading
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass

from sqlalchemy import func, select

import tlog_check
from trace_service.db import utcnow
from trace_service.ledger.models import LedgerCosignature, LedgerWitnessState

log = logging.getLogger("trace_service.ledger.witnesses")

COSIGNATURES = LedgerCosignature.__table__
STATE = LedgerWitnessState.__table__
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WitnessConfig:
    key: tlog_check.VerifierKey  # a cosignature/v1 (0x04) key
    url: str                      # the submission prefix: POST <url>/add-checkpoint

    @property
    def name(self) -> str:
        return self.key.name


# --- serving -------------------------------------------------------------------------------


def cosignatures_of(db, size: int) -> list[dict]:
    """The stored cosignatures of the checkpoint at ``size``, by witness name."""
    rows = db.execute(select(COSIGNATURES.c.witness, COSIGNATURES.c.line,
                             COSIGNATURES.c.cosigned_at)
                      .where(COSIGNATURES.c.size == size).order_by(COSIGNATURES.c.witness))
    return [{"witness": w, "line": line, "cosigned_at": at} for w, line, at in rows]


def count_cosignatures(db, size: int) -> int:
    return db.scalar(select(func.count()).select_from(COSIGNATURES)
                     .where(COSIGNATURES.c.size == size)) or 0


def with_cosignatures(note: str, cosignatures: list[dict]) -> str:
    """The note with the cosignature lines appended (a note may carry many signatures;
    verifiers ignore lines of keys they do not know)."""
    return note + "".join(c["line"] for c in cosignatures)


# --- collecting ------------------------------------------------------------------------------


class _Collector:
    """One daemon thread per database: collects for the newest checkpoint it was told of."""

    def __init__(self, database, witnesses: list[WitnessConfig], timeout: float):
        # A weak reference: the registry is keyed by the database, which must stay free
        # to be garbage-collected with its app.
        self._database = weakref.ref(database)
        self.witnesses, self.timeout = witnesses, timeout
        self.wanted = None
        self.cond = threading.Condition()
        self.busy = False
        self.thread: threading.Thread | None = None

    def submit(self, checkpoint, note: str) -> None:
        with self.cond:
            self.wanted = (checkpoint, note)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True,
                                               name="trace-witness-collector")
                self.thread.start()
            self.cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is pending (tests, one-shot commands)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.wanted is None and not self.busy, timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                if not self.cond.wait_for(lambda: self.wanted is not None, timeout=60):
                    self.thread = None
                    return
                checkpoint, note = self.wanted
                self.wanted, self.busy = None, True
            try:
                database = self._database()
                if database is not None:
                    collect(database, self.witnesses, checkpoint, note, self.timeout)
            except Exception:  # noqa: BLE001 - never let one bad round end the collector
                log.exception("collecting cosignatures of checkpoint %s failed", checkpoint.size)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()


_COLLECTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@atexit.register
def _drain() -> None:
    """At exit, let a pending round finish (bounded by the timeouts), so a one-shot
    ``trace-service checkpoint`` still reaches the witnesses before its process ends."""
    for found in list(_COLLECTORS.values()):
        found.wait_idle(found.timeout * (2 * len(found.witnesses) + 1))


def attach(database, witnesses: list[WitnessConfig], timeout: float = TIMEOUT_SECONDS) -> None:
    """Collect cosignatures for checkpoints signed through ``database`` (app start-up)."""
    if witnesses:
        _COLLECTORS[database] = _Collector(database, witnesses, timeout)
    else:
        _COLLECTORS.pop(database, None)


def collector(database) -> _Collector | None:
    return _COLLECTORS.get(database)


def checkpoint_signed(database, checkpoint, note: str) -> None:
    """Hand a freshly signed checkpoint to the background collector; returns at once."""
    found = _COLLECTORS.get(database)
    if found is not None:
        found.submit(checkpoint, note)


def collect(database, witnesses: list[WitnessConfig], checkpoint, note: str,
            timeout: float = TIMEOUT_SECONDS) -> dict[str, str]:
    """Ask each witness to cosign ``checkpoint``; {witness: outcome}. Never raises for a
    witness's failure: the outcome says what happened and the state row keeps it."""
    outcomes = {}
    for witness in witnesses:
        try:
            outcomes[witness.name] = _collect_one(database, witness, checkpoint, note, timeout)
        except Exception as exc:  # noqa: BLE001 - one witness never stops the others
            outcomes[witness.name] = f"error: {exc}"
            log.warning("witness %s: %s", witness.name, exc)
            _save_state(database, witness, None, f"{type(exc).__name__}: {exc}"[:500])
    return outcomes


def _known_size(database, witness: WitnessConfig) -> int:
    with database.read_session() as db:
        row = db.execute(select(STATE.c.size, STATE.c.verifier_key)
                         .where(STATE.c.witness == witness.name)).first()
    # A witness given a new key is a new witness: start from 0 and let it say its size.
    return row.size if row is not None and row.verifier_key == str(witness.key) else 0


def _collect_one(database, witness: WitnessConfig, checkpoint, note: str,
                 timeout: float) -> str:
    from trace_service.ledger import services

    old = _known_size(database, witness)
    if old == checkpoint.size:
        with database.read_session() as db:
            if any(c["witness"] == witness.name for c in cosignatures_of(db, old)):
                return "already cosigned"
    for _attempt in range(2):
        if old > checkpoint.size:
            _save_state(database, witness, old, None)
            return f"holds a newer checkpoint ({old})"
        proof = []
        if 0 < old < checkpoint.size:
            with database.read_session() as db:
                proof = services.consistency_proof(db, old, checkpoint.size)
        status, content_type, text = _post(witness, old, proof, note, timeout)
        if status == 200:
            return _store(database, witness, checkpoint, note, text)
        if status == 409 and content_type.startswith("text/x.tlog.size"):
            held = text.strip()
            if not held.isdigit():
                break
            if int(held) == old:  # same size, another tree: the witness saw a fork
                message = (f"witness {witness.name} holds a different checkpoint of size "
                           f"{old}: the log as this service has it is not the one the "
                           "witness cosigned (a fork); run 'trace-service verify'")
                log.error(message)
                _save_state(database, witness, None, message[:500])
                return "fork"
            old = int(held)
            continue
        message = f"add-checkpoint answered {status}: {text.strip()[:200]}"
        log.warning("witness %s: %s", witness.name, message)
        _save_state(database, witness, None, message)
        return message
    _save_state(database, witness, None, "add-checkpoint kept answering 409")
    return "conflict"


def _post(witness: WitnessConfig, old: int, proof: list[bytes], note: str,
          timeout: float) -> tuple[int, str, str]:
    body = "".join([f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof),
                    "\n", note]).encode()
    request = urllib.request.Request(witness.url.rstrip("/") + "/add-checkpoint", data=body,
                                     method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 (config)
            return reply.status, reply.headers.get("Content-Type", ""), \
                reply.read(64 * 1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Content-Type", ""), \
                exc.read(64 * 1024).decode("utf-8", "replace")


def _store(database, witness: WitnessConfig, checkpoint, note: str, text: str) -> str:
    """Keep the witness's cosignature of ``checkpoint`` once it verifies with its key."""
    body = tlog_check.parse_note(note)[0]
    for line in text.splitlines(keepends=True):
        try:
            when = tlog_check.verify_cosignature(line, body, witness.key)
        except tlog_check.TlogError:
            continue  # lines of other keys, as the spec says, are ignored
        line = line if line.endswith("\n") else line + "\n"
        with database.write_session() as db:
            exists = db.execute(select(COSIGNATURES.c.size).where(
                COSIGNATURES.c.size == checkpoint.size,
                COSIGNATURES.c.witness == witness.name)).first()
            if exists is None:
                db.execute(COSIGNATURES.insert(), {
                    "size": checkpoint.size, "witness": witness.name, "line": line,
                    "cosigned_at": when, "received_at": utcnow()})
            _save_state_in(db, witness, checkpoint.size, None)
            db.commit()
        return "cosigned"
    message = "add-checkpoint answered 200 without a valid cosignature by the witness's key"
    log.warning("witness %s: %s", witness.name, message)
    _save_state(database, witness, None, message)
    return message


def _save_state(database, witness: WitnessConfig, size: int | None, error: str | None) -> None:
    try:
        with database.write_session() as db:
            _save_state_in(db, witness, size, error)
            db.commit()
    except Exception:  # noqa: BLE001 - the state row is a convenience, never a failure
        log.exception("could not record the state of witness %s", witness.name)


def _save_state_in(db, witness: WitnessConfig, size: int | None, error: str | None) -> None:
    row = db.execute(select(STATE.c.size, STATE.c.verifier_key)
                     .where(STATE.c.witness == witness.name)).first()
    key = str(witness.key)
    if row is None:
        db.execute(STATE.insert(), {"witness": witness.name, "verifier_key": key,
                                    "size": size or 0, "last_error": error,
                                    "updated_at": utcnow()})
        return
    values = {"verifier_key": key, "last_error": error, "updated_at": utcnow()}
    if size is not None:
        values["size"] = size
    elif row.verifier_key != key:
        values["size"] = 0
    db.execute(STATE.update().where(STATE.c.witness == witness.name).values(**values))
