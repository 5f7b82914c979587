"LAPGAN: pyramids invert exactly, the level networks fit the conditional Trainer, the cascade samples coarse to fine."
import pytest
import torch

from gantext.core import set_seed
from gantext.data import make_batches
from gantext.models.lapgan import (LAPGAN, ResidualDiscriminator, ResidualGenerator, downsample, gaussian_pyramid,
                            laplacian_pyramid, reconstruct_laplacian, residual_pairs, upsample)
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.train import Trainer


@pytest.mark.parametrize("shape, levels", [((3, 2, 28, 28), 3), ((2, 3, 32, 48), 4), ((1, 1, 5, 5), 1)])
def test_laplacian_pyramid_reconstructs_exactly(shape, levels):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    pyramid = laplacian_pyramid(x, levels)
    assert len(pyramid) == levels and pyramid[-1].shape[-1] == shape[-1] // 2 ** (levels - 1)
    assert torch.allclose(reconstruct_laplacian(pyramid), x, atol=1e-6)
    assert torch.equal(pyramid[-1], gaussian_pyramid(x, levels)[-1])


def test_operators_and_pyramids_reject_bad_input():
    assert torch.equal(downsample(torch.ones(1, 1, 4, 4)), torch.ones(1, 1, 2, 2))
    assert torch.allclose(upsample(torch.ones(1, 1, 2, 2)), torch.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match="even height and width"):
        downsample(torch.zeros(1, 1, 7, 8))
    with pytest.raises(TypeError, match="must be a float tensor"):
        upsample(torch.zeros(1, 1, 2, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="divisible by 8, got 28x28"):
        gaussian_pyramid(torch.zeros(1, 1, 28, 28), 4)
    with pytest.raises(ValueError, match="`levels` must be a positive integer"):
        laplacian_pyramid(torch.zeros(1, 1, 28, 28), 0)
    with pytest.raises(ValueError, match=r"`pyramid\[0\]` must have shape"):
        reconstruct_laplacian([torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 2, 2)])
    with pytest.raises(ValueError, match="at least 2"):
        residual_pairs(torch.zeros(1, 1, 28, 28), 1)


def test_residual_pairs_sum_to_the_gaussian_pyramid():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    for (h, l), g in zip(residual_pairs(x, 3), gaussian_pyramid(x, 3)):
        assert h.shape == l.shape == g.shape and torch.allclose(h + l, g, atol=1e-6)


def test_level_networks_check_shapes():
    G, D = ResidualGenerator(14, latent_dim=4, hidden=8), ResidualDiscriminator(14, width=4, combine="concat")
    l = torch.zeros(3, 1, 14, 14)
    assert G(torch.randn(3, 4), l).shape == (3, 1, 14, 14) and D(G(torch.randn(3, 4), l), l).shape == (3, 1)
    with pytest.raises(ValueError, match=r"`z` must have shape \(B, 4\)"):
        G(torch.randn(3, 5), l)
    with pytest.raises(ValueError, match="the condition `l` must have shape"):
        D(torch.zeros(3, 1, 14, 14), torch.zeros(2, 1, 14, 14))
    with pytest.raises(ValueError, match="`combine` must be 'add' or 'concat'"):
        ResidualDiscriminator(14, combine="mul")


def test_levels_train_with_the_conditional_trainer_and_cascade():
    set_seed(0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    (h28, l28), (h14, l14) = residual_pairs(x, 3)
    base = MLPGenerator(4, (1, 7, 7), hidden=16)
    Trainer(base, MLPDiscriminator((1, 7, 7), hidden=16), make_batches(gaussian_pyramid(x, 3)[-1], 16), latent_dim=4,
            device="cpu").fit(3, progress=False)
    levels = []
    for size, pair in ((14, (h14, l14)), (28, (h28, l28))):
        G = ResidualGenerator(size, latent_dim=4, hidden=16)
        t = Trainer(G, ResidualDiscriminator(size, width=4), make_batches(pair, 16), latent_dim=4, conditional=True,
                    device="cpu")
        history = t.fit(3, progress=False)
        assert len(history["d_loss"]) == 3
        levels.append(G)
    model = LAPGAN(base, levels)
    images = model.sample(5, torch.Generator().manual_seed(1))
    assert [tuple(i.shape) for i in images] == [(5, 1, 7, 7), (5, 1, 14, 14), (5, 1, 28, 28)]
    assert torch.equal(images[-1], model.sample(5, torch.Generator().manual_seed(1))[-1])
    flat = model.sample(5, torch.Generator().manual_seed(1), residuals=False)
    assert torch.allclose(flat[-1], upsample(upsample(images[0])))
    with pytest.raises(TypeError, match="needs an int attribute `latent_dim`"):
        LAPGAN(torch.nn.Linear(4, 49), levels)
