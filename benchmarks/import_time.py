"""How long `import gantext` takes, and what it loads, against an older checkout run side by side.

Each measurement is a fresh Python process (`python -X importtime`-free wall time of the import statement alone,
torch included when it is loaded); runs of this checkout and of the peer alternate, and the medians are compared.

    python benchmarks/import_time.py --peer /path/to/older/checkout --repeats 9 --out benchmarks/results/import_cpu.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gantext.experiments.results import git_state, provenance, write_json_atomic  # noqa: E402

PROBE = ("import sys, time; t = time.perf_counter(); import {stmt}; dt = time.perf_counter() - t; "
         "print(dt, int('torch' in sys.modules))")
STATEMENTS = ("gantext", "gantext.train", "gantext.metrics")


def once(checkout: Path, stmt: str) -> tuple[float, bool]:
    "Seconds for `import <stmt>` in a fresh process that sees `checkout` first on its path; and whether torch loaded."
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt)], cwd=checkout, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"}).stdout.split()
    return float(out[0]), out[1] == "1"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", type=Path, help="an older checkout to compare with (optional)")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    checkouts = {"this": ROOT, **({"peer": args.peer.resolve()} if args.peer else {})}
    rows, t0 = [], time.perf_counter()
    for stmt in STATEMENTS:
        times = {k: [] for k in checkouts}
        loads_torch = {}
        for _ in range(args.repeats):          # alternate, so that drifts of the machine hit both alike
            for name, path in checkouts.items():
                try:
                    t, torch_loaded = once(path, stmt)
                except subprocess.CalledProcessError:
                    continue                   # the module does not exist in that checkout
                times[name].append(t); loads_torch[name] = torch_loaded
        row = {"import": stmt, **{f"{k}_s": round(statistics.median(v), 6) for k, v in times.items() if v},
               **{f"{k}_loads_torch": v for k, v in loads_torch.items()}}
        if row.get("peer_s") and row.get("this_s"):
            row["speed_up"] = round(row["peer_s"] / row["this_s"], 1)
        rows.append(row)
        print(row)
    peer = None if args.peer is None else git_state(args.peer)["commit"]
    result = {"provenance": provenance("cpu", None, repeats=args.repeats, peer_commit=peer), "rows": rows}
    result["provenance"]["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.out:
        write_json_atomic(result, args.out)


if __name__ == "__main__":
    main()
