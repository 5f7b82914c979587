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

from gantext.benchmark import METHODS, ModeCollapseConfig, results_table, run_benchmark


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = ModeCollapseConfig()
    ap.add_argument("--steps", type=int, default=full.steps)
    ap.add_argument("--runs", type=int, default=full.runs)
    ap.add_argument("--methods", nargs="+", default=list(full.methods), choices=METHODS)
    ap.add_argument("--datasets", nargs="+", default=list(full.datasets), choices=["grid", "ring"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "mode_collapse.json"))
    args = ap.parse_args()
    cfg = replace(full, steps=args.steps, runs=args.runs, methods=tuple(args.methods), datasets=tuple(args.datasets))
    results = run_benchmark(cfg, out=args.out, device=args.device)
    print(results_table(results).to_string())
    print(f"wrote {args.out} ({results['provenance']['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
