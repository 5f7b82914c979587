"""Time one training step of R runs of the mode-collapse benchmark's networks: one batched ensemble vs a Python loop.

    python benchmarks/ensemble_speed.py [--runs 10] [--batch 100] [--repeats 5] [--steps 10] [--device cpu|cuda]
                                        [--widths 400,200 64,32]

Both sides go through `gantext.train.Trainer` with the same loss and optimiser (non-saturating loss, Adam), so the
times include everything a benchmark run pays for. Each number is the median over `--repeats` timings of
`--steps` steps, after a warm-up. Rows are written to benchmarks/results/ensemble_<device>.json with the machine,
torch version and thread count; section 4.8/4.9 of the book quote them.
"""
import argparse
import json
from pathlib import Path

import torch

from gantext.experiments.results import device_name, git_state, median_seconds
from gantext.data import grid_of_gaussians, make_batches
from gantext.models.ensemble import (EnsembleCritic, RunsSampler, adam_for_runs, protocol_discriminator,
                              protocol_generator, stack_runs)
from gantext.train import Trainer


def trainers(runs, batch, g_width, d_width, device):
    mixture = grid_of_gaussians()
    gens = [protocol_generator(hidden=g_width) for _ in range(runs)]
    discs = [protocol_discriminator(hidden=d_width) for _ in range(runs)]
    opt = dict(g_optimizer=adam_for_runs(runs, 1e-4, (0.8, 0.999)), d_optimizer=adam_for_runs(runs, 1e-4, (0.8, 0.999)))
    ensemble = Trainer(stack_runs(gens), EnsembleCritic(stack_runs(discs)), make_batches(RunsSampler(mixture, runs), batch,
                       device=device), latent_dim=(runs, 2), device=device, **opt)
    opt1 = dict(g_optimizer=adam_for_runs(1, 1e-4, (0.8, 0.999)), d_optimizer=adam_for_runs(1, 1e-4, (0.8, 0.999)))
    separate = [Trainer(g, d, make_batches(mixture, batch, device=device, seed=r), latent_dim=2, device=device, seed=r, **opt1)
                for r, (g, d) in enumerate(zip(gens, discs))]
    return ensemble, separate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--widths", nargs="+", default=["400,200", "64,32"], help="generator,discriminator hidden widths")
    args = ap.parse_args()
    device = torch.device(args.device)
    rows = []
    for widths in args.widths:
        g_width, d_width = map(int, widths.split(","))
        ensemble, separate = trainers(args.runs, args.batch, g_width, d_width, device)
        ensemble.fit(2, progress=False); [t.fit(2, progress=False) for t in separate]   # warm-up
        t_ens = median_seconds(lambda: ensemble.fit(args.steps, progress=False), args.repeats, device)[0] / args.steps
        t_loop = median_seconds(lambda: [t.fit(args.steps, progress=False) for t in separate], args.repeats,
                                device)[0] / args.steps
        row = dict(runs=args.runs, batch=args.batch, g_width=g_width, d_width=d_width,
                   ensemble_ms_per_step=round(1000 * t_ens, 2), loop_ms_per_step=round(1000 * t_loop, 2),
                   speedup=round(t_loop / t_ens, 2))
        rows.append(row)
        print(f"G {g_width} / D {d_width}, {args.runs} runs, batch {args.batch}: ensemble {1000 * t_ens:8.1f} ms/step, "
              f"loop {1000 * t_loop:8.1f} ms/step, speed-up {t_loop / t_ens:5.2f}x", flush=True)
    out = Path(__file__).parent / "results" / f"ensemble_{device.type}.json"
    info = dict(device=device_name(device), torch=torch.__version__, threads=torch.get_num_threads(),
                repeats=args.repeats, steps=args.steps, **git_state())
    out.write_text(json.dumps(dict(machine=info, rows=rows), indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
