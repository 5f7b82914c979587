"""Run the mode-collapse benchmark of section 4.9 and write its results file with provenance.

    python benchmarks/mode_collapse.py [--steps N] [--runs R] [--methods gan pacgan4 ...] [--datasets grid ring]
                                       [--device cpu|cuda] [--out benchmarks/results/mode_collapse.json]

Defaults are the PacGAN paper's protocol and budget (`gantext.benchmark.ModeCollapseConfig()`: 10 runs of 400,000
steps); pass a smaller `--steps` where that budget is out of reach, and the file records the budget that was run.
The file is rewritten after each configuration, so an interrupted run keeps what it finished. Commit the file
together with (or after) the commit named in its provenance; `tests/test_benchmark.py` checks it.
"""
import argparse
from dataclasses import replace
from pathlib import Path

from gantext.benchmark import (METHODS, ModeCollapseConfig, check_results, load_results, results_table, run_benchmark,
                               write_json_atomic)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = ModeCollapseConfig()
    ap.add_argument("--steps", type=int, default=full.steps)
    ap.add_argument("--runs", type=int, default=full.runs)
    ap.add_argument("--methods", nargs="+", default=list(full.methods), choices=METHODS)
    ap.add_argument("--datasets", nargs="+", default=list(full.datasets), choices=["grid", "ring"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "mode_collapse.json"))
    ap.add_argument("--append", action="store_true",
                    help="add these configurations to an existing file of the same budget (each row keeps its commit)")
    args = ap.parse_args()
    cfg = replace(full, steps=args.steps, runs=args.runs, methods=tuple(args.methods), datasets=tuple(args.datasets))
    before = load_results(args.out) if args.append else None
    if before is not None:
        keys = ("runs", "steps", "batch", "g_width", "d_width", "lr", "beta1", "samples")
        budget = {k: before["provenance"]["config"][k] for k in keys}
        if budget != {k: getattr(cfg, k) for k in keys}:
            raise SystemExit(f"--append: {args.out} was run with another budget: {budget}")
    results = run_benchmark(cfg, out=None if before else args.out, device=args.device)
    if before is not None:
        for row in before["results"]:
            row.setdefault("commit", before["provenance"]["commit"])
        new = {(r["data"], r["method"]) for r in results["results"]}
        results["results"] = [r for r in before["results"] if (r["data"], r["method"]) not in new] + results["results"]
        prov = before["provenance"]
        prov["wall_s"] = round(prov["wall_s"] + results["provenance"]["wall_s"], 1)
        for key in ("methods", "datasets"):
            prov["config"][key] = list(dict.fromkeys([*prov["config"][key], *results["provenance"]["config"][key]]))
        prov["commit"], prov["dirty"] = results["provenance"]["commit"], results["provenance"]["dirty"]
        results["provenance"] = prov
        write_json_atomic(check_results(results), args.out)
    print(results_table(results).to_string())
    print(f"wrote {args.out} ({results['provenance']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
