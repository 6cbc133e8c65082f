"""``trace-scan decode IMAGE... [--json]``: read the barcodes in image files.

For every code found it prints the symbology, the text and what the text means
(``scanner_client.codes.parse_code``): the identifiers, whether they are valid
and, when not, why.  Nothing is queued or uploaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from scanner_client import exitcodes

NAME = "decode"
HELP = "decode barcodes in image files and check them locally"
DESCRIPTION = """Decode every barcode in the given image files (PNG, JPEG, ...) and check it:
GS1 element strings (GS1-128, GS1 DataMatrix), GS1 Digital Link QR codes,
EAN/UPC GTINs, SSCCs, 20-digit drug traceability codes and waybill numbers."""
EPILOG = """output:
  one line per code: FILE: SYMBOLOGY TEXT  ok|INVALID ...
  --json: one JSON object per line and per code:
    {"file", "symbology", "text", "ids", "valid", "error",
     "symbology_identifier", "decoder"}
  an image with no barcode: message on stderr; with --json also a line with
    "text": null, "valid": false, "error": "no barcode found"
  an unreadable input: message on stderr; with --json also a line with
    "text": null, "valid": false, "error": "<reason>"

exit codes: 0 OK, 2 USAGE, 3 NOTHING_DECODED, 4 INVALID_CODE, 5 INPUT_ERROR
(several files: the most severe, 5 > 4 > 3 > 0); see scanner_client.exitcodes."""

NO_BARCODE = "no barcode found"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image file(s) to decode")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--decoder",
        choices=["auto", "pyzbar", "zxing-cpp"],
        default="auto",
        help="use only this decoder (default: auto = pyzbar, then zxing-cpp)",
    )
    parser.add_argument(
        "--no-fallbacks",
        action="store_true",
        help="only the pass over the unmodified image (faster, reads fewer hard images)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        metavar="S",
        help="time budget per image for the fallback passes (default: 3 s)",
    )


def _show(text: str | None) -> str:
    if text is None:
        return "-"
    return text.replace("\x1d", "<GS>").replace("\n", "\\n").replace("\r", "\\r")


def _emit_json(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _describe_ids(ids: dict) -> str:
    key = ids.get("trace_key")
    parts = [f"key={key}"] if key else ["product only (no trace key)"]
    for k in (
        "gtin",
        "lot",
        "serial",
        "expiry",
        "production_date",
        "sscc",
        "gln",
        "drug_code",
        "waybill",
    ):
        if k in ids and not (key and k in ("sscc", "drug_code", "waybill")):
            parts.append(f"{k}={ids[k]}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from scanner_client.codes import parse_code
    from scanner_client.decode import DECODERS, DecodeError, decode_image

    decoders = DECODERS if args.decoder == "auto" else (args.decoder,)
    options = {"decoders": decoders, "fallbacks": not args.no_fallbacks}
    if args.max_seconds is not None:
        options["max_seconds"] = args.max_seconds

    result = exitcodes.OK
    for path in args.images:
        try:
            found = decode_image(path, **options)
        except DecodeError as exc:
            reason = str(exc)
            print(f"trace-scan: error: {path}: {reason}", file=sys.stderr)
            if args.json:
                _emit_json(_record(path, None, None, None, False, reason, None, None))
            result = exitcodes.worst(result, exitcodes.INPUT_ERROR)
            continue
        if not found:
            print(f"{path}: {NO_BARCODE}", file=sys.stderr)
            if args.json:
                _emit_json(_record(path, None, None, None, False, NO_BARCODE, None, None))
            result = exitcodes.worst(result, exitcodes.NOTHING_DECODED)
            continue
        for d in found:
            parsed = parse_code(d.text, d.symbology, d.symbology_identifier)
            if not parsed.valid:
                result = exitcodes.worst(result, exitcodes.INVALID_CODE)
            if args.json:
                _emit_json(
                    _record(
                        path,
                        d.symbology,
                        d.text,
                        parsed.ids,
                        parsed.valid,
                        parsed.error,
                        d.symbology_identifier,
                        d.decoder,
                    )
                )
            else:
                verdict = (
                    f"ok  {_describe_ids(parsed.ids)}"
                    if parsed.valid
                    else f"INVALID: {parsed.error}"
                )
                print(f"{path}: {d.symbology} {_show(d.text)}  {verdict}", flush=True)
    return result


def _record(path, symbology, text, ids, valid, error, sid, decoder) -> dict:
    return {
        "file": path,
        "symbology": symbology,
        "text": text,
        "ids": ids,
        "valid": valid,
        "error": error,
        "symbology_identifier": sid,
        "decoder": decoder,
    }
