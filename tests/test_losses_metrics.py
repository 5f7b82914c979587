"Losses against their textbook definitions, and metrics against closed forms and SciPy."
import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance

from gantext import losses, metrics
from gantext.data import grid_of_gaussians, ring_of_gaussians


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_are_finite_and_differentiable_for_extreme_scores(name):
    loss = losses.get_loss(name)
    real = torch.tensor([-80.0, 0.0, 80.0], requires_grad=True)
    fake = torch.tensor([[-80.0], [80.0]], requires_grad=True)
    d, g = loss.discriminator(real, fake), loss.generator(fake)
    (d + g).backward()
    assert torch.isfinite(d) and torch.isfinite(g)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def test_cross_entropy_losses_match_bce():
    real, fake = torch.randn(7), torch.randn(5)
    bce = F.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones(7)) + bce(fake, torch.zeros(5))
    assert torch.allclose(losses.get_loss("minimax").discriminator(real, fake), expected)
    assert torch.allclose(losses.get_loss("non_saturating").generator(fake), bce(fake, torch.ones(5)))
    assert torch.allclose(losses.get_loss("minimax").generator(fake), -bce(fake, torch.zeros(5)))
    smooth = losses.get_loss("minimax", real_label=0.9).discriminator(real, fake)
    assert torch.allclose(smooth, bce(real, torch.full((7,), 0.9)) + bce(fake, torch.zeros(5)))


def test_saturating_generator_gradient_vanishes_where_d_is_confident():
    fake = torch.tensor([-10.0], requires_grad=True)            # D(G(z)) = sigmoid(-10) ~ 4.5e-5: D is sure it's fake
    losses.get_loss("minimax").generator(fake).backward()
    saturating = fake.grad.abs().item()
    fake.grad = None
    losses.get_loss("non_saturating").generator(fake).backward()
    assert saturating < 1e-4 and fake.grad.abs().item() > 0.99


def test_gradient_penalty_values():
    critic = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, 0.0, 0.0]]))
    real, fake = torch.randn(6, 3), torch.randn(6, 3)
    assert torch.isclose(losses.gradient_penalty(critic, real, fake), torch.tensor(1.0))   # (2 - 1)^2
    gp = losses.gradient_penalty(critic, real, fake)
    gp.backward()                                               # double backward reaches the critic's weight
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_wasserstein_1d_matches_scipy_and_closed_forms():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(700, generator=g), 3 + 2 * torch.randn(300, 1, generator=g)
    assert math.isclose(metrics.wasserstein_1d(a, b), wasserstein_distance(a.numpy(), b.numpy()[:, 0]), rel_tol=1e-9)
    assert metrics.wasserstein_1d(a, a) == 0
    assert math.isclose(metrics.wasserstein_1d(a, a + 1.5), 1.5, rel_tol=1e-9)


def test_mode_coverage_protocol():
    grid = grid_of_gaussians()
    real = metrics.mode_coverage(grid.sample(2_500, generator=torch.Generator().manual_seed(0)), grid)
    assert (real.modes_captured, real.n_modes) == (25, 25) and real.high_quality > 0.98 and real.reverse_kl < 0.02
    ring = ring_of_gaussians()
    one = metrics.mode_coverage(ring.centres[3:4].repeat(100, 1), ring)
    assert one.modes_captured == 1 and one.counts[3] == 100 and math.isclose(one.reverse_kl, math.log(8))
    near = ring.centres[:1] + torch.tensor([[0.029, 0.0]])      # 2.9 std from its centre: high quality
    far = ring.centres[:1] + torch.tensor([[0.031, 0.0]])       # 3.1 std: not
    assert metrics.mode_coverage(near, ring).high_quality == 1.0
    assert metrics.mode_coverage(far, ring).high_quality == 0.0 and metrics.mode_coverage(far, ring).modes_captured == 0
