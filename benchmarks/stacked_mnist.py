"""Run the Stacked MNIST comparison of section 4.10 (DCGAN vs PacDCGAN2) and write its results file with provenance.

    python benchmarks/stacked_mnist.py [--methods dcgan pacdcgan2] [--seeds 0 1] [--steps N] [--device cpu|cuda]
                                       [--out benchmarks/results/stacked_mnist.json] [--force] [--merge FILE ...]

Defaults are the full profile (`gantext.experiments.stacked_mnist.StackedConfig()`). Runs of one method and seed can go to separate
files in parallel (one process each) and be combined with `--merge`: same configuration, digits, device and
real-data coverage required; each run keeps its commit. 16 samples per method, from its lowest seed, are written
beside the file (`.examples.pt`); `tests/test_stacked.py` checks both.
"""
import argparse
import copy
import json
from dataclasses import replace
from pathlib import Path

from gantext.experiments.results import write_json_atomic
from gantext.core import load_safe, save_atomic
from gantext.experiments.stacked_mnist import (STACKED_METHODS, StackedConfig, examples_path, check_stacked_results,
                                               run_stacked, stacked_table)

VARYING = ("seeds",)          # config fields that may differ between merged files


def merge(before: dict, new: dict, name: str = "new results") -> dict:
    "`before` with the runs of `new` added (or replaced): same configuration, digits, device and real-data coverage."
    before, new = copy.deepcopy(before), check_stacked_results(copy.deepcopy(new))
    fixed = lambda r: {k: v for k, v in r["provenance"]["config"].items() if k not in VARYING}
    if fixed(before) != fixed(new):
        raise SystemExit(f"merge: {name} was run with {fixed(new)}, not {fixed(before)}")
    for key in ("digits", "device", "torch", "real"):
        if before["provenance"][key] != new["provenance"][key]:
            raise SystemExit(f"merge: {name} has {key} {new['provenance'][key]}, not {before['provenance'][key]}")
    prov, replaced = before["provenance"], {(r["method"], r["seed"]) for r in new["results"]}
    rows = [r for r in before["results"] if (r["method"], r["seed"]) not in replaced] + new["results"]
    rows.sort(key=lambda r: (list(STACKED_METHODS).index(r["method"]), r["seed"]))
    prov["config"]["seeds"] = sorted({r["seed"] for r in rows})
    prov["wall_s"] = round(sum(r["wall_s"] for r in rows), 1)       # compute time, summed over runs
    prov["dirty"] = bool(prov["dirty"]) or bool(new["provenance"]["dirty"])
    return check_stacked_results(dict(provenance=prov, results=rows))


def merge_examples(examples: dict, new_examples: dict, new: dict, merged: dict) -> dict:
    "Each method's examples come from its lowest seed in `merged`: from `new_examples` if `new` ran that seed."
    out = {}
    for method in dict.fromkeys(r["method"] for r in merged["results"]):
        seed = min(r["seed"] for r in merged["results"] if r["method"] == method)
        ran_it = any(r["method"] == method and r["seed"] == seed for r in new["results"])
        out[method] = (new_examples if ran_it else examples)[method]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = StackedConfig()
    ap.add_argument("--methods", nargs="+", default=list(STACKED_METHODS), choices=list(STACKED_METHODS))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(full.seeds))
    ap.add_argument("--steps", type=int, default=full.steps)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "stacked_mnist.json"))
    ap.add_argument("--force", action="store_true", help="replace an existing --out with a fresh run")
    ap.add_argument("--merge", nargs="+", metavar="FILE",
                    help="train nothing: add the runs of these results files to --out (same configuration)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.merge:
        if not out.exists():
            raise SystemExit(f"merge: --out {out} does not exist; copy one of the files to merge there first")
        results, examples = json.loads(out.read_text()), load_safe(examples_path(out))
        for path in args.merge:
            new = json.loads(Path(path).read_text())
            merged = merge(results, new, path)
            examples = merge_examples(examples, load_safe(examples_path(path)), new, merged)
            results = merged
        write_json_atomic(results, out)
        save_atomic(examples, examples_path(out))
    else:
        if out.exists() and not args.force:
            raise SystemExit(f"{out} exists: pass --force to replace it, or write elsewhere and --merge")
        if len(set(args.seeds)) != len(args.seeds):
            raise SystemExit(f"--seeds must not repeat, got {args.seeds}")
        cfg = replace(full, steps=args.steps, seeds=tuple(args.seeds))
        results, _ = run_stacked(cfg, out=out, methods=tuple(args.methods), device=args.device)
    print(stacked_table(results).to_string())
    print(f"wrote {out} ({results['provenance']['wall_s']:.0f} s of compute)")


if __name__ == "__main__":
    main()
