"""Decode benchmark: the scanner client's decoder vs pyzbar alone, on a generated image set.

    python -m benchmarks.bench_decode [--dir DIR] [--seed N] [--per-cell N]

Generates the image set of :mod:`benchmarks.decode_images` (into a temporary
directory unless ``--dir`` is given; an existing ``DIR/truth.json`` is reused),
decodes every image with

* ``scanner_client.decode.decode_image`` (pyzbar + zxing-cpp + fallback passes),
* the baseline, in the same run on the same files: pyzbar alone, one pass over
  the unmodified image (``decode_image(..., decoders=("pyzbar",), fallbacks=False)``,
  i.e. zbar with the same text normalisation so that only reading is compared),

and prints accuracy per degradation and per kind of code, time per image, and
the headline figures as ``BENCH <name> <value> <unit>`` lines.

Scoring per image: *ok* when a decoded code has the expected symbology and text
(and then ``ids`` are checked against the truth too); *wrong* when something was
decoded but not the expected code; *miss* when nothing was decoded.  Every
decoded code whose text differs from the truth is a *wrong decode*; those that
``parse_code`` accepts as valid are *wrong-and-valid* and must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict

from benchmarks.decode_images import DEFAULT_SEED, build_specs, write_set
from scanner_client.codes import parse_code
from scanner_client.decode import decode_image

FULL = "full"
BASE = "pyzbar_only"


def _decode(path: str, mode: str):
    if mode == FULL:
        return decode_image(path)
    return decode_image(path, decoders=("pyzbar",), fallbacks=False)


def _score(entry: dict, decoded) -> dict:
    if entry["text"] is None:  # a label without barcode: anything decoded is a false positive
        wrong_valid = sum(
            parse_code(d.text, d.symbology, d.symbology_identifier).valid for d in decoded
        )
        return {
            "outcome": "wrong" if decoded else "ok",
            "ids_ok": not decoded,
            "wrong_decodes": len(decoded),
            "wrong_valid": wrong_valid,
        }
    ok = False
    ids_ok = False
    wrong = 0
    wrong_valid = 0
    for d in decoded:
        if d.symbology == entry["symbology"] and d.text == entry["text"]:
            ok = True
            parsed = parse_code(d.text, d.symbology, d.symbology_identifier)
            ids_ok = ids_ok or (parsed.valid and parsed.ids == entry["ids"])
        else:
            wrong += 1
            if parse_code(d.text, d.symbology, d.symbology_identifier).valid:
                wrong_valid += 1
    outcome = "ok" if ok else ("wrong" if decoded else "miss")
    return {
        "outcome": outcome,
        "ids_ok": ids_ok,
        "wrong_decodes": wrong,
        "wrong_valid": wrong_valid,
    }


def run(directory: str, truth: list[dict], modes=(BASE, FULL)) -> dict:
    results: dict[str, list[dict]] = {m: [] for m in modes}
    # warm up (lazy imports, library init) outside the timings
    first = os.path.join(directory, truth[0]["file"])
    for m in modes:
        _decode(first, m)
    for mode in modes:
        for entry in truth:
            path = os.path.join(directory, entry["file"])
            t0 = time.perf_counter()
            decoded = _decode(path, mode)
            dt = time.perf_counter() - t0
            r = _score(entry, decoded)
            r.update(
                seconds=dt,
                entry=entry,
                stage=decoded[0].stage if decoded else None,
                decoder=decoded[0].decoder if decoded else None,
                got=[(d.symbology, d.text) for d in decoded],
            )
            results[mode].append(r)
    return results


def _acc(rows) -> float:
    return sum(r["outcome"] == "ok" for r in rows) / len(rows) if rows else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def _positive(r) -> bool:
    return r["entry"]["text"] is not None


def _table(title: str, key, results) -> list[str]:
    full, base = results[FULL], results[BASE]
    groups = defaultdict(list)
    for i, r in enumerate(full):
        if _positive(r):
            groups[key(r["entry"])].append(i)
    lines = [
        f"\n{title}",
        f"{'':32s} {'n':>4s} {'full':>7s} {'miss':>5s} {'wrong':>5s} {'pyzbar':>7s} "
        f"{'med ms':>7s} {'max ms':>7s}",
    ]
    for name in sorted(groups, key=lambda k: (k != "clean", k)):
        idx = groups[name]
        f_rows = [full[i] for i in idx]
        b_rows = [base[i] for i in idx]
        times = [r["seconds"] * 1000 for r in f_rows]
        lines.append(
            f"{name:32s} {len(idx):4d} {_pct(_acc(f_rows)):>7s} "
            f"{sum(r['outcome'] == 'miss' for r in f_rows):5d} "
            f"{sum(r['outcome'] == 'wrong' for r in f_rows):5d} "
            f"{_pct(_acc(b_rows)):>7s} {statistics.median(times):7.1f} {max(times):7.1f}"
        )
    all_f = [r for r in full if _positive(r)]
    all_b = [r for r in base if _positive(r)]
    times = [r["seconds"] * 1000 for r in all_f]
    lines.append(
        f"{'ALL (images with a code)':32s} {len(all_f):4d} {_pct(_acc(all_f)):>7s} "
        f"{sum(r['outcome'] == 'miss' for r in all_f):5d} "
        f"{sum(r['outcome'] == 'wrong' for r in all_f):5d} "
        f"{_pct(_acc(all_b)):>7s} {statistics.median(times):7.1f} {max(times):7.1f}"
    )
    return lines


def report(results: dict, out=sys.stdout) -> dict:
    full, base = results[FULL], results[BASE]
    n = len(full)
    p = lambda *a: print(*a, file=out)  # noqa: E731
    pos_full = [r for r in full if _positive(r)]
    pos_base = [r for r in base if _positive(r)]
    neg_full = [r for r in full if not _positive(r)]
    neg_base = [r for r in base if not _positive(r)]

    p(
        "full = scanner_client.decode.decode_image (pyzbar + zxing-cpp + fallbacks); "
        "pyzbar = baseline, one pyzbar pass"
    )
    for line in _table(
        "Accuracy per degradation (images with a code)", lambda e: e["degradation"], results
    ):
        p(line)
    for line in _table(
        "Accuracy per kind of code", lambda e: f"{e['kind']} ({e['symbology']})", results
    ):
        p(line)
    if neg_full:
        neg_times = [r["seconds"] * 1000 for r in neg_full]
        p(
            f"\nLabels without any barcode: {len(neg_full)} images; images with a false positive: "
            f"full {sum(r['outcome'] != 'ok' for r in neg_full)}, "
            f"pyzbar {sum(r['outcome'] != 'ok' for r in neg_base)}; "
            f"time per image (all passes run) median {statistics.median(neg_times):.1f} ms, "
            f"max {max(neg_times):.1f} ms"
        )

    stages = Counter(r["stage"] for r in pos_full if r["outcome"] == "ok")
    decoders = Counter(r["decoder"] for r in pos_full if r["outcome"] == "ok")
    p(
        "\nWhich pass found the code (full pipeline, images read): "
        + ", ".join(f"{k}={v}" for k, v in stages.most_common())
    )
    p(
        "Decoder credited (first to find it): "
        + ", ".join(f"{k}={v}" for k, v in decoders.most_common())
    )
    bad = [r for r in full if r["outcome"] != "ok"]
    if bad:
        p("\nNot read correctly by the full pipeline:")
        for r in bad:
            e = r["entry"]
            p(f"  {r['outcome']:5s} {e['file']:45s} module={e.get('module_px')}px got={r['got']}")

    t_full = [r["seconds"] for r in full]
    t_base = [r["seconds"] for r in base]
    rate_full = n / sum(t_full)
    rate_base = n / sum(t_base)
    acc_full, acc_base = _acc(pos_full), _acc(pos_base)
    ok_full = [r for r in pos_full if r["outcome"] == "ok"]
    clean = [r for r in pos_full if r["entry"]["degradation"] == "clean"]
    clean_base = [r for r in pos_base if r["entry"]["degradation"] == "clean"]
    n_pos = len(pos_full)
    figures = [
        ("decode_images", n, "images"),
        ("decode_images_with_code", n_pos, "images"),
        ("decode_accuracy", round(acc_full, 4), "ratio"),
        (
            "decode_miss_rate",
            round(sum(r["outcome"] == "miss" for r in pos_full) / n_pos, 4),
            "ratio",
        ),
        (
            "decode_wrong_rate",
            round(sum(r["outcome"] == "wrong" for r in pos_full) / n_pos, 4),
            "ratio",
        ),
        ("decode_wrong_decodes", sum(r["wrong_decodes"] for r in full), "codes"),
        ("decode_wrong_and_valid", sum(r["wrong_valid"] for r in full), "codes"),
        ("decode_false_positive_images", sum(r["outcome"] != "ok" for r in neg_full), "images"),
        (
            "decode_ids_accuracy",
            round(sum(r["ids_ok"] for r in ok_full) / max(1, len(ok_full)), 4),
            "ratio",
        ),
        ("decode_accuracy_clean", round(_acc(clean), 4), "ratio"),
        ("decode_accuracy_pyzbar_only", round(acc_base, 4), "ratio"),
        ("decode_accuracy_clean_pyzbar_only", round(_acc(clean_base), 4), "ratio"),
        ("decode_wrong_and_valid_pyzbar_only", sum(r["wrong_valid"] for r in base), "codes"),
        (
            "decode_accuracy_vs_pyzbar_only",
            round(acc_full / acc_base, 3) if acc_base else 0,
            "ratio",
        ),
        ("decode_rate", round(rate_full, 1), "images/s"),
        ("decode_rate_pyzbar_only", round(rate_base, 1), "images/s"),
        ("decode_rate_vs_pyzbar_only", round(rate_full / rate_base, 3), "ratio"),
        ("decode_time_median", round(statistics.median(t_full) * 1000, 1), "ms/image"),
        ("decode_time_p95", round(sorted(t_full)[int(0.95 * (n - 1))] * 1000, 1), "ms/image"),
        ("decode_time_max", round(max(t_full) * 1000, 1), "ms/image"),
        (
            "decode_time_clean_median",
            round(statistics.median([r["seconds"] for r in clean]) * 1000, 1),
            "ms/image",
        ),
        ("decode_time_median_pyzbar_only", round(statistics.median(t_base) * 1000, 1), "ms/image"),
        (
            "decode_time_clean_median_pyzbar_only",
            round(statistics.median([r["seconds"] for r in clean_base]) * 1000, 1),
            "ms/image",
        ),
    ]
    p("")
    for name, value, unit in figures:
        p(f"BENCH {name} {value} {unit}")
    return {name: value for name, value, _ in figures}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_decode", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--dir", help="image set directory (generated there if it has no truth.json)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--per-cell", type=int, default=2, help="images per (kind, degradation) cell")
    ap.add_argument("--json", metavar="FILE", help="also write per-image results to FILE")
    args = ap.parse_args(argv)

    tmp = None
    directory = args.dir
    if directory is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_decode_")
        directory = tmp.name
    try:
        truth_path = os.path.join(directory, "truth.json")
        if os.path.exists(truth_path):
            with open(truth_path, encoding="utf-8") as fh:
                truth = json.load(fh)
            print(f"using {len(truth)} images from {directory}", file=sys.stderr)
        else:
            t0 = time.perf_counter()
            truth = write_set(directory, build_specs(seed=args.seed, per_cell=args.per_cell))
            print(
                f"generated {len(truth)} images in {directory} ({time.perf_counter() - t0:.1f} s)",
                file=sys.stderr,
            )
        results = run(directory, truth)
        report(results)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(
                    {
                        m: [{k: v for k, v in r.items()} for r in rows]
                        for m, rows in results.items()
                    },
                    fh,
                    indent=1,
                    default=str,
                    ensure_ascii=False,
                )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
