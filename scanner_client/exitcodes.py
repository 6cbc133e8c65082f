"""Exit codes of the ``trace-scan`` command line.

Every subcommand returns one of these from ``scanner_client.cli.main``.  When a
command handles several inputs (``trace-scan decode a.jpg b.jpg``), it returns
the most severe condition met, in this order (most severe first):
``INPUT_ERROR`` > ``INVALID_CODE`` > ``NOTHING_DECODED`` > ``OK``.

Codes 0-9 are shared by all subcommands.  Subcommands that talk to the server
(upload, sync, ...) should add their own codes from 10 upwards here, each with a
docstring, rather than reuse these with another meaning.
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
    INTERRUPTED: "INTERRUPTED",
}
