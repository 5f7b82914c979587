"""Train Chapter 5's four architectures on one budget (same digits, steps, batch size and seeds) and write the
comparison that the chapter page shows, with provenance per run.

    python benchmarks/architectures.py [--only ProGAN BigGAN StyleGAN StyleGAN2] [--seeds 0 1] [--steps 1000]
                                       [--batch-size 32] [--out benchmarks/results/architectures_cpu.json]

Each architecture is built by its section's builder (`progan_trainer`, `biggan_trainer`, `stylegan_trainer`,
`stylegan2_trainer`) with the section's settings, except the batch size, which is the same for all. The data are
the offline MNIST training digits padded to 32x32; the samples are judged by the book's digit classifier against
the 1,000 held-out digits: FCD, precision and recall (k = 3), the share read with confidence p >= 0.9 and the
classes present; the same measures of the untrained generator and of 1,000 real training digits frame them.
Runs already in the file are kept unless run again, so architectures can be run one at a time. 16 samples per
architecture and seed go beside the file (`.examples.pt`); `tests/test_architectures.py` checks both.
"""
import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("GANTEXT_OFFLINE", "1")

import json

import torch
import torch.nn.functional as F

from gantext.classifier import digit_classifier
from gantext.core import load_safe, save_atomic, set_seed
from gantext.data import load_mnist
from gantext.experiments.results import provenance, write_json_atomic
from gantext.metrics import ClassifierFeatures, class_coverage, fid, precision_recall

ARCHITECTURES = {"ProGAN": "gantext.models.progan:progan_trainer", "BigGAN": "gantext.models.biggan:biggan_trainer",
                 "StyleGAN": "gantext.models.stylegan:stylegan_trainer",
                 "StyleGAN2": "gantext.models.stylegan2:stylegan2_trainer"}
EVAL_N = 1_000


def builder(name: str):
    module, fn = ARCHITECTURES[name].split(":")
    return getattr(__import__(module, fromlist=[fn]), fn)


def judge(images: torch.Tensor, classifier, features, held_out) -> dict:
    "FCD, precision/recall (k=3), confident share and classes of 28x28 images in [-1, 1] against the held-out digits."
    with torch.no_grad():
        probs = classifier(images).softmax(1)
    f = features(images)
    pr = precision_recall(held_out, f, k=3)
    return dict(fcd=round(fid(held_out, f), 3), precision=round(pr.precision, 4), recall=round(pr.recall, 4),
                confident=round(float((probs.max(1).values >= 0.9).float().mean()), 4),
                classes=class_coverage(probs, 10).classes_covered)


def samples_28(trainer, n: int, seed: int) -> torch.Tensor:
    "n samples of the trainer's (EMA) generator, enlarged to 32x32 if smaller (an ungrown ProGAN), cropped to 28x28."
    torch.manual_seed(seed)
    x = trainer.sample(n).cpu().float()
    if x.shape[-1] < 32:
        x = F.interpolate(x, size=(32, 32), mode="nearest")
    return x[..., 2:30, 2:30].clamp(-1, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--steps", type=int, default=1_000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "architectures_cpu.json"))
    args = ap.parse_args()
    out, examples_out = Path(args.out), Path(args.out).with_suffix(".examples.pt")
    setting = dict(steps=args.steps, batch_size=args.batch_size)

    digits = load_mnist("train")
    test = load_mnist("test", source=digits.source, verbose=False)
    images = F.pad(digits.images, (2, 2, 2, 2), value=-1.0)
    classifier = digit_classifier(device="cpu", verbose=False)
    features = ClassifierFeatures(classifier, device="cpu")
    held_out = features(test.images[:EVAL_N])
    pick = torch.randperm(len(digits.labels), generator=torch.Generator().manual_seed(0))[:EVAL_N]

    data = json.loads(out.read_text()) if out.exists() else dict(setting=setting, runs=[])
    if data["setting"] != setting:
        raise SystemExit(f"{out} holds runs with {data['setting']}, not {setting}: use another --out")
    examples = load_safe(examples_out) if examples_out.exists() else {}
    data["data"] = dict(train=digits.source, n_train=len(digits.labels), held_out=EVAL_N)
    data["real"] = judge(digits.images[pick], classifier, features, held_out)
    for name in args.only:
        for seed in args.seeds:
            set_seed(seed)
            trainer = builder(name)(images, digits.labels, args.steps, seed=seed, batch_size=args.batch_size)
            prov = provenance("cpu", config=dict(architecture=name, seed=seed, **setting))
            before = judge(samples_28(trainer, EVAL_N, 10_000 + seed), classifier, features, held_out)
            start = time.perf_counter()
            trainer.fit(args.steps, progress=False)
            seconds = time.perf_counter() - start
            after = judge(samples_28(trainer, EVAL_N, 10_000 + seed), classifier, features, held_out)
            prov["wall_s"] = round(seconds, 1)
            run = dict(architecture=name, seed=seed, **after, fcd_untrained=before["fcd"],
                       ms_per_step=round(1000 * seconds / args.steps, 1),
                       g_params=sum(p.numel() for p in trainer.generator.parameters()),
                       d_params=sum(p.numel() for p in trainer.discriminator.parameters()), provenance=prov)
            data["runs"] = [r for r in data["runs"] if (r["architecture"], r["seed"]) != (name, seed)] + [run]
            examples[f"{name}/{seed}"] = samples_28(trainer, 16, 20_000 + seed)
            print(f"{name:9s} seed {seed}: {run['ms_per_step']:6.1f} ms/step  FCD {run['fcd']:7.1f} "
                  f"(untrained {before['fcd']:.1f})  P {run['precision']:.3f}  R {run['recall']:.3f}  "
                  f"confident {run['confident']:.1%}  classes {run['classes']}", flush=True)
            order = list(ARCHITECTURES)
            data["runs"].sort(key=lambda r: (order.index(r["architecture"]), r["seed"]))
            write_json_atomic(data, out)
            save_atomic(examples, examples_out)
    print(f"real training digits: FCD {data['real']['fcd']:.1f}  P {data['real']['precision']:.3f}  "
          f"R {data['real']['recall']:.3f}; wrote {out}")


if __name__ == "__main__":
    main()
