"Section 4.7's zero-centred gradient penalties R1 and R2, alone and through the trainer."
import math

import pytest
import torch
from torch import nn

from gantext.data import make_batches, ring_of_gaussians
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.train.regularizers import ZeroCentredPenalty, r1_penalty, r2_penalty, squared_gradient_norms
from gantext.train import Trainer


def test_linear_critic_gives_half_gamma_times_squared_weight_norm():
    torch.manual_seed(0)
    w = torch.randn(5)
    real, fake = torch.randn(32, 5), torch.randn(32, 5)
    for gamma in (0.1, 1.0, 10.0):
        for critic in (lambda x: x @ w, lambda x: (x @ w).unsqueeze(1)):    # scores (B,) and (B, 1)
            value = r1_penalty(gamma)(critic, real, fake)
            assert value.shape == ()
            assert torch.allclose(value, gamma / 2 * w.pow(2).sum())


def test_quadratic_critic_gives_half_gamma_times_mean_squared_norm():
    torch.manual_seed(1)
    real, fake = torch.randn(64, 3) + 2, torch.randn(64, 3) * 5
    quad = lambda x: 0.5 * x.pow(2).sum(1)                                    # gradient x
    assert torch.allclose(r1_penalty(4.0)(quad, real, fake), 2.0 * real.pow(2).sum(1).mean())
    assert torch.allclose(r2_penalty(4.0)(quad, real, fake), 2.0 * fake.pow(2).sum(1).mean())
    assert torch.allclose(squared_gradient_norms(quad, real), real.pow(2).sum(1))


def test_image_shaped_inputs_sum_over_every_non_batch_dimension():
    torch.manual_seed(2)
    W = torch.randn(3, 6, 6)
    images = torch.randn(8, 3, 6, 6)
    critic = lambda x: (x * W).sum((1, 2, 3))
    assert torch.allclose(squared_gradient_norms(critic, images), torch.full((8,), W.pow(2).sum().item()))
    assert torch.allclose(r1_penalty(10.0)(critic, images, images), 5 * W.pow(2).sum())
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1))
    value = r1_penalty(1.0)(conv, images, images)
    assert value.shape == () and value > 0


def test_gradient_reaches_the_discriminator_parameters():
    "Double backward: for D(x) = w.x + b, d/dw (γ/2 ||w||²) = γ w and the bias gets no gradient."
    torch.manual_seed(3)
    D = nn.Linear(4, 1)
    r1_penalty(10.0)(D, torch.randn(16, 4), torch.randn(16, 4)).backward()
    assert torch.allclose(D.weight.grad, 10 * D.weight.detach())
    assert D.bias.grad is None or D.bias.grad.abs().max() == 0
    mlp = MLPDiscriminator(2, hidden=(8, 8))
    r1_penalty(1.0)(mlp, torch.randn(16, 2), torch.randn(16, 2)).backward()
    weights = [m.weight for m in mlp.modules() if isinstance(m, nn.Linear)]
    assert len(weights) == 3 and all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)


def test_inputs_are_left_alone_and_norms_need_no_graph_by_default():
    x = torch.randn(6, 2)
    norms = squared_gradient_norms(nn.Linear(2, 1), x)
    assert not x.requires_grad and not norms.requires_grad
    assert squared_gradient_norms(nn.Linear(2, 1), x, create_graph=True).requires_grad


def test_penalty_is_logged_by_the_trainer_under_its_name():
    torch.manual_seed(0)
    t = Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), MLPDiscriminator(2, hidden=(8,)),
                make_batches(ring_of_gaussians(), 16), latent_dim=2, device="cpu",
                regularizers={"my_r1": r1_penalty(2.0), "my_r2": r2_penalty(0.5)})
    h = t.fit(3, progress=False)
    assert len(h["my_r1"]) == 3 and len(h["my_r2"]) == 3
    assert all(math.isfinite(v) and v > 0 for v in h["my_r1"] + h["my_r2"])


def test_repr_and_names():
    assert repr(r1_penalty(10)) == "r1_penalty(gamma=10)" and repr(r2_penalty(0.5)) == "r2_penalty(gamma=0.5)"
    assert r1_penalty().gamma == 10.0 and r1_penalty().on == "real" and r2_penalty().on == "fake"
    assert isinstance(r1_penalty(), ZeroCentredPenalty)


@pytest.mark.parametrize("gamma", [0, -1.0, float("nan"), float("inf")])
def test_bad_gamma_values_are_rejected(gamma):
    with pytest.raises(ValueError, match="`gamma` must be a positive finite number"):
        r1_penalty(gamma)
    with pytest.raises(ValueError, match="`gamma` must be a positive finite number"):
        r2_penalty(gamma)


@pytest.mark.parametrize("gamma", ["10", None, True, torch.tensor(1.0)])
def test_bad_gamma_types_are_rejected(gamma):
    with pytest.raises(TypeError, match="`gamma` must be a positive number"):
        r1_penalty(gamma)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="`on` must be 'real' \\(R1\\) or 'fake' \\(R2\\)"):
        ZeroCentredPenalty(1.0, on="both")
    with pytest.raises(ValueError, match=r"scores of shape \(4,\) or \(4, 1\) \(fewer for a packed or ensemble critic\), got \(4, 3\)"):
        r1_penalty()(lambda x: x, torch.randn(4, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"r2_penalty: the samples must be a floating-point tensor"):
        r2_penalty()(lambda x: x.sum(1), torch.randn(4, 3), torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="with B > 0"):
        squared_gradient_norms(lambda x: x.sum(1), torch.zeros(0, 3))


def test_penalty_per_run_of_an_ensemble_and_per_pack():
    "batch_dims=2 takes one norm per sample of each run; a packed critic's scores (B/m,) are accepted."
    w = torch.tensor([3.0, 4.0])
    runs = torch.randn(6, 3, 2)                            # 6 samples of each of 3 runs
    critic = lambda x: (x @ w).reshape(-1)                  # (B*R,) scores, as gantext.models.ensemble.EnsembleCritic gives
    assert squared_gradient_norms(critic, runs, batch_dims=2).shape == (6, 3)
    assert torch.isclose(r1_penalty(2.0, batch_dims=2)(critic, runs, runs), torch.tensor(25.0))
    packed = lambda x: (x @ w).view(3, 2).sum(1)            # pairs of samples, one score each
    assert torch.isclose(r1_penalty(2.0)(packed, torch.randn(6, 2), None), torch.tensor(25.0))
