"The mode-collapse benchmark: every method trains as an ensemble, and the committed results file is checked."
import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gantext.experiments.mode_collapse import (DATASETS, METHODS, PUBLISHED, ModeCollapseConfig, benchmark_trainer, check_results,
                               evaluate_runs, load_results, results_table, run_benchmark, summarise_runs)

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "mode_collapse.json"
TINY = replace(ModeCollapseConfig.quick(), runs=2, steps=2, g_width=8, d_width=4, samples=200, batch=12)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_as_an_ensemble(method):
    mixture = DATASETS["grid"]()
    trainer = benchmark_trainer(method, mixture, TINY)
    trainer.fit(2, progress=False)
    runs = evaluate_runs(trainer, mixture, n=200)
    assert len(runs) == 2 and all(0 <= r.modes_captured <= 25 for r in runs)
    assert trainer.latent_shape == (2, 2)


def test_run_benchmark_writes_a_checked_file(tmp_path):
    cfg = replace(TINY, methods=("gan", "pacgan2"), datasets=("ring",))
    results = run_benchmark(cfg, out=tmp_path / "r.json", progress=False)
    again = load_results(tmp_path / "r.json")
    assert again == json.loads(json.dumps(results)) and len(again["results"]) == 2
    assert set(again["provenance"]) >= {"commit", "dirty", "device", "torch", "threads", "config", "wall_s"}
    assert "gan" in results_table(again).loc["ring"].index
    broken = copy.deepcopy(again); broken["results"][0]["summary"]["modes"]["mean"] += 1
    with pytest.raises(ValueError, match="disagrees with its runs' mean"):
        check_results(broken)
    del broken["provenance"]["commit"]
    with pytest.raises(ValueError, match=r"provenance lacks \['commit'\]"):
        check_results(broken)
    with pytest.raises(FileNotFoundError, match="benchmarks/mode_collapse.py"):
        load_results(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="`method` must be one of"):
        benchmark_trainer("vanilla", DATASETS["grid"](), TINY)


def test_committed_results():
    "The committed file: provenance complete, consistent summaries, and the paper's target where its budget was run."
    results = load_results(RESULTS)
    prov, rows = results["provenance"], {(r["data"], r["method"]): r["summary"] for r in results["results"]}
    assert len(prov["commit"]) == 40 and prov["config"]["runs"] >= 10 and prov["wall_s"] > 0
    gan, pac4 = rows["grid", "gan"], rows["grid", "pacgan4"]
    if prov["config"]["steps"] >= 400_000:                   # the paper's budget: its claim must hold
        assert pac4["modes"]["mean"] >= 24 and pac4["high_quality"]["mean"] >= 0.90
        assert pac4["reverse_kl"]["mean"] < 0.5 * gan["reverse_kl"]["mean"]
    else:                                                    # what section 4.9 says of the committed short run
        grid = {method: s for (data, method), s in rows.items() if data == "grid"}
        assert max(s["high_quality"]["mean"] for s in grid.values()) < 0.05   # no method is inside the grid's modes yet
        assert min(s["modes"]["mean"] for m, s in grid.items() if m != "unrolled") >= 5   # ...most clouds touch many
        if ("ring", "unrolled") in rows:                                  # the Unrolled GAN failed on the ring
            assert rows["ring", "unrolled"]["modes"]["mean"] < 1
        ring = {method: s["high_quality"]["mean"] for (data, method), s in rows.items() if data == "ring"}
        if {"gan", "pacgan2", "pacgan4"} <= set(ring):                  # on the ring, packing sharpens later
            assert ring["gan"] > ring["pacgan2"] > ring["pacgan4"]
    assert set(rows) <= {(data, method) for data in DATASETS for method in METHODS}
    assert PUBLISHED["grid"]["pacgan4"]["modes"] == 24.8      # the target stays visible


def test_merge_keeps_budget_and_settings_honest(benchmark_script):
    "benchmarks/mode_collapse.py --merge/--append: same budget only, rows keep their commit, settings not mixed."
    merge = benchmark_script("mode_collapse").merge
    a = run_benchmark(replace(TINY, methods=("gan",), datasets=("grid",)), progress=False)
    b = run_benchmark(replace(TINY, methods=("r1",), datasets=("ring",), r1_gamma=0.5), progress=False)
    both = merge(copy.deepcopy(a), copy.deepcopy(b))
    assert [(r["data"], r["method"]) for r in both["results"]] == [("grid", "gan"), ("ring", "r1")]
    config = both["provenance"]["config"]
    assert config["r1_gamma"] == 0.5 and config["datasets"] == ["grid", "ring"]
    assert both["provenance"]["wall_s"] == pytest.approx(a["provenance"]["wall_s"] + b["provenance"]["wall_s"], abs=0.2)
    other_gamma = run_benchmark(replace(TINY, methods=("gan",), datasets=("ring",)), progress=False)   # r1_gamma 1
    with pytest.raises(SystemExit, match="r1_gamma=1.0, but the r1 rows it keeps were run with 0.5"):
        merge(copy.deepcopy(both), other_gamma)
    longer = run_benchmark(replace(TINY, steps=3, methods=("gan",), datasets=("grid",)), progress=False)
    with pytest.raises(SystemExit, match="another budget"):
        merge(copy.deepcopy(a), longer)


def test_committed_gpu_results():
    "The 10,000-step GPU file beside the 2,000-step CPU file: what section 4.9 says of the longer run."
    long, short = (load_results(RESULTS.with_name(name)) for name in ("mode_collapse_gpu.json", "mode_collapse.json"))
    assert long["provenance"]["config"]["steps"] == 5 * short["provenance"]["config"]["steps"] == 10_000
    rows = {(r["data"], r["method"]): r["summary"] for r in long["results"]}
    first = {(r["data"], r["method"]): r["summary"] for r in short["results"]}
    hq = lambda s: s["high_quality"]["mean"]
    assert hq(rows["grid", "gan"]) > 5 * hq(first["grid", "gan"]) and hq(rows["grid", "pacgan4"]) < 0.05
    assert rows["ring", "pacgan4"]["reverse_kl"]["mean"] < rows["ring", "gan"]["reverse_kl"]["mean"]
