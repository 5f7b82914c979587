"Chapter 5's StyleGAN: exact AdaIN statistics, style mixing, truncation to the average w, the recipe and the builder."
import pytest
import torch

from gantext.models.stylegan import (StyleDiscriminator, StyleGANRecipe, StyleGenerator, StyleSynthesis, adain,
                                     mix_styles, random_crossover, stylegan_trainer)


def test_adain_sets_each_channel_to_the_style():
    torch.manual_seed(0)
    x = 4 * torch.randn(8, 5, 6, 6).exp() + 2
    scale, bias = 2 * torch.randn(8, 5), torch.randn(8, 5)
    y = adain(x, scale, bias)
    assert torch.allclose(y.mean((2, 3)), bias, atol=1e-4)
    assert torch.allclose(y.std((2, 3), unbiased=False), scale.abs(), atol=1e-4)
    with pytest.raises(ValueError, match="`scale`, `bias` \\(B, C\\)"):
        adain(x, scale[:, :2], bias)


def test_mixing_takes_a_before_the_crossover_and_b_after():
    a, b = torch.zeros(2, 8, 3), torch.ones(2, 8, 3)
    assert mix_styles(a, b, torch.tensor([3, 8]))[:, :, 0].tolist() == [[0] * 3 + [1] * 5, [0] * 8]
    cuts = random_crossover(2_000, 8, 0.0, torch.Generator().manual_seed(0))
    assert bool((cuts == 8).all())                       # probability 0: never mixed


def test_truncation_zero_gives_the_average_w_for_every_z():
    torch.manual_seed(0)
    G = StyleGenerator(StyleSynthesis(16, (16, 8, 8, 8)), z_dim=16, mapping_layers=2)
    with torch.no_grad():
        G.track_w_avg(G.mapping(torch.randn(64, 16)))
        out = G(torch.randn(4, 16), truncation_psi=0.0, noise_mode="const")
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-5)


def test_recipe_rejects_a_plain_generator_and_the_builder_samples_in_range():
    with pytest.raises(TypeError, match="`generator` must be a StyleGenerator"):
        StyleGANRecipe(torch.nn.Linear(2, 2), StyleDiscriminator())
    images = torch.rand(32, 1, 32, 32) * 2 - 1
    trainer = stylegan_trainer(images, None, 2, seed=0, batch_size=8, channels=(16, 8, 8, 8))
    trainer.fit(2, progress=False)
    out = trainer.sample(5)
    assert out.shape == (5, 1, 32, 32) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="unknown setting"):
        stylegan_trainer(images, None, 2, gamma=1.0)
