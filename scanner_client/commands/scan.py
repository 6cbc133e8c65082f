"""``trace-scan scan``: read codes at a logistics point, queue them, give instant feedback.

Input, one of:

* stdin (default): a keyboard-wedge scanner types one code per line (AIM prefixes such
  as ``]C1`` and a literal ``<GS>`` for FNC1 are understood); blank lines are ignored;
* ``--image FILE...``: every barcode in each image file;
* ``--watch DIR``: image files dropped into DIR (camera snapshots) are processed once
  each, when their size has stopped changing, then moved to ``DIR/done/`` (or
  ``DIR/failed/`` when no barcode could be read).  The file is remembered in the same
  transaction as its scans, so a crash before the move never queues it twice.

Every code is committed to the local queue before its feedback line is printed (see
:mod:`scanner_client.station` for the lines).  Unless ``--no-upload``, a background
thread uploads the queue every ``--upload-every`` seconds when the server is reachable,
and makes a last attempt at the end; whatever is left waits for ``trace-scan upload``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from scanner_client import exitcodes
from scanner_client.commands import _common

NAME = "scan"
HELP = "read codes (wedge scanner on stdin, images, a watched folder), queue and upload them"
EPILOG = """feedback (stdout, one line per code, after the scan is safely queued):
  OK queued | DUPLICATE (scanned Ns ago) | RECALLED | BLOCKED   (queued, with a bell)
  UNKNOWN CODE ... | BAD CHECK DIGIT: ...                     (not queued, with a bell)
exit codes: 0 OK, 3 NOTHING_DECODED (an image without barcode), 4 INVALID_CODE (a code
was refused), 5 INPUT_ERROR (unreadable image / folder), 11 CONFIG_ERROR, 12 QUEUE_CORRUPT,
13 AUTH_ERROR / 16 PROTOCOL_ERROR (the background uploader stopped; scans are queued)"""

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scanner_client.config import STEPS, add_arguments as add_config

    add_config(parser)
    parser.add_argument("--step", choices=STEPS, help="what happens to the parcel here "
                        "(default: TRACE_SCAN_STEP / 'step' setting)")
    parser.add_argument("--staff", metavar="N", help="staff number sent with each scan")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", nargs="+", metavar="FILE", help="read the codes in images")
    source.add_argument("--watch", metavar="DIR", help="process images dropped into DIR")
    parser.add_argument("--once", action="store_true",
                        help="with --watch: process the images there now, then exit")
    parser.add_argument("--interval", type=float, default=0.5, metavar="S",
                        help="with --watch: seconds between looks at DIR (default 0.5)")
    parser.add_argument("--upload-every", dest="every", type=float, metavar="S",
                        help="background upload interval in seconds (default 5)")
    parser.add_argument("--no-upload", action="store_true",
                        help="only queue; upload later with 'trace-scan upload'")
    parser.add_argument("--json", action="store_true",
                        help="feedback as one JSON object per line")
    parser.add_argument("--no-bell", action="store_true", help="no terminal bell on flags")


class _Session:
    def __init__(self, station, args):
        self.station, self.args = station, args
        self.result = exitcodes.OK
        self.counts = {"queued": 0, "duplicate": 0, "flagged": 0, "refused": 0}

    def feed(self, codes, seen_file=None, label: str = "") -> None:
        from scanner_client.station import DUPLICATE, RECALLED, BLOCKED

        for fb in self.station.handle(codes, seen_file=seen_file):
            if fb.queued:
                self.counts["queued"] += 1
                self.counts["flagged"] += fb.status in (RECALLED, BLOCKED)
            elif fb.status == DUPLICATE:
                self.counts["duplicate"] += 1
            else:
                self.counts["refused"] += 1
                self.result = exitcodes.worst(self.result, exitcodes.INVALID_CODE)
            if fb.bell and not self.args.no_bell:
                sys.stderr.write("\a")
                sys.stderr.flush()
            line = json.dumps(fb.as_dict(), ensure_ascii=False) if self.args.json else fb.line()
            print(f"{label}{line}", flush=True)

    def image(self, path: Path, seen_file=None) -> bool | None:
        """Decode and feed one image: True if codes were found, False if none, None if
        the file could not be read."""
        from scanner_client.decode import DecodeError, decode_image

        try:
            found = decode_image(path)
        except DecodeError as exc:
            _common.error(f"{path}: {exc}")
            self.result = exitcodes.worst(self.result, exitcodes.INPUT_ERROR)
            return None
        if not found:
            _common.notice(f"{path}: no barcode found")
            self.result = exitcodes.worst(self.result, exitcodes.NOTHING_DECODED)
            return False
        codes = [(d.text, d.symbology, d.symbology_identifier) for d in found]
        self.feed(codes, seen_file=seen_file, label=f"{path.name}: ")
        return True


def _watch(session: _Session, folder: Path, once: bool, interval: float) -> None:
    done, failed = folder / "done", folder / "failed"
    done.mkdir(exist_ok=True)
    failed.mkdir(exist_ok=True)
    last: dict[str, tuple] = {}
    queue = session.station.queue
    while True:
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:  # taken away meanwhile
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if not once and last.get(path.name) != sig:
                last[path.name] = sig  # still being written? look again next time
                continue
            name = f"{path.name}:{st.st_size}:{st.st_mtime_ns}"
            found = True if queue.file_seen(name) else session.image(path, seen_file=name)
            path.replace((done if found else failed) / path.name)
            last.pop(path.name, None)
        if once:
            return
        time.sleep(interval)


@_common.guarded
def run(args: argparse.Namespace) -> int:
    from scanner_client.config import check_staff
    from scanner_client.station import BackgroundUploader, Station

    s = _common.settings(args)
    if args.every is not None:
        s.upload.every = max(0.05, args.every)
    step = args.step or s.step
    if step is None:
        _common.error("no step: pass --step arrive|depart|dispatch|receipt or set "
                      "TRACE_SCAN_STEP")
        return exitcodes.CONFIG_ERROR
    staff = check_staff(args.staff, "--staff") if args.staff else s.staff
    if args.watch and not Path(args.watch).is_dir():
        _common.error(f"{args.watch}: not a folder")
        return exitcodes.INPUT_ERROR
    uploader = None
    if not args.no_upload:
        if s.server and s.key:
            uploader = BackgroundUploader(s, _common.notice)
        else:
            _common.notice("no server or device key configured: scans are only queued")
    queue = _common.open_queue(s)
    session = _Session(Station(queue, step, staff), args)
    if uploader:
        uploader.start()
    try:
        if args.image:
            for name in args.image:
                session.image(Path(name))
        elif args.watch:
            _watch(session, Path(args.watch), args.once, args.interval)
        else:
            if sys.stdin.isatty():
                _common.notice(f"ready: step {step}" + (f", staff {staff}" if staff else "")
                               + "; scan codes (Ctrl-D to end)")
            for line in sys.stdin:
                if line.strip():
                    session.feed([(line.rstrip("\r\n"), None, None)])
    except KeyboardInterrupt:
        session.result = exitcodes.INTERRUPTED
        if uploader:
            uploader.abort.set()
    finally:
        if uploader:
            uploader.finish(timeout=s.upload.connect_timeout + s.upload.timeout + 5)
        pending = queue.depth()
        queue.close()
    c = session.counts
    _common.notice(f"{c['queued']} queued ({c['flagged']} flagged), {c['duplicate']} "
                   f"duplicate, {c['refused']} refused; {pending} waiting in the queue")
    if uploader and uploader.fatal is not None:
        return exitcodes.worst(session.result, uploader.fatal.exit_code)
    return session.result
