"Section 4.3: the generator's gradient with respect to the score, LSGAN's optimal discriminator and its criterion."
import math

import pytest
import torch

from gantext.losses import HingeLoss, LeastSquaresLoss, MinimaxLoss, NonSaturatingLoss
from gantext.theory.least_squares import generator_score_gradient, lsgan_criterion, least_squares_optimal_discriminator, pearson_chi2

S = torch.linspace(-8, 8, 161, dtype=torch.float64)
X = torch.linspace(-12, 12, 4_801, dtype=torch.float64)
DX = 24 / 4_800


def pdf(x, mean, std=1.0):
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def test_score_gradient_matches_the_closed_forms():
    torch.testing.assert_close(generator_score_gradient(MinimaxLoss(), S), -torch.sigmoid(S))
    torch.testing.assert_close(generator_score_gradient(NonSaturatingLoss(), S), -torch.sigmoid(-S))
    torch.testing.assert_close(generator_score_gradient(LeastSquaresLoss(-1.0, 1.0, 0.5), S), S - 0.5)
    torch.testing.assert_close(generator_score_gradient(HingeLoss(), S), -torch.ones_like(S))


def test_score_gradient_is_per_sample_and_leaves_the_input_alone():
    scores = torch.tensor([[0.5], [3.0]], requires_grad=True)
    g = generator_score_gradient(LeastSquaresLoss(), scores)
    assert g.shape == (2,) and scores.grad is None
    torch.testing.assert_close(g, torch.tensor([-0.5, 2.0]))
    torch.testing.assert_close(generator_score_gradient(LeastSquaresLoss(), torch.tensor([3.0])), torch.tensor([2.0]))


def test_score_gradient_rejects_bad_input():
    with pytest.raises(TypeError, match="`loss` must be a gantext.losses.GANLoss"):
        generator_score_gradient("least_squares", S)
    with pytest.raises(TypeError, match="`scores` must be a floating-point tensor"):
        generator_score_gradient(LeastSquaresLoss(), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(B,\) or \(B, 1\)"):
        generator_score_gradient(LeastSquaresLoss(), torch.zeros(3, 2))


@pytest.mark.parametrize("a, b", [(0.0, 1.0), (-1.0, 1.0), (2.0, -3.0)])
def test_optimal_discriminator_minimises_the_pointwise_loss(a, b):
    p, q = pdf(X, 0.0), pdf(X, 1.0, 1.5)
    d_star = least_squares_optimal_discriminator(p, q, a, b)
    pointwise = lambda d: 0.5 * p * (d - b) ** 2 + 0.5 * q * (d - a) ** 2
    for shift in (-1e-3, 1e-3):
        assert (pointwise(d_star + shift) > pointwise(d_star)).all()
    assert least_squares_optimal_discriminator(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 3.0]), a, b).tolist() == [b, a]


def test_optimal_discriminator_is_minimised_by_the_library_loss():
    "A free table of values, fitted with LeastSquaresLoss on samples, equals D* of the sample counts."
    real, fake = torch.tensor([0, 0, 0, 1, 2, 2]), torch.tensor([0, 1, 1, 1, 2, 3])
    table = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([table], lr=1.0)
    for _ in range(500):
        opt.zero_grad()
        LeastSquaresLoss(-1.0, 1.0, 0.0).discriminator(table[real], table[fake]).backward()
        opt.step()
    counts = lambda idx: torch.bincount(idx, minlength=4).double()
    torch.testing.assert_close(table.detach(), least_squares_optimal_discriminator(counts(real), counts(fake), -1.0, 1.0))


def test_optimal_discriminator_rejects_bad_input():
    p = torch.tensor([1.0, 0.5])
    with pytest.raises(ValueError, match="undefined where p_data and p_model both vanish"):
        least_squares_optimal_discriminator(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    with pytest.raises(ValueError, match="must differ"):
        least_squares_optimal_discriminator(p, p, a=2.0, b=2.0)
    with pytest.raises(ValueError, match="`p_data` must be finite and non-negative"):
        least_squares_optimal_discriminator(torch.tensor([-1.0, 1.0]), p)
    with pytest.raises(ValueError, match="one shape"):
        least_squares_optimal_discriminator(p, torch.ones(3))
    with pytest.raises(TypeError, match="`p_model` must be a floating-point tensor"):
        least_squares_optimal_discriminator(p, torch.tensor([1, 2]))


@pytest.mark.parametrize("mu", [0.0, 0.7, 3.0])
def test_chi2_coding_gives_half_the_pearson_divergence(mu):
    p, q = pdf(X, 0.0), pdf(X, mu)
    c = lsgan_criterion(p, q, DX, a=-1.0, b=1.0, c=0.0)
    torch.testing.assert_close(c, 0.5 * pearson_chi2(2 * q, p + q, DX))
    torch.testing.assert_close(lsgan_criterion(p, q, DX, a=0.0, b=1.0, c=0.5), c / 4)   # midpoint target: scaled
    assert 0 <= c <= 1


def test_criteria_are_smallest_when_the_generator_matches_the_data():
    p = pdf(X, 0.0)
    for a, b, c, at_optimum in [(-1.0, 1.0, 0.0, 0.0), (0.0, 1.0, 1.0, 0.25)]:
        values = [lsgan_criterion(p, pdf(X, mu), DX, a, b, c).item() for mu in (-1.0, -0.2, 0.0, 0.2, 1.0)]
        assert min(values) == values[2] and math.isclose(values[2], at_optimum, abs_tol=1e-9)


def test_pearson_chi2_values_and_errors():
    p, q = torch.tensor([0.2, 0.8]), torch.tensor([0.5, 0.5])
    torch.testing.assert_close(pearson_chi2(p, q, 1.0), torch.tensor(0.36))
    assert pearson_chi2(q, q, 0.1) == 0
    with pytest.raises(ValueError, match="`q` must be positive"):
        pearson_chi2(p, torch.tensor([1.0, 0.0]), 1.0)
    with pytest.raises(ValueError, match="`dx` must be a positive number"):
        pearson_chi2(p, q, 0)
    with pytest.raises(ValueError, match="`dx` must be a positive number"):
        lsgan_criterion(p, q, dx=True)
