"""Run every benchmark (`make bench`), each in its own process, and collect BENCH lines.

    python -m benchmarks.run_all [--only ingest,decode,...] [--quick]

``--quick`` passes each benchmark its small-size flags, for a smoke run; the figures in
docs/benchmarks.md come from full runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = {
    "decode": ("benchmarks.bench_decode", ["--per-cell", "1"]),
    "ingest": ("benchmarks.bench_ingest", ["--scans", "5000", "--parcels", "100", "--runs", "1"]),
    "ledger": ("benchmarks.bench_ledger", ["--leaves", "20000", "--runs", "1",
                                           "--ingest-runs", "2", "--samples", "200"]),
    "trace": ("benchmarks.bench_trace", ["--quick"]),
    "public": ("benchmarks.bench_public", ["--events", "20000", "--runs", "1",
                                           "--seconds", "2"]),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    lines, failed = [], []
    for name in args.only.split(","):
        module, quick = BENCHMARKS[name]
        cmd = [sys.executable, "-m", module] + (quick if args.quick else [])
        print(f"# running {' '.join(cmd[1:])}", flush=True)
        start = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        out = [line for line in proc.stdout.splitlines() if line.startswith(("BENCH", "#"))]
        print("\n".join(out), flush=True)
        print(f"# {name}: exit {proc.returncode} after {time.time() - start:.0f} s", flush=True)
        if proc.returncode != 0:
            failed.append(name)
            print(proc.stderr[-2000:], file=sys.stderr)
        lines += [line for line in out if line.startswith("BENCH")]
    print("# summary")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
