"The committed comparison of Chapter 5's architectures (benchmarks/architectures.py) is complete and consistent."
import json
import math
from pathlib import Path

import torch

from gantext.core import load_safe

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "architectures_cpu.json"
NAMES = ["ProGAN", "BigGAN", "StyleGAN", "StyleGAN2"]


def test_every_architecture_ran_on_the_same_budget_and_seeds():
    data = json.loads(RESULTS.read_text())
    runs = data["runs"]
    seeds = {n: sorted(r["seed"] for r in runs if r["architecture"] == n) for n in NAMES}
    assert len(seeds["ProGAN"]) >= 2 and all(s == seeds["ProGAN"] for s in seeds.values()), seeds
    assert [r["architecture"] for r in runs] == [n for n in NAMES for _ in seeds[n]]      # in the page's order
    for r in runs:
        p = r["provenance"]
        assert p["config"] == dict(architecture=r["architecture"], seed=r["seed"], **data["setting"]), p["config"]
        assert len(p["commit"]) == 40 and p["wall_s"] > 0
        for key in ("fcd", "fcd_untrained", "precision", "recall", "confident", "ms_per_step"):
            assert math.isfinite(r[key]) and r[key] >= 0, (key, r[key])
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["classes"] <= 10
        assert r["g_params"] > 0 and r["d_params"] > 0
    assert 0 <= data["real"]["fcd"] < min(r["fcd"] for r in runs)


def test_the_examples_match_the_runs():
    data = json.loads(RESULTS.read_text())
    examples = load_safe(RESULTS.with_suffix(".examples.pt"))
    assert set(examples) == {f"{r['architecture']}/{r['seed']}" for r in data["runs"]}
    for x in examples.values():
        assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32
        assert x.min() >= -1 and x.max() <= 1 and x.std() > 0.1          # images, not a constant
