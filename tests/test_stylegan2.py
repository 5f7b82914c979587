"Section 5.4's StyleGAN2: modulated convolution against its definition, demodulation, lazy phases, Adam correction, checkpoints."
import math

import pytest
import torch
import torch.nn.functional as F

from gantext.core import load_safe
from gantext.models.stylegan import StyleGenerator
from gantext.models.stylegan2 import (STYLEGAN2_SETTINGS, ModulatedLayer, SkipSynthesis, lazy_adam, modulated_conv2d,
                                      stylegan2_trainer)


def grouped(x, weight, styles, demodulate):
    "The definition: one modulated (and demodulated) kernel per sample, as a grouped convolution."
    b, c_in, h, w = x.shape
    k = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        k = k / k.square().sum((2, 3, 4), keepdim=True).sqrt()
    out = F.conv2d(x.reshape(1, b * c_in, h, w), k.reshape(-1, c_in, *weight.shape[2:]),
                   padding=weight.shape[-1] // 2, groups=b)
    return out.reshape(b, -1, h, w)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv2d_matches_definition(demodulate):
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 6, 9, 9), torch.randn(5, 6, 3, 3), torch.randn(3, 6)
    assert torch.allclose(modulated_conv2d(x, weight, styles, demodulate), grouped(x, weight, styles, demodulate),
                          atol=1e-4)


def test_demodulated_output_has_unit_std_whatever_the_style():
    torch.manual_seed(1)
    weight, x = torch.randn(16, 16, 3, 3), torch.randn(40, 16, 20, 20)
    styles = 10 ** torch.empty(40, 1).uniform_(-3, 3) * torch.randn(40, 16).exp()
    std = modulated_conv2d(x, weight, styles)[..., 1:-1, 1:-1].std((1, 2, 3))
    assert (std - 1).abs().max() < 0.1


def test_modulated_layer_ignores_style_scale():
    torch.manual_seed(2)
    layer = ModulatedLayer(8, 4, 8, 16)
    x, w = torch.randn(2, 8, 8, 8), torch.randn(2, 16)
    out = layer(x, w, "none")
    with torch.no_grad():
        layer.affine.weight.mul_(100); layer.affine.bias.mul_(100)
    assert torch.allclose(layer(x, w, "none"), out, atol=1e-5)


def test_lazy_adam_correction():
    opt = lazy_adam(2e-3, (0.0, 0.99), 16)([torch.nn.Parameter(torch.zeros(1))])
    group = opt.param_groups[0]
    assert math.isclose(group["lr"], 2e-3 * 16 / 17) and math.isclose(group["betas"][1], 0.99 ** (16 / 17))
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        lazy_adam(2e-3, (0.0, 0.99), 0)


def test_trainer_runs_lazy_phases_and_checkpoint_reproduces(tmp_path):
    torch.manual_seed(3)
    images = torch.rand(32, 1, 32, 32) * 2 - 1
    trainer = stylegan2_trainer(images, None, 17, seed=0, batch_size=8, device="cpu")
    trainer.fit(17, progress=False)
    h = trainer.history
    ran = lambda key: [int(s) - 1 for s, v in zip(h["step"], h[key]) if not math.isnan(v)]
    assert ran("r1_penalty") == [0, 16] and ran("pl_penalty") == [0, 4, 8, 12, 16] and len(ran("g_loss")) == 17
    assert trainer.sample(4).shape == (4, 1, 32, 32)
    state = load_safe(trainer.save(tmp_path / "sg2.pt"))
    s = STYLEGAN2_SETTINGS
    fresh = StyleGenerator(SkipSynthesis(s["w_dim"], s["channels"]), s["z_dim"], s["mapping_layers"], s["mapping_lr_mul"])
    fresh.load_state_dict(state["ema"])
    z = torch.randn(3, s["z_dim"])
    with torch.no_grad():
        assert torch.equal(fresh.eval()(z, noise_mode="const"), trainer.ema(z, noise_mode="const"))
    assert "pl_mean" in state["recipe"]


def test_builder_rejects_bad_settings():
    few = torch.rand(8, 1, 32, 32) * 2 - 1
    with pytest.raises(ValueError, match="unknown setting"):
        stylegan2_trainer(few, None, 2, pl_wieght=1.0)
