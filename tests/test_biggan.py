"Chapter 5's BigGAN: conditional batch norm, self-attention, orthogonal penalty, truncation, the recipe and the builder."
import math

import pytest
import torch
from torch import nn

from gantext.data import make_batches
from gantext.models.biggan import (BigGANDiscriminator, BigGANGenerator, BigGANRecipe, ConditionalBatchNorm2d,
                                   SelfAttention, biggan_trainer, off_diagonal_penalty, orthogonal_regularisation,
                                   truncated_normal, truncated_normal_std)
from gantext.models.sngan import layer_spectral_norms
from gantext.train import Trainer, schedule


def test_conditional_batch_norm_applies_each_class_gain_and_bias():
    cbn = ConditionalBatchNorm2d(1, 2)
    with torch.no_grad():
        cbn.gain.weight.copy_(torch.tensor([[1.0, -0.5]]))
        cbn.bias.weight.copy_(torch.tensor([[0.5, -1.0]]))
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(4, 1, 1, 1)
    c = torch.eye(2)[torch.tensor([0, 0, 1, 1])]
    x_hat = (x - 2.5) / math.sqrt(1.25 + cbn.norm.eps)
    expected = torch.cat([2 * x_hat[:2] + 0.5, 0.5 * x_hat[2:] - 1])
    assert torch.allclose(cbn(x, c), expected, atol=1e-6)
    with pytest.raises(ValueError, match="`c` must have shape"):
        cbn(x, c[:3])


def test_attention_starts_as_identity_with_stochastic_rows():
    torch.manual_seed(0)
    attention = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(attention(x), x)
    beta = attention.attention(x)
    assert beta.shape == (2, 64, 64) and torch.allclose(beta.sum(-1), torch.ones(2, 64), atol=1e-6)


def test_off_diagonal_penalty_ignores_filter_lengths():
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    assert off_diagonal_penalty(torch.diag(torch.arange(1.0, 6.0)) @ q) < 1e-9
    assert abs(off_diagonal_penalty(torch.tensor([[1.0, 1.0], [0.0, 1.0]])).item() - 2) < 1e-9
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 1.0]]))
    assert abs(orthogonal_regularisation(layer, 1e-4).item() - 2e-4) < 1e-9


@pytest.mark.parametrize("a", [0.25, 1.0, 2.0])
def test_truncated_normal_resamples_to_the_truncated_law(a):
    z = truncated_normal(50_000, 4, a, torch.Generator().manual_seed(0))
    assert z.abs().max() <= a and (z.abs() == a).sum() == 0
    assert abs(z.std().item() - truncated_normal_std(a)) < 0.005
    with pytest.raises(ValueError, match="`threshold` must be None or a number"):
        truncated_normal(2, 2, -1.0)


def test_networks_are_spectrally_normalised_and_conditional():
    torch.manual_seed(0)
    G, D = BigGANGenerator(), BigGANDiscriminator()
    assert all(abs(v - 1) < 0.01 for net in (G, D) for v in layer_spectral_norms(net).values())
    x = G(torch.randn(4, 32), torch.tensor([0, 1, 2, 3]))
    assert x.shape == (4, 1, 32, 32)
    with torch.no_grad():
        phi = D.eval().features(x)
        diff = D(x, torch.full((4,), 5)) - D(x, torch.zeros(4, dtype=torch.long))
        assert torch.allclose(diff, ((D.embed.weight[5] - D.embed.weight[0]) * phi).sum(1), atol=1e-5)


def test_recipe_draws_fake_labels_independently():
    torch.manual_seed(0)
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = BigGANDiscriminator()

        def forward(self, x, labels):
            seen.append(labels.clone())
            return self.net(x, labels)

    recipe = BigGANRecipe(BigGANGenerator(), Spy(), d_steps=2, accumulate=2)
    assert schedule(recipe, 2) == {"D": [2, 2], "G": [1, 1]}
    data = make_batches((torch.rand(64, 1, 32, 32) * 2 - 1, torch.full((64,), 7)), 16, seed=0)
    Trainer(recipe, data, seed=0).fit(1, progress=False)
    fake = torch.cat([c[16:] for c in seen[:4]] + seen[4:])
    assert all((c[:16] == 7).all() for c in seen[:4]) and len(fake.unique()) == 10


def test_builder_samples_from_the_ema_generator():
    images, labels = torch.rand(64, 1, 32, 32) * 2 - 1, torch.randint(10, (64,))
    trainer = biggan_trainer(images, labels, steps=2, batch_size=16)
    trainer.fit(2, progress=False)
    samples = trainer.sample(12)
    assert trainer.ema is not None and samples.shape == (12, 1, 32, 32) and samples.abs().max() <= 1
    assert trainer.recipe.sample(6, truncation=0.5, network=trainer.ema).shape == (6, 1, 32, 32)
    with pytest.raises(ValueError, match="unknown settings"):
        biggan_trainer(images, labels, steps=2, width=3)
