"""Run the Stacked MNIST comparison of section 4.10 (DCGAN vs PacDCGAN2) and write its results file with provenance.

    python benchmarks/stacked_mnist.py [--methods dcgan pacdcgan2] [--seeds 0 1] [--steps N] [--device cpu|cuda]
                                       [--out benchmarks/results/stacked_mnist.json] [--merge FILE ...]

Defaults are the full profile (`gantext.stacked.StackedConfig()`). Runs of one method and seed can go to separate
files in parallel (one process each) and be combined with `--merge`: same configuration required, each run keeps
its commit. 16 samples per method are written beside the file (`.examples.pt`); `tests/test_stacked.py` checks both.
"""
import argparse
from dataclasses import asdict, replace
from pathlib import Path

from gantext.benchmark import write_json_atomic
from gantext.core import load_safe, save_atomic
from gantext.stacked import (STACKED_METHODS, StackedConfig, _examples_path, check_stacked_results, run_stacked,
                             stacked_table)

VARYING = ("seeds",)          # config fields that may differ between merged files


def merge(before: dict, new: dict, name: str = "new results") -> dict:
    "`before` with the runs of `new` added (or replaced): same configuration and real-data coverage required."
    fixed = lambda r: {k: v for k, v in r["provenance"]["config"].items() if k not in VARYING}
    if fixed(before) != fixed(new):
        raise SystemExit(f"merge: {name} was run with {fixed(new)}, not {fixed(before)}")
    if before["provenance"]["digits"] != new["provenance"]["digits"]:
        raise SystemExit(f"merge: {name} used digits {new['provenance']['digits']}, not {before['provenance']['digits']}")
    prov, replaced = before["provenance"], {(r["method"], r["seed"]) for r in new["results"]}
    rows = [r for r in before["results"] if (r["method"], r["seed"]) not in replaced] + new["results"]
    prov["config"]["seeds"] = sorted({r["seed"] for r in rows})
    prov["wall_s"] = round(prov["wall_s"] + new["provenance"]["wall_s"], 1)
    prov["dirty"] = bool(prov["dirty"]) or bool(new["provenance"]["dirty"])
    methods = list(STACKED_METHODS)
    rows.sort(key=lambda r: (methods.index(r["method"]), r["seed"]))
    return check_stacked_results(dict(provenance=prov, results=rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = StackedConfig()
    ap.add_argument("--methods", nargs="+", default=list(STACKED_METHODS), choices=list(STACKED_METHODS))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(full.seeds))
    ap.add_argument("--steps", type=int, default=full.steps)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "stacked_mnist.json"))
    ap.add_argument("--merge", nargs="+", metavar="FILE",
                    help="train nothing: add the runs of these results files to --out (same configuration)")
    args = ap.parse_args()
    if args.merge:
        import json
        results = json.loads(Path(args.out).read_text())
        examples = load_safe(_examples_path(args.out))
        for path in args.merge:
            results = merge(results, json.loads(Path(path).read_text()), path)
            examples = {**load_safe(_examples_path(path)), **examples}
        write_json_atomic(results, args.out)
        save_atomic(examples, _examples_path(args.out))
    else:
        cfg = replace(full, steps=args.steps, seeds=tuple(args.seeds))
        results, _ = run_stacked(cfg, out=args.out, methods=tuple(args.methods), device=args.device)
    print(stacked_table(results).to_string())
    print(f"wrote {args.out} ({results['provenance']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
