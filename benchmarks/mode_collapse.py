"""Run the mode-collapse benchmark of section 4.9 and write its results file with provenance.

    python benchmarks/mode_collapse.py [--steps N] [--runs R] [--methods gan pacgan4 ...] [--datasets grid ring]
                                       [--device cpu|cuda] [--out benchmarks/results/mode_collapse.json]
                                       [--append | --merge FILE ...]

Defaults are the PacGAN paper's protocol and budget (`gantext.experiments.mode_collapse.ModeCollapseConfig()`: 10 runs of 400,000
steps); pass a smaller `--steps` where that budget is out of reach, and the file records the budget that was run.
The file is rewritten after each configuration, so an interrupted run keeps what it finished. Commit the file
together with (or after) the commit named in its provenance; `tests/test_benchmark.py` checks it.
"""
import argparse
from dataclasses import asdict, replace
from pathlib import Path

from gantext.experiments.mode_collapse import (DATASETS, METHODS, ModeCollapseConfig, check_results, load_results,
                                               results_table, run_benchmark)
from gantext.experiments.results import write_json_atomic


BUDGET = ("runs", "steps", "batch", "g_width", "d_width", "lr", "beta1", "samples")
SETTINGS = {"unroll_k": "unrolled", "unroll_lr": "unrolled", "gp_weight": "wgan_gp", "r1_gamma": "r1"}  # -> its method


def _check_mergeable(before: dict, config: dict, replaced: set, name: str) -> None:
    "Raise SystemExit unless a run with `config`, replacing the `replaced` (data, method) rows, fits `before`."
    budget = {k: before["provenance"]["config"][k] for k in BUDGET}
    if budget != {k: config[k] for k in BUDGET}:
        raise SystemExit(f"merge: {name} was run with another budget than {budget}")
    for key, method in SETTINGS.items():      # a method's own setting may change only if no kept row used it
        old = before["provenance"]["config"].get(key)
        if old != config.get(key) and any(r["method"] == method and (r["data"], r["method"]) not in replaced
                                          for r in before["results"]):
            raise SystemExit(f"merge: {name} has {key}={config.get(key)}, but the {method} rows it keeps were run "
                             f"with {old}")


def merge(before: dict, new: dict, name: str = "new results") -> dict:
    "`before` with the configurations of `new` added (or replaced): same budget required, each row keeps its commit."
    config = new["provenance"]["config"]
    replaced = {(r["data"], r["method"]) for r in new["results"]}
    _check_mergeable(before, config, replaced, name)
    for row in before["results"]:
        row.setdefault("commit", before["provenance"]["commit"])
    kept = [r for r in before["results"] if (r["data"], r["method"]) not in replaced]
    prov = before["provenance"]
    prov["config"].update({key: config.get(key) for key in SETTINGS})
    for key in ("methods", "datasets"):
        prov["config"][key] = list(dict.fromkeys([*prov["config"][key], *config[key]]))
    prov["wall_s"] = round(prov["wall_s"] + new["provenance"]["wall_s"], 1)
    prov["dirty"] = bool(prov["dirty"]) or bool(new["provenance"]["dirty"])
    prov["commit"] = new["provenance"]["commit"]
    rows = sorted(kept + new["results"], key=lambda r: (list(DATASETS).index(r["data"]), METHODS.index(r["method"])))
    return check_results(dict(provenance=prov, results=rows))


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
    ap.add_argument("--merge", nargs="+", metavar="FILE",
                    help="train nothing: add the configurations of these results files to --out (same budget)")
    args = ap.parse_args()
    if args.merge:
        results = load_results(args.out)
        for path in args.merge:
            results = merge(results, load_results(path), path)
    else:
        cfg = replace(full, steps=args.steps, runs=args.runs, methods=tuple(args.methods),
                      datasets=tuple(args.datasets))
        before = load_results(args.out) if args.append else None
        if before is not None:      # fail before training, not after
            _check_mergeable(before, asdict(cfg), {(d, m) for d in cfg.datasets for m in cfg.methods}, "this run")
        results = run_benchmark(cfg, out=None if before else args.out, device=args.device)   # writes a new file
        if before is not None:
            results = merge(before, results)
    if args.merge or args.append:
        write_json_atomic(results, args.out)
    print(results_table(results).to_string())
    print(f"wrote {args.out} ({results['provenance']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
