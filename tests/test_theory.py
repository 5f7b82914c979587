"Chapter 2's library code: game update rules and equilibria, divergences and the optimal discriminator."
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from gantext.theory.divergences import gan_value, gaussian_kl, js_divergence, kl_divergence, optimal_discriminator
from gantext.theory.games import (UPDATE_RULES, bilinear_payoff, game_gradients, play, pure_nash_equilibria,
                           solve_zero_sum)

GRID = np.linspace(-25, 30, 40_001)


def test_update_rules_match_their_closed_forms_on_the_bilinear_game():
    eta, steps = 0.2, 60
    t = torch.arange(steps + 1, dtype=torch.float64)
    start = (torch.tensor(0.6, dtype=torch.float64), torch.tensor(-0.8, dtype=torch.float64))
    dist = {rule: play(bilinear_payoff, *start, rule=rule, lr=eta, steps=steps).distance() for rule in UPDATE_RULES}
    assert torch.allclose(dist["simultaneous"], (1 + eta**2) ** (t / 2), rtol=1e-12)
    assert torch.allclose(dist["extragradient"], (1 - eta**2 + eta**4) ** (t / 2), rtol=1e-12)
    alt = play(bilinear_payoff, *start, rule="alternating", lr=eta, steps=steps)
    q = alt.x**2 + alt.y**2 + eta * alt.x * alt.y                    # y (D's role) moves first
    assert torch.allclose(q, q[0], rtol=1e-12)
    assert dist["optimistic"][-1] < 0.5


def test_play_accepts_numpy_step_sizes():
    run = play(bilinear_payoff, torch.tensor(1.0), torch.tensor(0.0), lr=np.float32(0.1), steps=2)
    assert run.x.shape == (3,)


def test_rules_work_on_vectors_and_match_hand_computed_first_steps():
    x, y = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    gx, gy = game_gradients(bilinear_payoff, x, y)
    assert torch.equal(gx, y) and torch.equal(gy, x)
    sim = play(bilinear_payoff, x, y, "simultaneous", lr=0.1, steps=1)
    assert torch.allclose(sim.x[1], x - 0.1 * y) and torch.allclose(sim.y[1], y + 0.1 * x)
    alt = play(bilinear_payoff, x, y, "alternating", lr=0.1, steps=1)
    assert torch.allclose(alt.y[1], y + 0.1 * x) and torch.allclose(alt.x[1], x - 0.1 * (y + 0.1 * x))
    opt = play(bilinear_payoff, x, y, "optimistic", lr=0.1, steps=2)
    assert torch.allclose(opt.x[1], sim.x[1])                       # the first optimistic step is a plain one


def test_equilibria_of_small_games():
    pd = np.array([[-1, -3], [0, -2]])
    assert pure_nash_equilibria(pd, pd.T) == [(1, 1)]
    coordination = np.array([[2, 0], [0, 1]])
    assert pure_nash_equilibria(coordination, coordination) == [(0, 0), (1, 1)]
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4))
    sol = solve_zero_sum(a)
    assert np.isclose(sol.row_strategy.sum(), 1) and np.isclose(sol.col_strategy.sum(), 1)
    assert (a.T @ sol.row_strategy).min() >= sol.value - 1e-8       # no column does better against p
    assert (a @ sol.col_strategy).max() <= sol.value + 1e-8         # no row does better against q
    dominant = solve_zero_sum([[3, 2], [1, 0]])                      # a saddle point in pure strategies
    assert np.isclose(dominant.value, 2) and np.allclose(dominant.row_strategy, [1, 0])


def test_divergences_match_closed_forms_and_bounds():
    p, q = norm(1, 0.8).pdf(GRID), norm(-1, 1.5).pdf(GRID)        # neither underflows to 0 where the other lives
    assert math.isclose(kl_divergence(p, q, GRID), gaussian_kl(1, 0.8, -1, 1.5), rel_tol=1e-7)
    assert math.isclose(kl_divergence(q, p, GRID), gaussian_kl(-1, 1.5, 1, 0.8), rel_tol=1e-7)
    jsd = js_divergence(p, q, GRID)
    assert 0 < jsd < math.log(2) and math.isclose(jsd, js_divergence(q, p, GRID), rel_tol=1e-12)
    a, b = (np.abs(GRID) < 1) / 2.0, (np.abs(GRID - 5) < 1) / 2.0
    assert kl_divergence(a, b, GRID) == math.inf and js_divergence(a, b, GRID) == pytest.approx(math.log(2), abs=1e-3)


def test_value_at_the_optimal_discriminator_is_minus_log_4_plus_twice_jsd():
    p = norm(4, 1.25).pdf(GRID)
    for mean, std in ((4, 1.25), (2, 1), (4, 3), (-6, 0.3)):
        q = norm(mean, std).pdf(GRID)
        d = optimal_discriminator(p, q)
        v = gan_value(p, q, d, GRID)
        assert v == pytest.approx(-math.log(4) + 2 * js_divergence(p, q, GRID), abs=1e-9)
        assert gan_value(p, q, np.clip(d + 0.05 * np.sin(GRID), 0, 1), GRID) < v   # any other D is worse


@pytest.mark.parametrize("call, error, message", [
    (lambda: play(bilinear_payoff, torch.tensor(1.0), torch.tensor(1.0), lr=0), ValueError, "`lr` must be a positive, finite real number"),
    (lambda: play(bilinear_payoff, torch.tensor(1.0), torch.tensor(1.0), steps=0), ValueError, "`steps` must be a positive integer"),
    (lambda: play(bilinear_payoff, torch.tensor(1.0), torch.tensor(1.0), rule="sgd"), ValueError, "expected one of"),
    (lambda: play(bilinear_payoff, [1.0], torch.tensor(1.0)), TypeError, "`x0` must be a floating-point tensor"),
    (lambda: play(bilinear_payoff, torch.tensor(math.nan), torch.tensor(1.0)), ValueError, "`x0` contains NaN or inf"),
    (lambda: gaussian_kl(math.inf, 1, 0, 1), ValueError, "must be finite"),
    (lambda: pure_nash_equilibria([[1, 2]], [[1], [2]]), ValueError, "same shape"),
    (lambda: solve_zero_sum([[1, math.nan]]), ValueError, "NaN or inf"),
    (lambda: kl_divergence(np.ones(3), np.ones(4), np.arange(3.0)), ValueError, "one value per grid point"),
    (lambda: kl_divergence(np.ones(3), np.ones(3), np.array([0.0, 2.0, 1.0])), ValueError, "strictly increasing"),
    (lambda: gan_value(np.ones(3), np.ones(3), np.full(3, 1.5), np.arange(3.0)), ValueError, "in [0, 1.0]"),
    (lambda: optimal_discriminator(np.ones(3), -np.ones(3)), ValueError, "non-negative"),
    (lambda: gaussian_kl(0, 0, 0, 1), ValueError, "must be positive"),
])
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
