"Chapter 5's ProGAN: exact continuity at growth, the minibatch statistic, equalised updates, the schedule, the builder."
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gantext.models.progan import (EqualizedLinear, MinibatchStdDev, PixelNorm, ProGANDiscriminator, ProGANGenerator,
                                   fade_reals, growth_schedule, progan_trainer)


def test_growth_is_exact_at_alpha_zero():
    torch.manual_seed(0)
    G, D = ProGANGenerator(16, 1, (16, 8, 8)), ProGANDiscriminator(1, (16, 8, 8))
    z, x = torch.randn(8, 16), torch.rand(8, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        for R in (8, 16):
            xr = F.avg_pool2d(x, 16 // R)
            old_image, old_score = F.interpolate(G(z), scale_factor=2, mode="nearest"), D(F.avg_pool2d(xr, 2))
            G.grow(); D.grow()
            assert torch.equal(G(z), old_image) and torch.equal(D(xr), old_score)
            G.alpha = D.alpha = 1.0


def test_minibatch_std_matches_a_loop():
    torch.manual_seed(1)
    x = torch.randn(8, 2, 3, 3)
    y = MinibatchStdDev(4)(x)[:, 2, 0, 0]
    for n in range(8):
        members = x[[n % 2 + 2 * g for g in range(4)]]                 # group n % (N / G)
        expected = ((members - members.mean(0)).pow(2).mean(0) + 1e-8).sqrt().mean()
        assert abs(y[n].item() - expected.item()) < 1e-6
    with pytest.raises(ValueError, match="multiple of group_size=4, got 6"):
        MinibatchStdDev(4)(torch.randn(6, 2, 3, 3))


def test_equalised_layers_get_equal_relative_updates():
    def relative_update(layer, fan_in, scale):
        x, r = torch.randn(64, fan_in), torch.randn(64, 8)
        before = (layer.weight * scale).detach().clone()
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3, betas=(0.0, 0.99))
        (layer(x) * r).sum().backward(); optimizer.step()
        return ((layer.weight * scale).detach() - before).norm().item() / before.norm().item()

    torch.manual_seed(2)
    eq = [relative_update(layer := EqualizedLinear(f, 8), f, layer.scale) for f in (16, 1024)]
    std = []
    for f in (16, 1024):
        layer = nn.Linear(f, 8)
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        std.append(relative_update(layer, f, 1.0))
    assert abs(eq[1] / eq[0] - 1) < 0.1 and 5 < std[1] / std[0] < 11


def test_pixel_norm_and_fade_reals():
    y = PixelNorm()(3 * torch.randn(2, 16, 4, 4))
    assert torch.allclose(y.pow(2).mean(1), torch.ones(2, 4, 4), atol=1e-5)
    x = torch.rand(2, 1, 8, 8)
    assert torch.allclose(fade_reals(x, 8, 0.0), F.interpolate(F.avg_pool2d(x, 2), scale_factor=2))
    assert torch.equal(fade_reals(x, 8, 1.0), x)


def test_schedule_and_builder():
    phases = growth_schedule(700, (4, 8, 16, 32))
    assert [p.stop - p.start for p in phases] == [100] * 7
    images = torch.rand(32, 1, 16, 16) * 2 - 1
    trainer = progan_trainer(images, None, 10, seed=0, widths=(8, 8, 8), weights=(1, 1, 1), device="cpu")
    trainer.fit(10, progress=False)
    assert trainer.generator.resolution == trainer.ema.resolution == 16
    samples = trainer.sample(3)
    assert samples.shape == (3, 1, 16, 16) and samples.abs().max() <= 1
    with pytest.raises(TypeError, match="unknown override"):
        progan_trainer(images, None, 10, learning_rate=1e-3)
    with pytest.raises(ValueError, match="`weights` must be 3 positive numbers"):
        progan_trainer(images, None, 10)                                # the default weights are for 32x32
