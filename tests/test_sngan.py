"Chapter 4's spectral normalisation: power iteration against the SVD and PyTorch's own, train/eval behaviour, errors."
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

from gantext.data import grid_of_gaussians, make_batches
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.models.sngan import (OutputGain, SingularValueLog, SpectralNorm, apply_spectral_norm, layer_spectral_norms,
                           lipschitz_bound, operator_norm, spectral_norm, top_singular_value)
from gantext.train import Trainer


def warm(module, n=60):
    "Read the normalised weight n times in training mode: n power iterations."
    module.train()
    for _ in range(n):
        module.weight
    return module


@pytest.mark.parametrize("make", [lambda: nn.Linear(20, 30), lambda: nn.Conv2d(3, 8, 3, padding=1),
                                  lambda: nn.ConvTranspose2d(8, 3, 4, 2, 1)])
def test_normalised_weight_has_unit_top_singular_value(make):
    torch.manual_seed(0)
    layer = make()
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
    original = layer.weight.detach().clone()
    warm(spectral_norm(layer))
    assert abs(top_singular_value(layer.weight, dim) - 1) < 0.05
    sn = layer.parametrizations.weight[0]
    sigma = sn.sigma(layer.parametrizations.weight.original).item()
    assert abs(sigma / top_singular_value(original, dim) - 1) < 0.05


def test_agrees_with_pytorch_spectral_norm():
    torch.manual_seed(1)
    ours, theirs = nn.Linear(16, 24), nn.Linear(16, 24)
    theirs.load_state_dict(ours.state_dict())
    warm(spectral_norm(ours)); warm(parametrizations.spectral_norm(theirs))
    assert abs(top_singular_value(ours.weight) - top_singular_value(theirs.weight)) < 0.05
    sigma_theirs = (theirs.parametrizations.weight.original / theirs.weight).mean().item()
    sigma_ours = ours.parametrizations.weight[0].sigma(ours.parametrizations.weight.original).item()
    assert abs(sigma_ours / sigma_theirs - 1) < 0.05


def test_vectors_move_in_training_mode_only():
    torch.manual_seed(2)
    layer = spectral_norm(nn.Linear(5, 7))
    sn = layer.parametrizations.weight[0]
    assert abs(sn.u.norm().item() - 1) < 1e-6 and abs(sn.v.norm().item() - 1) < 1e-6
    x = torch.randn(4, 5)
    layer.eval()
    u, v = sn.u.clone(), sn.v.clone()
    y1, y2 = layer(x), layer(x)
    assert torch.equal(sn.u, u) and torch.equal(sn.v, v) and torch.equal(y1, y2)
    layer.train()
    layer(x)
    assert not torch.equal(sn.u, u) and not torch.equal(sn.v, v)


def test_gradients_flow_through_two_forward_passes():
    "The trainer calls D on real and on fake samples before one backward pass: in-place updates must not break it."
    D = apply_spectral_norm(MLPDiscriminator(2, hidden=(8, 8)))
    loss = D(torch.randn(4, 2)).mean() - D(torch.randn(4, 2)).mean()
    loss.backward()
    assert D.body[1].parametrizations.weight.original.grad is not None


def test_state_dict_round_trip_keeps_the_vectors():
    torch.manual_seed(3)
    a = warm(spectral_norm(nn.Conv2d(2, 4, 3)), 5)
    b = spectral_norm(nn.Conv2d(2, 4, 3))
    assert "parametrizations.weight.0.u" in a.state_dict()
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.parametrizations.weight[0].u, b.parametrizations.weight[0].u)
    a.eval(); b.eval()
    assert torch.equal(a.weight, b.weight)


def test_apply_to_a_network_and_bound_its_lipschitz_constant():
    torch.manual_seed(4)
    net = warm_all(apply_spectral_norm(nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                                                     nn.ReLU(), nn.Linear(32, 1))))
    norms = layer_spectral_norms(net)
    assert list(norms) == ["0", "2", "4"] and all(abs(s - 1) < 0.05 for s in norms.values())
    bound = lipschitz_bound(net)
    x = torch.randn(64, 2, requires_grad=True)
    grad, = torch.autograd.grad(net(x).sum(), x)
    assert grad.norm(dim=1).max() <= bound + 1e-6
    assert math.isclose(bound, math.prod(norms.values()))


def warm_all(net, n=60):
    net.train()
    for _ in range(n):
        net(torch.zeros(1, 2))
    return net


def test_power_iteration_from_random_vectors_climbs_to_the_svd():
    torch.manual_seed(7)
    W = torch.randn(12, 8)
    sn = SpectralNorm(W, init_iterations=0)
    estimates = []
    for _ in range(200):
        sn(W)
        estimates.append(sn.sigma(W).item())
    true = top_singular_value(W)
    assert all(a <= b + 1e-5 for a, b in zip(estimates, estimates[1:])) and max(estimates) <= true + 1e-4
    assert abs(estimates[-1] / true - 1) < 0.01


def test_output_gain_scales_the_bound():
    torch.manual_seed(8)
    net = apply_spectral_norm(nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1)))
    scaled = OutputGain(net, 10)
    x = torch.randn(5, 3)
    net.eval()
    assert torch.allclose(scaled(x), 10 * net(x))
    assert math.isclose(lipschitz_bound(scaled), 10 * lipschitz_bound(net))
    with pytest.raises(ValueError, match="`gain` must be a positive number"):
        OutputGain(net, -1)


def test_operator_norm_of_linear_layers_is_the_svd():
    torch.manual_seed(5)
    layer = nn.Linear(7, 5)
    assert abs(operator_norm(layer, (7,)) - top_singular_value(layer.weight)) < 1e-4


def test_singular_value_log_through_the_trainer():
    torch.manual_seed(6)
    D = apply_spectral_norm(MLPDiscriminator(2, hidden=(8,)))
    log = SingularValueLog(every=2)
    trainer = Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), D, make_batches(grid_of_gaussians(), 16),
                      latent_dim=2, loss="hinge", callbacks=[log], device="cpu")
    u = D.body[1].parametrizations.weight[0].u.clone()
    trainer.fit(4, progress=False)
    assert log.steps == [0, 2, 4] and set(log.values) == {"body.1", "head"}
    assert not torch.equal(u, D.body[1].parametrizations.weight[0].u)    # training moved the vectors


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="`name`='kernel' is not a parameter of Linear"):
        spectral_norm(nn.Linear(2, 2), name="kernel")
    with pytest.raises(ValueError, match="`n_power_iterations` must be a positive integer, got 0"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="`bias` must have at least 2 dimensions"):
        spectral_norm(nn.Linear(2, 2), name="bias")
    with pytest.raises(ValueError, match="already spectrally normalised"):
        spectral_norm(spectral_norm(nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="`module` must be a torch.nn.Module"):
        spectral_norm(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="no Linear, Conv or ConvTranspose layer"):
        apply_spectral_norm(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="`eps` must be a positive number"):
        SpectralNorm(torch.zeros(3, 3), eps=0)
    with pytest.raises(ValueError, match="`dim` must be an int in"):
        top_singular_value(torch.zeros(3, 3), dim=2)
    with pytest.raises(ValueError, match="has convolutions"):
        lipschitz_bound(nn.Sequential(nn.Conv2d(1, 1, 3)))
    with pytest.raises(ValueError, match="`input_shape`"):
        operator_norm(nn.Linear(2, 2), (0,))
