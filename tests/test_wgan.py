"Chapter 4's WGAN pieces: the sliced Wasserstein distance, the critic's estimate and monitor, weight clipping, and the gradient penalty."
import math

import pytest
import torch
from torch import nn

from gantext.data import make_batches, ring_of_gaussians
from gantext.losses import gradient_norms, gradient_penalty
from gantext.metrics import wasserstein_1d
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.train import Trainer, WeightClipping
from gantext.metrics.wasserstein import WassersteinMonitor, critic_estimate, sliced_wasserstein


def samples(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- sliced Wasserstein ---------------------------------------------------------------------------------------------

def test_sliced_wasserstein_is_zero_for_identical_samples_and_symmetric():
    x, y = samples(500, 2), samples(500, 2, seed=1) + 0.3
    assert sliced_wasserstein(x, x) == 0
    assert sliced_wasserstein(x, x[torch.randperm(500)]) < 1e-12     # order does not matter
    gx, gy = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert sliced_wasserstein(x, y, 64, gx) == pytest.approx(sliced_wasserstein(y, x, 64, gy), abs=1e-12)


@pytest.mark.parametrize("dim, expected_factor", [(2, 2 / math.pi), (3, 0.5)])
def test_sliced_wasserstein_of_a_shift_is_norm_times_mean_abs_cosine(dim, expected_factor):
    "Shifting by d shifts each projection by <d, theta>: SW1 = |d| E|theta_1| (2/pi in 2-D, 1/2 in 3-D)."
    x = samples(100, dim)
    d = torch.zeros(dim); d[0], d[-1] = 3.0, 4.0                      # |d| = 5
    sw = sliced_wasserstein(x, x + d, 5_000, torch.Generator().manual_seed(1))
    assert sw == pytest.approx(5 * expected_factor, rel=0.02)


def test_sliced_wasserstein_in_one_dimension_is_the_exact_w1_for_unequal_sizes():
    a, b = samples(300, 1), samples(200, 1, seed=1) * 2 + 0.5
    assert sliced_wasserstein(a, b, 3) == pytest.approx(wasserstein_1d(a, b), abs=1e-9)
    assert sliced_wasserstein(a[:, 0], b[:, 0], 3) == pytest.approx(wasserstein_1d(a, b), abs=1e-9)


def test_sliced_wasserstein_scales_with_the_data_and_reads_images():
    x, y = samples(256, 2), samples(256, 2, seed=1)
    sw = sliced_wasserstein(x, y, 32, torch.Generator().manual_seed(0))
    assert sliced_wasserstein(3 * x, 3 * y, 32, torch.Generator().manual_seed(0)) == pytest.approx(3 * sw)
    imgs = samples(32, 1, 4, 4)
    assert sliced_wasserstein(imgs, imgs + 1.0, 2_000, torch.Generator().manual_seed(0)) > 0


def test_sliced_wasserstein_rejects_bad_input():
    x = samples(10, 2)
    with pytest.raises(TypeError, match="`x` must be a tensor"):
        sliced_wasserstein(x.numpy(), x)
    with pytest.raises(ValueError, match="same sample shape"):
        sliced_wasserstein(x, samples(10, 3))
    with pytest.raises(ValueError, match="`y` contains NaN"):
        sliced_wasserstein(x, torch.full((4, 2), float("nan")))
    with pytest.raises(ValueError, match="`n_projections` must be a positive integer"):
        sliced_wasserstein(x, x, n_projections=0)
    with pytest.raises(ValueError, match="N > 0"):
        sliced_wasserstein(x[:0], x)


# --- the critic's estimate and the monitor --------------------------------------------------------------------------

def test_critic_estimate_of_a_linear_critic_is_the_gap_of_means():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.0, 1.0]])); critic.bias.fill_(5.0)
    real, fake = samples(100, 2) + torch.tensor([0.0, 2.0]), samples(80, 2, seed=1)
    assert critic_estimate(critic, real, fake) == pytest.approx(float(real[:, 1].mean() - fake[:, 1].mean()), abs=1e-5)
    with pytest.raises(ValueError, match="same sample shape"):
        critic_estimate(critic, real, fake[:, :1])
    with pytest.raises(TypeError, match="`critic` must be callable"):
        critic_estimate(None, real, fake)


def tiny_trainer(callbacks=(), regularizers=None, clip=0.01):
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, hidden=(16,), output="none")
    D = MLPDiscriminator(2, hidden=(16, 16))
    rms = lambda params: torch.optim.RMSprop(params, lr=1e-3)
    return Trainer(G, D, make_batches(ring_of_gaussians(), 32), latent_dim=2, loss="wasserstein", g_optimizer=rms,
                   d_optimizer=rms, d_steps=5, callbacks=[WeightClipping(clip), *callbacks],
                   regularizers=regularizers, device="cpu")


def test_weight_clipping_keeps_every_critic_parameter_within_c():
    trainer = tiny_trainer()
    assert max(p.abs().max().item() for p in trainer.discriminator.parameters()) > 0.01   # before: PyTorch's init
    trainer.fit(3, progress=False)
    assert max(p.abs().max().item() for p in trainer.discriminator.parameters()) <= 0.01


def test_monitor_records_every_k_steps_without_changing_training():
    penalty = {"gp": lambda critic, real, fake: 10 * gradient_penalty(critic, real, fake)}
    monitor = WassersteinMonitor(ring_of_gaussians(), every=2, n=64)
    watched = tiny_trainer([monitor], penalty)
    watched.fit(4, progress=False)
    plain = tiny_trainer([], penalty)
    plain.fit(4, progress=False)
    assert monitor.history["step"] == [2, 4] and set(monitor.history) == {"step", "critic_estimate", "sliced_w1", "grad_norm"}
    assert all(v >= 0 for v in monitor.history["sliced_w1"] + monitor.history["grad_norm"])
    for p, q in zip(watched.discriminator.parameters(), plain.discriminator.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        WassersteinMonitor(ring_of_gaussians(), every=0)
    with pytest.raises(TypeError, match="`target` must have"):
        WassersteinMonitor(42, every=1)


# --- the gradient penalty -------------------------------------------------------------------------------------------

def test_penalty_of_a_linear_critic_with_slope_two_is_one():
    w = torch.tensor([1.2, -1.6])                                     # ||w|| = 2
    real, fake = samples(64, 2), samples(64, 2, seed=1)
    assert gradient_penalty(lambda x: x @ w, real, fake).item() == pytest.approx(1.0, abs=1e-5)
    assert 10 * gradient_penalty(lambda x: x @ w, real, fake).item() == pytest.approx(10.0, abs=1e-4)  # lambda * 1


def test_penalty_of_half_squared_norm_at_known_points():
    "D(x) = |x|^2 / 2 has gradient x; with real == fake the interpolate is x, so the penalty is mean (|x| - 1)^2."
    x = samples(128, 3)
    expected = ((x.norm(dim=1) - 1) ** 2).mean()
    assert gradient_penalty(lambda v: 0.5 * (v ** 2).sum(1), x, x).item() == pytest.approx(expected.item(), rel=1e-5)


def test_penalty_norm_is_per_sample_over_all_non_batch_dims():
    "An image critic D(x) = sum of all pixels times 2: gradient 2 everywhere, norm 2 * sqrt(C * H * W) per sample."
    imgs = samples(5, 3, 4, 4)
    critic = lambda x: 2 * x.flatten(1).sum(1)
    norms = gradient_norms(critic, imgs, imgs.flip(0))
    assert norms.shape == (5,) and torch.allclose(norms, torch.full((5,), 2 * math.sqrt(48)))
    assert gradient_penalty(critic, imgs, imgs.flip(0)).item() == pytest.approx((2 * math.sqrt(48) - 1) ** 2, rel=1e-5)


def test_gradient_norms_with_two_batch_dims_and_differentiable_penalty():
    runs = samples(8, 3, 2)                                           # 8 samples of each of 3 runs
    norms = gradient_norms(lambda x: 1.5 * x.sum(-1), runs, runs.flip(0), batch_dims=2)
    assert norms.shape == (8, 3) and torch.allclose(norms, torch.full((8, 3), 1.5 * math.sqrt(2)))
    w = torch.tensor([3.0, 0.0], requires_grad=True)                  # the penalty differentiates through the norm
    gradient_penalty(lambda x: x @ w, samples(16, 2), samples(16, 2, seed=1)).backward()
    assert torch.allclose(w.grad, torch.tensor([4.0, 0.0]))           # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    with pytest.raises(ValueError, match="`batch_dims` must be an int"):
        gradient_norms(lambda x: x.sum(-1), runs, runs, batch_dims=3)
