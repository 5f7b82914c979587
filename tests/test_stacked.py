"Stacked MNIST (section 4.10): the experiment's pieces, its results file, and the committed full-profile run."
import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gantext.classifier import DigitClassifier
from gantext.data import LabelledImages
from gantext.experiments.stacked_mnist import (STACKED_PUBLISHED, StackedConfig, check_stacked_results, count_stacked_modes,
                             load_stacked_results, run_stacked, stacked_table, stacked_trainer)

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "stacked_mnist.json"
TINY = replace(StackedConfig.quick(), images=64, width=4, batch=8, steps=2, samples=1_200, seeds=(0, 1))


def _digits():
    g = torch.Generator().manual_seed(0)
    return LabelledImages(torch.rand(50, 1, 28, 28, generator=g) * 2 - 1, torch.arange(50) % 10, "random-for-test")


def _classifier():
    torch.manual_seed(0)
    return DigitClassifier(4, 8).eval()


def test_pacdcgan2_packs_pairs_along_the_channels():
    images = torch.rand(32, 3, 28, 28) * 2 - 1
    for method, channels in (("dcgan", 3), ("pacdcgan2", 6)):
        trainer = stacked_trainer(method, images, TINY)
        trainer.fit(1, progress=False)
        conv = next(m for m in trainer.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.in_channels == channels
        cov, fakes = count_stacked_modes(trainer, _classifier(), 1_500)
        assert fakes.shape == (1_500, 3, 28, 28) and sum(cov.counts) == 1_500
    with pytest.raises(ValueError, match="`method` must be one of"):
        stacked_trainer("pacdcgan9", images, TINY)
    with pytest.raises(ValueError, match="must have 3 channel"):
        stacked_trainer("dcgan", images[:, :1], TINY)
    with pytest.raises(TypeError, match="`cfg` must be a StackedConfig"):
        stacked_trainer("dcgan", images, dict(width=4))


def test_run_stacked_writes_a_checked_file(tmp_path):
    out = tmp_path / "s.json"
    results, examples = run_stacked(TINY, out=out, digits=_digits(), classifier=_classifier(), progress=False)
    again, shown = load_stacked_results(out)
    assert [(r["method"], r["seed"]) for r in again["results"]] == [("dcgan", 0), ("dcgan", 1),
                                                                      ("pacdcgan2", 0), ("pacdcgan2", 1)]
    assert again["provenance"]["digits"] == "random-for-test, 50" and again["provenance"]["config"]["steps"] == 2
    assert set(shown) == {"dcgan", "pacdcgan2"} and shown["dcgan"].shape == (16, 3, 28, 28)
    assert torch.allclose(shown["dcgan"], examples["dcgan"].float() / 127.5 - 1)
    assert list(stacked_table(again)["published modes"]) == [99, 1000]
    broken = copy.deepcopy(again); broken["results"].append(dict(broken["results"][0]))
    with pytest.raises(ValueError, match="repeated run"):
        check_stacked_results(broken)
    del broken["provenance"]["real"]
    with pytest.raises(ValueError, match=r"provenance lacks \['real'\]"):
        check_stacked_results(broken)
    with pytest.raises(ValueError, match="`methods` must be among"):
        run_stacked(TINY, methods=("wgan",), digits=_digits(), classifier=_classifier())
    with pytest.raises(FileNotFoundError, match="benchmarks/stacked_mnist.py"):
        load_stacked_results(tmp_path / "missing.json")


def test_committed_results():
    "The committed full-profile file: provenance, both methods, every seed, and the counter sane on real data."
    results, examples = load_stacked_results(RESULTS)
    prov = results["provenance"]
    assert len(prov["commit"]) == 40 and prov["wall_s"] > 0 and prov["config"] == {
        **{k: v for k, v in vars(StackedConfig()).items()}, "seeds": list(StackedConfig().seeds)}
    runs = {(r["method"], r["seed"]) for r in results["results"]}
    assert runs == {(m, s) for m in STACKED_PUBLISHED for s in StackedConfig().seeds}
    assert prov["real"]["modes"] >= 950 and set(examples) == set(STACKED_PUBLISHED)


def test_merge_of_parallel_runs(benchmark_script):
    "benchmarks/stacked_mnist.py --merge: runs added, examples from each method's lowest seed, mismatches refused."
    script, kw = benchmark_script("stacked_mnist"), dict(digits=_digits(), classifier=_classifier(), progress=False)
    a, ex_a = run_stacked(replace(TINY, seeds=(1,)), methods=("dcgan",), **kw)
    b, ex_b = run_stacked(replace(TINY, seeds=(0,)), methods=("dcgan", "pacdcgan2"), **kw)
    both = script.merge(a, b)
    assert [(r["method"], r["seed"]) for r in both["results"]] == [("dcgan", 0), ("dcgan", 1), ("pacdcgan2", 0)]
    assert both["provenance"]["config"]["seeds"] == [0, 1] and a["provenance"]["config"]["seeds"] == [1]
    assert both["provenance"]["wall_s"] == round(sum(r["wall_s"] for r in both["results"]), 1)
    examples = script.merge_examples(ex_a, ex_b, b, both)
    assert examples["dcgan"] is ex_b["dcgan"] and examples["pacdcgan2"] is ex_b["pacdcgan2"]
    with pytest.raises(SystemExit, match="steps"):
        script.merge(a, run_stacked(replace(TINY, steps=1, seeds=(2,)), methods=("dcgan",), **kw)[0])
    other = copy.deepcopy(b); other["provenance"]["device"] = "elsewhere"
    with pytest.raises(SystemExit, match="device"):
        script.merge(a, other)
    with pytest.raises(ValueError, match="`n` must be"):
        count_stacked_modes(stacked_trainer("dcgan", torch.zeros(8, 3, 28, 28), TINY), _classifier(), 0)
