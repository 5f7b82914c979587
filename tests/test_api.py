"The public API imports, and every public entry point rejects bad input with a message naming the argument."
import importlib
import inspect
import math
import pkgutil

import numpy as np
import pytest
import torch
from torch import nn

import gantext
from gantext import core, data, losses, metrics, train, viz


def test_every_public_name_of_every_module_is_documented():
    "Each module of the package lists its public names in __all__, and every one of them has a docstring."
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(gantext.__path__, "gantext.")
               if not m.name.rsplit(".", 1)[-1].startswith("_")]
    assert len(modules) >= 25 and "gantext.train.loop" in {m.__name__ for m in modules}
    for module in modules:
        assert module.__all__, f"{module.__name__} exports nothing"
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert obj.__doc__, f"{module.__name__}.{name} has no docstring"


def test_public_names_import():
    for module in (core, data, losses, metrics, viz, train):
        assert module.__all__, f"{module.__name__} exports nothing"
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert obj.__doc__, f"{module.__name__}.{name} has no docstring"
    assert gantext.__version__
    for name in ("get_profile", "get_device", "set_seed", "ExperimentConfig"):
        assert hasattr(core, name)
    for name in ("sample_gaussian_1d", "ring_of_gaussians", "grid_of_gaussians", "load_mnist", "make_batches"):
        assert hasattr(data, name)
    for name in ("get_loss", "gradient_penalty", "LOSSES"):
        assert hasattr(losses, name)
    for name in ("wasserstein_1d", "mode_coverage"):
        assert hasattr(metrics, name)
    for name in ("figure", "BookFigure", "show_images", "plot_losses", "plot_hist_1d", "plot_samples_2d"):
        assert hasattr(viz, name)
    for name in ("Trainer", "Callback", "SampleSnapshots", "CheckpointEvery"):
        assert hasattr(train, name)


G = nn.Linear(1, 1)
D = nn.Linear(1, 1)
ONES = torch.ones(8, 1)
RING = data.ring_of_gaussians()

BAD_CALLS = [
    # (call, exception, text the message must contain)
    (lambda: core.set_seed("1"), TypeError, "`seed`"),
    (lambda: core.set_seed(-3), ValueError, "`seed`"),
    (lambda: data.sample_gaussian_1d(2.5), TypeError, "`n`"),
    (lambda: data.sample_gaussian_1d(-1), ValueError, "`n`"),
    (lambda: data.sample_gaussian_1d(4, std=-1.0), ValueError, "`std`"),
    (lambda: data.GaussianMixture(torch.zeros(4, 3), 0.1), ValueError, "`centres` must be a (K, 2)"),
    (lambda: data.GaussianMixture(torch.zeros(4, 2), 0.0), ValueError, "`std`"),
    (lambda: data.ring_of_gaussians(0), ValueError, "`n_modes`"),
    (lambda: data.grid_of_gaussians(side=1.5), TypeError, "`side`"),
    (lambda: RING.sample(0), ValueError, "`n`"),
    (lambda: data.load_mnist("val"), ValueError, "`split`"),
    (lambda: data.load_mnist(source="web"), ValueError, "`source`"),
    (lambda: data.TensorBatches([ONES, "labels"], 4), TypeError, "`tensors`"),
    (lambda: data.TensorBatches((ONES, torch.ones(3)), 4), ValueError, "same length"),
    (lambda: data.TensorBatches(ONES, 0), ValueError, "`batch_size`"),
    (lambda: data.TensorBatches(ONES, 9), ValueError, "`batch_size` (9) exceeds the dataset size (8)"),
    (lambda: data.SamplerBatches(42, 4), TypeError, "`sample`"),
    (lambda: data.LoaderBatches([1, 2]), TypeError, "`loader`"),
    (lambda: data.make_batches(3.14, 4), TypeError, "`source`"),
    (lambda: losses.get_loss("vanilla"), ValueError, "expected one of"),
    (lambda: losses.get_loss(3), TypeError, "`name`"),
    (lambda: losses.get_loss(losses.HingeLoss(), margin=2), ValueError, "one or the other"),
    (lambda: losses.MinimaxLoss(real_label=1.5), ValueError, "`real_label`"),
    (lambda: losses.LeastSquaresLoss(a=0.5, b=0.5), ValueError, "`a` (fake) and `b` (real)"),
    (lambda: losses.HingeLoss().discriminator(torch.ones(4, 2), torch.ones(4)), ValueError, "`real_scores` must have shape"),
    (lambda: losses.HingeLoss().discriminator(torch.ones(4), torch.ones(0)), ValueError, "`fake_scores`"),
    (lambda: losses.NonSaturatingLoss().generator(np.ones(4)), TypeError, "`fake_scores` must be a tensor"),
    (lambda: losses.WassersteinLoss().generator(torch.ones(4, dtype=torch.long)), ValueError, "floating point"),
    (lambda: losses.gradient_penalty(D, ONES, torch.ones(4, 1)), ValueError, "shape of `real`"),
    (lambda: losses.gradient_penalty(D, ONES.numpy(), ONES), TypeError, "`real` and `fake` must be tensors"),
    (lambda: metrics.wasserstein_1d(torch.ones(3, 2), torch.ones(3)), ValueError, "`x` must have shape"),
    (lambda: metrics.wasserstein_1d(torch.ones(3), []), ValueError, "`y` must have shape"),
    (lambda: metrics.wasserstein_1d([1.0, math.inf], [1.0]), ValueError, "NaN or inf"),
    (lambda: metrics.mode_coverage(torch.ones(5, 3), RING), ValueError, "`samples` must have shape (N, 2)"),
    (lambda: metrics.mode_coverage(np.ones((5, 2)), RING), TypeError, "`samples` must be a tensor"),
    (lambda: metrics.mode_coverage(torch.full((5, 2), math.nan), RING), ValueError, "NaN or inf"),
    (lambda: metrics.mode_coverage(torch.ones(5, 2), RING, threshold=0), ValueError, "`threshold`"),
    (lambda: metrics.mode_coverage(torch.ones(5, 2), RING.centres), TypeError, "`mixture`"),
    (lambda: viz.show_images(torch.ones(2, 28, 28)), ValueError, "`images` must be a (N, C, H, W)"),
    (lambda: viz.show_images(torch.ones(2, 2, 28, 28)), ValueError, "C = 1 or 3"),
    (lambda: viz.show_images(torch.ones(2, 1, 4, 4), nrow=0), ValueError, "`nrow`"),
    (lambda: viz.plot_losses({"step": [1]}, keys=["d_loss"]), ValueError, "lacks ['d_loss']"),
    (lambda: viz.plot_losses({"step": [1, 2], "d_loss": [1.0]}, keys=["d_loss"]), ValueError, "has 1 values"),
    (lambda: viz.plot_hist_1d(torch.ones(3, 3)), ValueError, "`samples` must have shape"),
    (lambda: viz.plot_samples_2d(torch.ones(3)), ValueError, "`samples` must be a (N, 2)"),
    (lambda: train.Trainer("G", D, data.make_batches(ONES, 4), 1), TypeError, "`generator` and `discriminator`"),
    (lambda: train.Trainer(G, D, ONES, 1), TypeError, "`data` must be an endless batch iterator"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), (1, 0)), ValueError, "`latent_dim`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, d_steps=0), ValueError, "`d_steps`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, log_every=1.5), TypeError, "`log_every`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, ema_decay=1.0), ValueError, "`ema_decay`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, regularizers={"gp": 10}), TypeError, "['gp']"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, g_optimizer="adam"), TypeError, "`g_optimizer`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, amp=True, device="cpu"), ValueError, "`amp=True` needs a CUDA"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, device="cpu").fit(0), ValueError, "`steps`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, device="cpu").sample(), ValueError, "give `n` or `z`"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, device="cpu").sample(z=torch.ones(3, 2)), ValueError, "`z` must have shape (n, 1)"),
    (lambda: train.Trainer(G, D, data.make_batches(ONES, 4), 1, device="cpu").load("/nonexistent/run.pt"), FileNotFoundError, "Trainer.load: no file at"),
    (lambda: train.SampleSnapshots(every=0), ValueError, "`every`"),
    (lambda: train.CheckpointEvery("x.pt", every=-1), ValueError, "`every`"),
]


@pytest.mark.parametrize("call, exc, text", BAD_CALLS, ids=[f"bad{i}" for i in range(len(BAD_CALLS))])
def test_bad_input_is_rejected_clearly(call, exc, text):
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value), f"message {str(info.value)!r} does not mention {text!r}"


def test_profile_and_device_from_environment(monkeypatch):
    monkeypatch.setenv("GANTEXT_PROFILE", "nightly")
    with pytest.raises(ValueError, match=r"\['quick', 'full'\]"):
        core.get_profile()
    monkeypatch.setenv("GANTEXT_PROFILE", "full")
    assert core.get_profile() == "full"
    monkeypatch.delenv("GANTEXT_PROFILE")
    assert core.get_profile() == ("full" if torch.cuda.is_available() else "quick")
    monkeypatch.setenv("GANTEXT_DEVICE", "tpu-ish")
    with pytest.raises(ValueError, match="GANTEXT_DEVICE"):
        core.get_device()
    monkeypatch.setenv("GANTEXT_DEVICE", "cpu")
    assert core.get_device() == torch.device("cpu")
    assert core.get_device("meta") == torch.device("meta")          # an explicit choice wins over the environment


def test_figures_display_themselves_as_png():
    "Notebooks show gantext figures as images without pyplot's inline backend (Jupyter calls _repr_png_)."
    fig = viz.plot_samples_2d(RING.sample(50), RING)
    assert isinstance(fig, viz.BookFigure) and fig._repr_png_().startswith(b"\x89PNG")
