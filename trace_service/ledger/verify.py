"""Recompute the log from the stored events and check everything stored against it.

One pass over ``ledger_entries`` joined to ``events`` in sequence order:

* the sequence numbers run 0, 1, 2, ... (a gap is a deleted entry);
* each entry's event row exists and SHA-256(0x00 || content) equals the logged leaf hash
  (a changed byte, or another event put in that place, as by swapping or inserting);
* the tree recomputed from those contents reproduces the root of every stored checkpoint,
  whose Ed25519 signature must verify with the log's public key, and the tree of the
  logged leaf hashes reproduces every stored node of ``ledger_nodes`` and the head row;
* no checkpoint is larger than the log (a truncated tail), and every event row is in the
  log (an event inserted behind the service's back);
* every indexed column of ``events`` (event id, step, times, party, point, device) equals
  what the hashed content says, and so do the derived tables the service reads
  (``event_keys``: which trace keys an event touched; ``event_parties``: whom it concerns) —
  the service shows the content, but it finds events by these indexes.

The work goes a chunk of 8192 entries at a time: leaf hashes and the chunk's levels of
the tree in list comprehensions, so hashing, not the interpreter, sets the pace, and the
stored nodes of a chunk in one range read per level. Memory is O(chunk + n / chunk).

Entries and nodes are a cache an attacker with database access could rewrite
consistently; the signed checkpoints are what they cannot forge. So a problem is placed
as exactly as the evidence allows: at the entry when the stored leaf hash disagrees with
the content, else at the range between the last checkpoint that still matches and the
first that does not.
"""

from __future__ import annotations

import gc
import hashlib
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from trace_service.chain.models import Event
from trace_service.ledger import merkle
from trace_service.ledger.models import HEAD_ID
from trace_service.ledger.notes import LogKey
from trace_service.ledger.services import ENTRIES, HEAD, NODES, Checkpoint, all_checkpoints, b64

EVENTS = Event.__table__
CHUNK_LEVEL = 13  # 8192 entries a chunk
MAX_PER_KIND = 20
# How exactly a kind of problem is placed: entry-exact first, then tree nodes, then the
# ranges between checkpoints, then signatures.
RANK = {"gap": 0, "missing_event": 0, "leaf": 0, "truncated": 0, "not_logged": 0,
        "removed": 0, "beyond_head": 0, "content": 0, "column": 0, "index": 0, "signature": 0,
        "node": 1, "extra_node": 1, "head": 1, "checkpoint_root": 2}
# At one place, what the log itself says comes before what the indexes say about it.
_FIRST = ("gap", "missing_event", "leaf", "beyond_head", "not_logged", "removed", "truncated",
          "signature", "content", "column", "index")


@dataclass
class Problem:
    kind: str
    message: str
    seq: int | None = None
    event_id: str | None = None
    checkpoint: int | None = None
    end: int | None = None  # the last seq a tree-node problem covers (not printed)

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.event_id:
            where.append(f"event {self.event_id}")
        if self.checkpoint is not None:
            where.append(f"checkpoint {self.checkpoint}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class Report:
    log_id: str
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def newest(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def room(self, kind: str) -> bool:
        """Whether another problem of ``kind`` will be listed (not just counted)."""
        return sum(1 for p in self.problems if p.kind == kind) < MAX_PER_KIND

    def add(self, problem: Problem) -> None:
        if self.room(problem.kind):
            self.problems.append(problem)
        else:
            self.suppressed[problem.kind] = self.suppressed.get(problem.kind, 0) + 1

    def sorted_problems(self) -> list[Problem]:
        """The most exactly placed problems first, each kind by sequence number."""
        return sorted(self.problems,
                      key=lambda p: (RANK[p.kind], p.seq is None, p.seq or 0,
                                     _FIRST.index(p.kind) if p.kind in _FIRST else 99, str(p)))

    @property
    def first(self) -> Problem | None:
        problems = self.sorted_problems()
        return problems[0] if problems else None


def verify_log(db: Session, key: LogKey, chunk_level: int = CHUNK_LEVEL) -> Report:
    """Check the whole log; see the module docstring. Reads everything once."""
    report = Report(log_id=key.name)
    checkpoints = all_checkpoints(db)
    report.checkpoints = checkpoints
    forged = set()
    for cp in checkpoints:
        if not key.verify(cp.body, cp.signature):
            forged.add(cp.size)
            report.add(Problem("signature", "signature does not verify with the log's public "
                               f"key {key.key_id_for(cp.log_id).hex()}: this checkpoint was "
                               "changed or not signed by the log", checkpoint=cp.size))
    # A checkpoint whose signature fails proves nothing about the data: it is not compared.
    state = _Walk(report, [cp for cp in checkpoints if cp.size not in forged], chunk_level)
    state.check_checkpoints(0, [], [[]])  # a checkpoint of the empty log
    conn = db.connection()
    result = conn.execution_options(yield_per=1 << chunk_level).execute(
        select(ENTRIES.c.seq, ENTRIES.c.leaf_hash, EVENTS.c.content)  # the rest on demand
        .select_from(ENTRIES.outerjoin(EVENTS, EVENTS.c.id == ENTRIES.c.event_pk))
        .order_by(ENTRIES.c.seq))
    for rows in result.partitions(1 << chunk_level):
        state.chunk(conn, rows)
    state.finish(conn)
    _check_head(db, report, state.n, state.logged_frontier())
    _check_orphans(db, report)
    _check_indexes(conn, report, chunk_level)
    _removed_not_truncated(report)
    return report


class _Walk:
    """The state of one pass over the log, a chunk of 2**chunk_level entries at a time.

    Within a chunk the tree is computed level by level (list comprehensions: the hashing
    dominates, not the interpreter); chunk roots feed a frontier above the chunk level.
    Two trees are kept: over the contents (checked against the signed checkpoints) and over
    the logged leaf hashes (checked against the stored nodes and head, which derive from
    them); they are the same objects until some leaf disagrees with its content.
    """

    def __init__(self, report: Report, checkpoints: list[Checkpoint], chunk_level: int):
        self.report = report
        self.pending = deque(checkpoints)
        self.k = chunk_level
        self.n = 0
        self.expected = 0
        self.last_good = 0
        self.content_upper: list[bytes] = []
        self.logged_upper = self.content_upper
        self.upper_nodes: dict[tuple[int, int], bytes] = {}
        self.inner_nodes = 0
        self.content_tail: list[bytes] = []
        self.logged_tail: list[bytes] = []
        self._hashes_sql = None

    def logged_frontier(self) -> list[bytes]:
        return self.logged_upper + self.logged_tail

    def check_checkpoints(self, start: int, upper: list[bytes], levels) -> None:
        """Compare the checkpoints of sizes start..start+len(chunk) with the content tree."""
        end = start + len(levels[0])
        while self.pending and self.pending[0].size <= end:
            cp = self.pending.popleft()
            prefix = merkle.prefix_frontier(levels, cp.size - start)
            root = merkle.root_from_frontier(upper + prefix)
            if root == cp.root_hash:
                self.last_good = cp.size
            else:
                self.report.add(Problem(
                    "checkpoint_root", f"checkpoint {cp.size} does not match the log "
                    f"recomputed from the events: an entry in seq {self.last_good}.."
                    f"{cp.size - 1} was changed, removed, reordered or inserted after it was "
                    "signed", seq=self.last_good, checkpoint=cp.size))

    def chunk(self, conn, rows) -> None:
        report, start, m = self.report, self.n, len(rows)
        seqs = [r[0] for r in rows]
        if seqs[0] == self.expected and seqs[-1] - seqs[0] == m - 1:
            self.expected = seqs[-1] + 1
        else:
            for seq in seqs:
                if seq != self.expected:
                    report.add(Problem("gap", f"{_entries(self.expected, seq)} missing: the "
                                       f"log jumps from seq {self.expected - 1} to {seq}",
                                       seq=self.expected))
                self.expected = seq + 1
        logged = [r[1] for r in rows]
        sha256 = hashlib.sha256
        try:
            # surrogateescape: bytes that are not UTF-8 (read as such on SQLite) hash as
            # the bytes they are, so a damaged byte is a located leaf problem, no traceback.
            leaves = [sha256(b"\x00" + r[2].encode("utf-8", "surrogateescape")).digest()
                      for r in rows]
        except AttributeError:  # a logged event row is missing (content is None)
            leaves = []
            for seq, logged_hash, content in rows:
                if content is None:
                    event_pk = _event_at(conn, seq)[0] if report.room("missing_event") else "?"
                    report.add(Problem("missing_event", f"the event row {event_pk} logged "
                                       "here does not exist (deleted)", seq=seq))
                    leaves.append(logged_hash)
                else:
                    leaves.append(sha256(b"\x00" + content.encode("utf-8", "surrogateescape"))
                                  .digest())
        logged_levels = merkle.subtree_levels(logged)
        content_levels = logged_levels
        if leaves != logged:
            for (seq, _h, content), leaf, logged_hash in zip(rows, leaves, logged):
                if leaf != logged_hash:
                    report.add(Problem(
                        "leaf", "the event's content does not match the leaf hash logged at "
                        "this place (its content was changed, or another event was put here)",
                        seq=seq,
                        event_id=_event_at(conn, seq)[1] if report.room("leaf") else None))
            content_levels = merkle.subtree_levels(leaves)
            if self.content_upper is self.logged_upper:
                self.content_upper = list(self.logged_upper)
        self._compare_nodes(conn, start, logged_levels)
        self.check_checkpoints(start, self.content_upper, content_levels)
        if m == 1 << self.k:
            for level, index, h in merkle.append_leaf(self.logged_upper, start >> self.k,
                                                      logged_levels[self.k][0]):
                self.upper_nodes[(self.k + level, index)] = h
            if self.content_upper is not self.logged_upper:
                merkle.append_leaf(self.content_upper, start >> self.k,
                                   content_levels[self.k][0])
        else:  # the last, partial chunk
            self.content_tail = merkle.prefix_frontier(content_levels, m)
            self.logged_tail = merkle.prefix_frontier(logged_levels, m)
        self.n += m

    def hashes(self, conn, params: dict) -> list[tuple]:
        """The stored hashes of one level of a chunk, in index order, through the DBAPI
        cursor (a thousand and more small reads a pass: SQLAlchemy's rows cost more than
        the read)."""
        if self._hashes_sql is None:
            compiled = _CHUNK_HASHES.compile(dialect=conn.dialect)
            self._hashes_sql = (str(compiled), compiled.positiontup)
        sql, order = self._hashes_sql
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, [params[k] for k in order] if order else params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def _compare_nodes(self, conn, start: int, levels) -> None:
        """The stored nodes inside this chunk against the logged leaves' tree."""
        for level in range(1, len(levels)):
            computed = levels[level]
            first = start >> level
            self.inner_nodes += len(computed)
            params = {"level": level, "first": first, "end": first + len(computed)}
            # The range holds at most one row per index: equal lists mean equal nodes.
            if [h for (h,) in self.hashes(conn, params)] == computed:
                continue
            stored = dict(conn.execute(_CHUNK_NODES, params).all())
            for offset, h in enumerate(computed):
                got = stored.get(first + offset)
                if got != h:
                    what = "is missing" if got is None else "does not match the logged leaves"
                    self.report.add(_node_problem(level, first + offset, what))

    def finish(self, conn) -> None:
        report = self.report
        for cp in self.pending:
            report.add(Problem(
                "truncated", f"checkpoint {cp.size} covers {cp.size} entries but the log holds "
                f"{self.n}: {_entries(self.n, cp.size)} missing (the tail was cut off)",
                seq=self.n, checkpoint=cp.size))
        report.size = self.n
        report.root = merkle.root_from_frontier(self.content_upper + self.content_tail)
        stored = {(level, index): h for level, index, h in conn.execute(
            select(NODES.c.level, NODES.c.index, NODES.c.hash).where(NODES.c.level > self.k))}
        for (level, index), h in self.upper_nodes.items():
            got = stored.pop((level, index), None)
            if got != h:
                what = "is missing" if got is None else "does not match the logged leaves"
                report.add(_node_problem(level, index, what))
        for level, index in sorted(stored):
            _extra_node(report, (level, index))
        below = conn.execute(select(func.count()).select_from(NODES)
                             .where(NODES.c.level <= self.k)).scalar()
        if below > self.inner_nodes:
            beyond = (NODES.c.index + 1).op("<<")(NODES.c.level) > self.n
            for level, index in conn.execute(
                    select(NODES.c.level, NODES.c.index)
                    .where(NODES.c.level <= self.k, beyond).order_by(NODES.c.level)):
                _extra_node(report, (level, index))


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector for a verification pass in a process of its own
    (the CLI): the pass makes millions of short-lived rows and no reference cycles, and
    collections triggered by them cost a third of its time. Not for server threads."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _event_at(conn, seq: int) -> tuple[int, str | None]:
    """(events.id, event_id) logged at ``seq`` (event_id None when the row is gone)."""
    row = conn.execute(select(ENTRIES.c.event_pk, EVENTS.c.event_id)
                       .select_from(ENTRIES.outerjoin(EVENTS, EVENTS.c.id == ENTRIES.c.event_pk))
                       .where(ENTRIES.c.seq == seq)).first()
    return row[0], row[1]


_IN_CHUNK = (NODES.c.level == bindparam("level"), NODES.c.index >= bindparam("first"),
             NODES.c.index < bindparam("end"))
_CHUNK_HASHES = select(NODES.c.hash).where(*_IN_CHUNK).order_by(NODES.c.index)
_CHUNK_NODES = select(NODES.c.index, NODES.c.hash).where(*_IN_CHUNK)


def _entries(first: int, end: int) -> str:
    return f"entry {first} is" if end == first + 1 else f"entries {first}..{end - 1} are"


def _node_problem(level: int, index: int, what: str) -> Problem:
    first, last = index << level, ((index + 1) << level) - 1
    return Problem("node", f"the stored tree node over seq {first}..{last} (level {level}, "
                   f"index {index}) {what}", seq=first, end=last)


def _extra_node(report: Report, node) -> None:
    level, index = node[0], node[1]
    report.add(Problem("extra_node", f"a stored tree node (level {level}, index {index}) "
                       f"lies beyond the log", seq=index << level))


def _check_head(db: Session, report: Report, n: int, frontier: list[bytes]) -> None:
    """The head is derived from the logged leaves: it must match their tree."""
    row = db.execute(select(HEAD.c.size, HEAD.c.root_hash, HEAD.c.frontier)
                     .where(HEAD.c.id == HEAD_ID)).first()
    size, root, packed = (row.size, row.root_hash, row.frontier) if row else \
        (0, merkle.EMPTY_ROOT, b"")
    expected = merkle.root_from_frontier(frontier)
    if size < n:
        # Entries past the head were not appended by the service (it moves the head in the
        # same transaction): name each of them.
        for seq, event_id in db.execute(
                select(ENTRIES.c.seq, EVENTS.c.event_id)
                .select_from(ENTRIES.outerjoin(EVENTS, EVENTS.c.id == ENTRIES.c.event_pk))
                .where(ENTRIES.c.seq >= size).order_by(ENTRIES.c.seq).limit(MAX_PER_KIND)):
            report.add(Problem("beyond_head", f"this entry lies beyond the log head (size "
                               f"{size}): it was logged behind the service's back",
                               seq=seq, event_id=event_id))
    if (size, root, packed) != (n, expected, b"".join(frontier)):
        report.add(Problem("head", f"the log head says size {size} root {b64(root)}, but the "
                           f"logged entries give size {n} root {b64(expected)}",
                           seq=min(size, n)))


def _check_orphans(db: Session, report: Report) -> None:
    rows = db.execute(
        select(EVENTS.c.id, EVENTS.c.event_id)
        .select_from(EVENTS.outerjoin(ENTRIES, ENTRIES.c.event_pk == EVENTS.c.id))
        .where(ENTRIES.c.seq.is_(None)).order_by(EVENTS.c.id))
    for pk, event_id in rows:
        report.add(Problem("not_logged", f"event row {pk} is not in the log (inserted "
                           "without going through the service)", event_id=event_id))



def _removed_not_truncated(report: Report) -> None:
    """A log that holds fewer entries than a checkpoint, and whose stored tree stops
    matching the logged leaves before its end, lost an entry in the middle and had the later
    ones renumbered: say so, at the first tree node that changed, not "the tail was cut"."""
    cut = [p for p in report.problems if p.kind == "truncated"]
    nodes = [p for p in report.problems if p.kind == "node" and p.seq is not None]
    if not cut or not nodes or any(p.kind in ("gap", "leaf") for p in report.problems):
        return  # a gap or a changed leaf is placed exactly already
    first = min(nodes, key=lambda p: (p.end - p.seq, p.seq))  # the smallest node that differs
    if first.seq >= cut[0].seq:
        return
    checkpoint = cut[0].checkpoint
    report.problems = [p for p in report.problems if p.kind != "truncated"]
    report.add(Problem(
        "removed", f"an entry in seq {first.seq}..{first.end} was removed and the entries "
        f"after it renumbered: the stored tree stops matching the logged leaves there, and "
        f"checkpoint {checkpoint} covers more entries than the log now holds ({report.size})",
        seq=first.seq, checkpoint=checkpoint))


def _expected_keys(content: dict) -> set[tuple[str, str]]:
    """The (trace key, role) links an event's content implies (``chain.events``)."""
    subject = {k for k in content.get("keys") or () if isinstance(k, str)}
    subject |= {q.get("key") for q in content.get("quantities") or ()
                if isinstance(q, dict) and isinstance(q.get("key"), str)}
    if isinstance(content.get("parent"), str):
        subject.add(content["parent"])
    inside = {k for k in content.get("contents") or () if isinstance(k, str)} - subject
    return {(k, "subject") for k in subject} | {(k, "content") for k in inside}


def _check_indexes(conn, report: Report, chunk_level: int) -> None:
    """Every indexed column and derived row against the hashed content (module docstring)."""
    from trace_service.chain import facts
    from trace_service.chain.models import EventKey, EventParty, TraceKey

    columns = [EVENTS.c[name] for name in facts.INDEXED]
    result = conn.execution_options(yield_per=1 << chunk_level).execute(
        select(EVENTS.c.id, ENTRIES.c.seq, EVENTS.c.content, *columns)
        .select_from(EVENTS.outerjoin(ENTRIES, ENTRIES.c.event_pk == EVENTS.c.id))
        .order_by(EVENTS.c.id))
    keys_t, parties_t = EventKey.__table__, EventParty.__table__
    for rows in result.partitions(1 << chunk_level):
        ids = [r[0] for r in rows]
        links: dict[int, set] = {}
        for event_pk, key, role in conn.execute(
                select(keys_t.c.event_id, TraceKey.__table__.c.key, keys_t.c.role)
                .join(TraceKey.__table__, TraceKey.__table__.c.id == keys_t.c.trace_key_id)
                .where(keys_t.c.event_id.in_(ids))):
            links.setdefault(event_pk, set()).add((key, role))
        concerned: dict[int, set] = {}
        for event_pk, party in conn.execute(select(parties_t.c.event_id, parties_t.c.party_id)
                                            .where(parties_t.c.event_id.in_(ids))):
            concerned.setdefault(event_pk, set()).add(party)
        for row in rows:
            pk, seq, content = row[0], row[1], row[2]
            f = facts.read(pk, content)
            shown_id = f.event_id or row[3]
            if f.damaged:
                report.add(Problem("content", f"event row {pk}: {f.damaged}", seq=seq,
                                   event_id=row[3]))
                continue
            for (name, read), stored in zip(facts.INDEXED.items(), row[3:]):
                said = read(f)
                if stored != said:
                    report.add(Problem(
                        "column", f"events.{name} is {_shown(stored)} but the hashed content "
                        f"says {_shown(said)}: the column was changed behind the service's "
                        "back (what is shown comes from the content)", seq=seq,
                        event_id=shown_id))
            want = _expected_keys(f.content)
            got = links.get(pk, set())
            if got != want:
                report.add(Problem(
                    "index", "event_keys does not match the trace keys in the hashed content"
                    f" (extra {sorted(got - want)[:3]}, missing {sorted(want - got)[:3]}): "
                    "trails would find this event under the wrong keys", seq=seq,
                    event_id=shown_id))
            if "parties" in f.content and concerned.get(pk, set()) != set(f.parties):
                report.add(Problem(
                    "index", "event_parties does not match the parties in the hashed content "
                    f"(stored {sorted(concerned.get(pk, set()))}, content "
                    f"{sorted(f.parties)}): it decides who may read the event", seq=seq,
                    event_id=shown_id))


def _shown(value) -> str:
    if value is None:
        return "empty"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)
