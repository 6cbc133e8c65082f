"""Exit codes of the ``trace-scan`` command line.

Every subcommand returns one of these from ``scanner_client.cli.main``.  When a
command handles several inputs (``trace-scan decode a.jpg b.jpg``), it returns
the most severe condition met, in this order (most severe first):
``INPUT_ERROR`` > ``INVALID_CODE`` > ``NOTHING_DECODED`` > ``OK``.

Codes 0-9 are shared by all subcommands.  Codes from 10 upwards belong to the
subcommands that keep a queue or talk to the server (scan, upload, sync, status,
repair) and to verify; each has one meaning wherever it appears.  Add new codes
here, each with a docstring, rather than reuse one with another meaning.
"""

from __future__ import annotations

OK = 0
"""Success: every input was read and every code found is valid."""

FAILURE = 1
"""Unexpected internal error (a bug): the message on stderr says what failed."""

USAGE = 2
"""Bad command line: unknown subcommand or option, missing argument (argparse's code)."""

NOTHING_DECODED = 3
"""decode: at least one image was read but held no barcode that could be decoded."""

INVALID_CODE = 4
"""decode: at least one barcode was decoded but is not a valid identifier
(wrong check digit, malformed GS1 element string, unrecognised content)."""

INPUT_ERROR = 5
"""At least one input could not be read: missing file, directory, not an image,
corrupt or truncated image data."""

NOT_VERIFIED = 10
"""verify: the proof bundle was read but does NOT verify (owned by
:mod:`scanner_client.verify`, which defines the same value)."""

CONFIG_ERROR = 11
"""The configuration is missing or wrong: config file unreadable or not valid TOML,
an unknown setting, a value of the wrong type, no server URL or device key where one
is needed.  The message names the file or variable (never the key itself)."""

QUEUE_CORRUPT = 12
"""The local queue file (``$TRACE_SCAN_HOME/queue.sqlite3``) is damaged.  Nothing
was changed; ``trace-scan repair`` moves it aside and salvages every readable scan."""

AUTH_ERROR = 13
"""The server refused the device key (401: unknown or revoked key, deactivated
device; 403: the key is not a device key).  Uploading stopped; the queue is intact."""

SERVER_UNREACHABLE = 14
"""The server could not be reached, or kept failing (5xx, timeouts, connection
errors), until ``--deadline`` passed or ``--max-attempts`` were spent, with scans
still queued.  Nothing was lost; run the command again later."""

SCANS_REJECTED = 15
"""upload: the queue was drained, but the server rejected at least one scan in this
run; those scans are in the dead-letter list (``trace-scan status --dead-letters``)."""

PROTOCOL_ERROR = 16
"""The server answered in a way the client cannot act on: 404/405 (wrong server
URL or an incompatible server), 415, a 200 that is not a valid receipt list, or
receipts that do not match the scans sent.  Uploading stopped; the queue is intact."""

FORKED_LOG = 17
"""sync: the server's log does not extend the newest checkpoint this scanner saw (a
different root at the same size, a failed consistency proof, a rollback, or a changed
log key): the message names both checkpoints. From then on ``verify`` refuses the
server's proofs until ``trace-scan trust reset`` (docs/integrity.md, Witnesses)."""

INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT), as shells report it."""

#: Severity order used to combine the outcomes of several inputs.
SEVERITY = (OK, NOTHING_DECODED, INVALID_CODE, INPUT_ERROR)


def worst(*codes: int) -> int:
    """The most severe of ``codes`` according to :data:`SEVERITY` (unknown codes win)."""
    result = OK
    for code in codes:
        if code not in SEVERITY:
            return code
        if SEVERITY.index(code) > SEVERITY.index(result):
            result = code
    return result


NAMES = {
    OK: "OK",
    FAILURE: "FAILURE",
    USAGE: "USAGE",
    NOTHING_DECODED: "NOTHING_DECODED",
    INVALID_CODE: "INVALID_CODE",
    INPUT_ERROR: "INPUT_ERROR",
    NOT_VERIFIED: "NOT_VERIFIED",
    CONFIG_ERROR: "CONFIG_ERROR",
    QUEUE_CORRUPT: "QUEUE_CORRUPT",
    AUTH_ERROR: "AUTH_ERROR",
    SERVER_UNREACHABLE: "SERVER_UNREACHABLE",
    SCANS_REJECTED: "SCANS_REJECTED",
    PROTOCOL_ERROR: "PROTOCOL_ERROR",
    FORKED_LOG: "FORKED_LOG",
    INTERRUPTED: "INTERRUPTED",
}
