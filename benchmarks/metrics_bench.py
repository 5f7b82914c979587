"""Time the feature-space metrics at 10,000 x 2,048 (the size of a typical FID evaluation) and write the results.

    python benchmarks/metrics_bench.py [--n 10000] [--d 2048] [--repeats 3] [--device cpu|cuda]

Each timing is the median of `--repeats` runs. Two reference implementations run beside ours, so each row also
gives a ratio and the largest disagreement:
- Fréchet distance: SciPy's `sqrtm` formula (the common implementation) vs our symmetric eigensolver;
- precision/recall: the full N x N distance matrix at once vs our chunked computation (same numbers, bounded memory).
Results go to benchmarks/results/metrics_<device>.json, which the appendix quotes.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from gantext.metrics.distances import FeatureStats, frechet_distance, kid
from gantext.metrics.manifold import precision_recall
from gantext.experiments.results import device_name, median_seconds


def scipy_fd(a: FeatureStats, b: FeatureStats) -> float:
    c1, c2 = a.cov.numpy(), b.cov.numpy()
    covmean = linalg.sqrtm(c1 @ c2).real
    return float(((a.mean - b.mean) ** 2).sum()) + float(np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean))


def full_matrix_pr(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    d_rr, d_ff, d_rf = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(real, fake)
    r_real = d_rr.kthvalue(k + 1, dim=1).values
    r_fake = d_ff.kthvalue(k + 1, dim=1).values
    precision = (d_rf <= r_real[:, None]).any(0).float().mean()
    recall = (d_rf <= r_fake[None, :]).any(1).float().mean()
    return float(precision), float(recall)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=2_048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    # features shaped like Inception pool features: non-negative, correlated
    mix = torch.randn(args.d, args.d, generator=gen) / args.d ** 0.5
    real = torch.relu(torch.randn(args.n, args.d, generator=gen) @ mix)
    fake = torch.relu(torch.randn(args.n, args.d, generator=gen) @ mix + 0.05)
    rows = []

    t_stats, (sa, sb) = median_seconds(lambda: (FeatureStats.from_features(real), FeatureStats.from_features(fake)),
                                       args.repeats, device)
    rows.append({"metric": "Gaussian statistics (2 sets)", "ours_s": t_stats})
    t_fd, fd = median_seconds(lambda: frechet_distance(sa, sb, device=device), args.repeats, device)
    t_ref, fd_ref = median_seconds(lambda: scipy_fd(sa, sb), 1, torch.device("cpu"))
    rows.append({"metric": "Fréchet distance (from statistics)", "ours_s": t_fd, "reference": "scipy.linalg.sqrtm",
                 "reference_s": t_ref, "ratio": t_ref / t_fd, "value": fd, "abs_diff": abs(fd - fd_ref)})
    t_kid, k = median_seconds(lambda: kid(real, fake, subset_size=1000, n_subsets=100, device=device), args.repeats,
                              device)
    rows.append({"metric": "KID (100 subsets of 1,000)", "ours_s": t_kid, "value": k.mean})
    t_pr, pr = median_seconds(lambda: precision_recall(real, fake, device=device), args.repeats, device)
    r, f = real.to(device), fake.to(device)
    t_full, pr_full = median_seconds(lambda: full_matrix_pr(r, f), args.repeats, device)
    rows.append({"metric": "precision/recall (k = 3)", "ours_s": t_pr, "reference": "full distance matrices",
                 "reference_s": t_full, "ratio": t_full / t_pr, "value": list(pr),
                 "abs_diff": max(abs(a - b) for a, b in zip(pr, pr_full)),
                 "reference_peak_matrix_gb": 3 * args.n * args.n * 4 / 1e9})
    result = {"n": args.n, "d": args.d, "repeats": args.repeats, "device": str(device),
              "device_name": device_name(device),
              "threads": torch.get_num_threads(), "torch": torch.__version__, "rows": rows}
    out = Path(__file__).parent / "results" / f"metrics_{device.type}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"{args.n:,} x {args.d:,} on {device} ({result['threads']} threads), median of {args.repeats}:")
    for row in rows:
        ref = f"   {row['reference']}: {row['reference_s']:.2f} s (x{row['ratio']:.1f}), |diff| {row['abs_diff']:.2g}" if "reference" in row else ""
        print(f"  {row['metric']:<36} {row['ours_s']:7.2f} s{ref}")
    print("wrote", out)


if __name__ == "__main__":
    main()
