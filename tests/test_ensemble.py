"Batched ensembles of runs: the same outputs and the same training as separate runs."
import pytest
import torch
from torch import nn

from gantext.data import grid_of_gaussians, make_batches
from gantext.models.dcgan import dcgan_init
from gantext.models.ensemble import (BatchedLinear, EnsembleCritic, LinearMaxout, RunsSampler, adam_for_runs,
                              protocol_discriminator, protocol_generator, stack_runs)
from gantext.train import Trainer


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_protocol_networks():
    G, D = protocol_generator(), protocol_discriminator(in_features=8)
    assert [type(m) for m in G[:3]] == [nn.Linear, nn.BatchNorm1d, nn.ReLU] and len(G) == 13
    assert sum(isinstance(m, LinearMaxout) for m in D) == 3 and D[0].linear.out_features == 200 * 5
    assert D(torch.randn(5, 8)).shape == (5, 1) and G(torch.randn(5, 2)).shape == (5, 2)
    assert torch.equal(G[1].weight, torch.ones(400))                    # the protocol leaves batch-norm scales at 1
    assert abs(G[0].weight.std().item() - 0.02) < 0.002 and G[0].bias.abs().max() == 0
    with pytest.raises(ValueError, match="`std` must be a positive number"):
        dcgan_init(G, std=0)


def test_batched_layers_match_separate_layers():
    layers = [nn.Linear(3, 4) for _ in range(2)]
    batched, x = BatchedLinear.stack(layers), torch.randn(2, 5, 3)
    assert torch.allclose(batched(x), torch.stack([l(x[r]) for r, l in enumerate(layers)]), atol=1e-6)
    nets = [protocol_discriminator(hidden=8) for _ in range(4)]
    critic, x = EnsembleCritic(stack_runs(nets)), torch.randn(6, 4, 2)
    assert torch.allclose(critic(x).view(6, 4), torch.cat([n(x[:, r]) for r, n in enumerate(nets)], 1), atol=1e-6)


def test_weights_are_copied_not_shared():
    nets = [protocol_generator(hidden=8) for _ in range(2)]
    ens = stack_runs(nets)
    with torch.no_grad():
        ens.body[0].weight.zero_()
    assert nets[0][0].weight.abs().sum() > 0


def _ensemble_and_separate(steps, runs=3, m=1):
    mixture = grid_of_gaussians()
    torch.manual_seed(0)
    gens = [protocol_generator(hidden=16) for _ in range(runs)]
    discs = [protocol_discriminator(in_features=2 * m, hidden=8) for _ in range(runs)]
    wrap = (lambda d: d) if m == 1 else (lambda d: __import__("gantext.models.pacgan", fromlist=["x"]).PacDiscriminator(d, m))
    ens = Trainer(stack_runs(gens), wrap(EnsembleCritic(stack_runs(discs))), make_batches(RunsSampler(mixture, runs), 8, seed=1),
                  latent_dim=(runs, 2), g_optimizer=adam_for_runs(runs, 1e-3), d_optimizer=adam_for_runs(runs, 1e-3),
                  device="cpu", seed=2)
    ens.fit(steps, progress=False)
    alone = []
    for r in range(runs):
        data = (b[:, r] for b in make_batches(RunsSampler(mixture, runs), 8, seed=1))
        t = Trainer(gens[r], wrap(discs[r]), data, latent_dim=2, device="cpu", seed=2,
                    latent_sampler=lambda n, g, dev, r=r: torch.randn(n, runs, 2, generator=g, device=dev)[:, r],
                    g_optimizer=adam_for_runs(1, 1e-3), d_optimizer=adam_for_runs(1, 1e-3))
        t.fit(steps, progress=False)
        alone.append(t)
    return ens, alone


@pytest.mark.parametrize("m", [1, 2])
def test_ensemble_training_matches_separate_runs(float64, m):
    ens, alone = _ensemble_and_separate(steps=8, m=m)
    z = torch.randn(10, 3, 2)
    together = ens.sample(z=z)
    for r, t in enumerate(alone):
        assert torch.allclose(together[:, r], t.sample(z=z[:, r]), atol=1e-12)
        assert torch.allclose(ens.generator.body[0].weight[r].T, t.generator[0].weight, atol=1e-12)


def test_runs_sampler_and_errors():
    x = RunsSampler(grid_of_gaussians(), 4).sample(7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (7, 4, 2)
    with pytest.raises(TypeError, match="needs a .sample"):
        RunsSampler(torch.zeros(3), 2)
    with pytest.raises(ValueError, match="`runs` must be a positive integer"):
        adam_for_runs(0)
    with pytest.raises(ValueError, match=r"shape \(B, 2, features\)"):
        stack_runs([protocol_generator(hidden=4)] * 2)(torch.randn(5, 3, 2))


def test_unrolled_loss_on_an_ensemble_matches_separate_runs():
    "With the look-ahead step scaled by R (as `benchmark_trainer` does), each run's unrolled gradient is its own / R."
    import copy
    from gantext.train.unrolled import UnrolledLoss
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        R, B, lr = 3, 16, 0.1
        gens = [protocol_generator(hidden=8) for _ in range(R)]
        discs = [protocol_discriminator(hidden=6) for _ in range(R)]
        G, D = stack_runs(copy.deepcopy(gens)), EnsembleCritic(stack_runs(copy.deepcopy(discs)))
        z, real = torch.randn(B, R, 2), torch.randn(B, R, 2)
        UnrolledLoss(k=5, unroll_lr=lr * R).generator_unrolled(D, real, G(z)).backward()
        for r in range(R):
            UnrolledLoss(k=5, unroll_lr=lr).generator_unrolled(discs[r], real[:, r], gens[r](z[:, r])).backward()
            for stacked, own in zip(G.parameters(), gens[r].parameters()):
                mine = stacked.grad[r].transpose(0, 1) if stacked.dim() == 3 else stacked.grad.view(R, -1)[r]
                torch.testing.assert_close(R * mine.reshape(own.shape), own.grad, rtol=1e-9, atol=1e-18)
    finally:
        torch.set_default_dtype(torch.float32)
