"""What happens at a logistics point for each code read, and the background uploader.

:meth:`Station.handle` parses each code locally (:func:`scanner_client.codes.parse_code`),
commits the scans worth keeping to the queue in ONE transaction, and only then returns
the feedback, one line per code:

``OK queued``
    a parcel or unit identifier, now in the queue;
``DUPLICATE (scanned 12s ago)``
    the same trace key for the same step within the server's duplicate window
    (600 s unless ``sync``/``upload`` learnt another), from the local history: not
    queued again (the server would count it as a duplicate too);
``RECALLED`` / ``BLOCKED``
    on the local block list (``trace-scan sync``): a recalled lot or unit, an expired
    one (BLOCKED), or a parcel carrying such goods (BLOCKED).  Still queued - the scan
    happened - but flagged, with a bell;
``UNKNOWN CODE``
    not a parcel or unit identifier (a bare GTIN, a lot, unreadable text): not queued;
``BAD CHECK DIGIT: <which, expected vs found>``
    not queued.

The scan's ``key`` on the wire is the trace key parsed here (``00/{sscc}``,
``waybill/{no}``, ``01/{gtin}/21/{serial}``, ``drug/{code}``): the server and the
worker's screen agree on what was scanned.  The text as scanned stays in the queue and
the dead-letter list.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from scanner_client.codes import parse_code
from scanner_client.queue import Entry, Queue, Scan

DEFAULT_WINDOW = 600.0
OK, DUPLICATE, RECALLED, BLOCKED, UNKNOWN, BAD_CHECK_DIGIT = (
    "ok", "duplicate", "recalled", "blocked", "unknown", "bad_check_digit")
_MAX_TEXT = 1000


@dataclass
class Feedback:
    """The outcome of one code."""

    status: str
    text: str
    key: str | None = None
    scan: Scan | None = None
    detail: str = ""

    @property
    def queued(self) -> bool:
        return self.scan is not None

    @property
    def bell(self) -> bool:
        return self.status in (RECALLED, BLOCKED, UNKNOWN, BAD_CHECK_DIGIT)

    def line(self) -> str:
        shown = self.key or _printable(self.text)
        if self.status == OK:
            return f"OK queued  {shown}  ({self.scan.step} #{self.scan.seq})"
        if self.status == DUPLICATE:
            return f"DUPLICATE ({self.detail} ago)  {shown}  not queued again"
        if self.status in (RECALLED, BLOCKED):
            return f"{self.status.upper()}  {shown}  {self.detail}; queued - set it aside"
        if self.status == BAD_CHECK_DIGIT:
            return f"BAD CHECK DIGIT: {self.detail}  (not queued, scan again)"
        return f"UNKNOWN CODE  {shown}  {self.detail} (not queued)"

    def as_dict(self) -> dict:
        return {"status": self.status, "text": self.text, "key": self.key,
                "id": self.scan.id if self.scan else None,
                "seq": self.scan.seq if self.scan else None, "detail": self.detail or None}


def _printable(text: str) -> str:
    shown = text.replace("\x1d", "<GS>")
    shown = "".join(c if c.isprintable() else "?" for c in shown)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _kind(key: str) -> str:
    if key.startswith(("00/", "waybill/")):
        return "parcel"
    if key.startswith("drug/") or (key.startswith("01/") and "/21/" in key):
        return "unit"
    return "lot"


def _age(seconds: float) -> str:
    s = int(seconds)
    return f"scanned {s}s" if s < 120 else f"scanned {s // 60}m {s % 60}s"


class Station:
    """Turns codes read at one point into queued scans and feedback."""

    def __init__(self, queue: Queue, step: str, staff: str | None = None):
        self.queue, self.step, self.staff = queue, step, staff

    def window(self) -> float:
        try:
            return float(self.queue.meta("duplicate_window_seconds") or DEFAULT_WINDOW)
        except ValueError:
            return DEFAULT_WINDOW

    def handle(self, codes: list[tuple[str, str | None, str | None]],
               seen_file: str | None = None) -> list[Feedback]:
        """``codes``: (text, symbology, AIM identifier) as read; feedback in the same order."""
        out: list[Feedback] = []
        entries, waiting = [], []
        for text, symbology, sid in codes:
            text = text.strip("\r\n")
            if len(text) > _MAX_TEXT:
                out.append(Feedback(UNKNOWN, text, detail=f"longer than {_MAX_TEXT} characters"))
                continue
            parsed = parse_code(text, symbology, sid)
            ids = parsed.ids or {}
            key = ids.get("trace_key")  # an SSCC wins, as on the server (codes._trace_key)
            if not parsed.valid:
                status = BAD_CHECK_DIGIT if "check digit" in (parsed.error or "") else UNKNOWN
                out.append(Feedback(status, text, detail=parsed.error or "not valid"))
            elif key is None:
                out.append(Feedback(UNKNOWN, text, detail="names a product, not a parcel or "
                                                          "unit: scan the parcel label"))
            elif _kind(key) == "lot":
                out.append(Feedback(UNKNOWN, text, key,
                                    detail="names a lot, not a parcel or unit"))
            else:
                fb = Feedback(OK, text, key)
                out.append(fb)
                entries.append(Entry(text, key, self.step, self.staff))
                waiting.append((fb, ids))
        if entries or seen_file is not None:
            recorded = self.queue.record(entries, window=self.window(), seen_file=seen_file)
            for (fb, ids), (scan, dup_age) in zip(waiting, recorded):
                if scan is None:
                    fb.status, fb.detail = DUPLICATE, _age(dup_age)
                    continue
                fb.scan = scan
                self._flag(fb, ids)
        return out

    def _flag(self, fb: Feedback, ids: dict) -> None:
        keys = [fb.key]
        if ids.get("gtin") and ids.get("lot"):
            keys.append(f"01/{ids['gtin']}/10/{ids['lot']}")
        hits = self.queue.blocked(keys)
        if not hits:
            return
        recalled = [h for h in hits if h[2] == "recalled"]
        key, kind, reason, since = (recalled or hits)[0]
        fb.status = RECALLED if recalled else BLOCKED
        if kind == "parcel":
            fb.detail = "carries recalled or expired goods"
        else:
            fb.detail = f"{kind} {key} {reason}" + (f" since {since}" if since else "")


class BackgroundUploader(threading.Thread):
    """Uploads the queue every ``every`` seconds while ``trace-scan scan`` runs.

    Each pass makes one attempt per batch (no waiting inside a pass); after a failed
    pass the next one waits ``max(every, backoff)``.  401/403 and protocol errors stop
    the uploader for good (scanning goes on, the queue keeps everything).  Killing the
    process at any moment is safe: see :mod:`scanner_client.upload`.
    """

    def __init__(self, settings, notice):
        super().__init__(name="trace-scan-uploader", daemon=True)
        self.settings, self.notice = settings, notice
        self.wake, self.abort = threading.Event(), threading.Event()
        self.finishing = False
        self.fatal = None  # the Result that stopped the uploader
        self.offline = False

    def finish(self, timeout: float) -> None:
        """One last pass now, then stop (waits up to ``timeout`` seconds)."""
        self.finishing = True
        self.wake.set()
        self.join(timeout)

    def run(self) -> None:
        from scanner_client.commands._common import make_api, make_retrier, open_queue
        from scanner_client.upload import AUTH, DONE, PROTOCOL, Backoff, Uploader

        s = self.settings
        backoff = Backoff(s.upload.backoff_base, s.upload.backoff_cap)
        queue, api = open_queue(s, check=False), make_api(s)
        failures = 0
        try:
            while True:
                if queue.depth():
                    retrier = make_retrier(s, deadline=None, max_attempts=1, stop=self.abort)
                    result = Uploader(queue, api, retrier,
                                      batch_size=s.upload.batch_size).run()
                    self._report(result)
                    queue.set_meta(last_upload_error=None if result.outcome == DONE
                                   else result.message)
                    if result.outcome in (AUTH, PROTOCOL):
                        self.fatal = result
                        return
                    failures = 0 if result.outcome == DONE else failures + 1
                if self.finishing or self.abort.is_set():
                    return
                delay = s.upload.every if not failures else max(
                    s.upload.every, backoff.delay(failures))
                self.wake.wait(delay)
                self.wake.clear()
        finally:
            queue.close()
            api.close()

    def _report(self, result) -> None:
        from scanner_client.commands._common import report_rejections
        from scanner_client.upload import AUTH, DONE, PROTOCOL, UNREACHABLE

        if result.rejections or result.warnings:
            self.notice("\aupload: the server rejected or flagged scans "
                        "(trace-scan status --dead-letters):")
            report_rejections(result, self.notice)
        if result.outcome == UNREACHABLE and not self.offline:
            self.offline = True
            self.notice(f"offline ({result.message}); scans are kept in the queue "
                        f"({result.pending} waiting)")
        elif result.outcome == DONE:
            if self.offline:
                self.offline = False
                self.notice("back online")
            if result.sent:
                self.notice(f"upload: {result.summary()}")
        elif result.outcome in (AUTH, PROTOCOL):
            self.notice(f"\aUPLOAD STOPPED: {result.message}. Scanning goes on; the scans "
                        "are kept in the queue. Tell your supervisor.")
