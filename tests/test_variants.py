"Chapter 3's library code: DCGAN networks for every valid size, and the conditional wrappers through the trainer."
import pytest
import torch
from torch import nn

from gantext.models.conditional import ConditionalDiscriminator, ConditionalGenerator
from gantext.data import make_batches
from gantext.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init, dcgan_ladder
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.train import Trainer


@pytest.mark.parametrize("size, channels", [(8, 1), (14, 1), (28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes_for_every_size(size, channels):
    G, D = DCGANGenerator(16, size, channels, width=8), DCGANDiscriminator(size, channels, width=8)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (3, 1) and D.features(x).shape == (3, D.feature_dim)


def test_dcgan_follows_the_paper_rules():
    G, D = DCGANGenerator(image_size=64), DCGANDiscriminator(image_size=64)
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Linear)) for m in [*G.modules(), *D.modules()])
    assert isinstance(G.net[-1], nn.Tanh) and not isinstance(G.net[-2], nn.BatchNorm2d)
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert isinstance(D.body[1], nn.LeakyReLU)                                   # no batch norm on D's input layer
    assert not any(isinstance(m, nn.ReLU) for m in D.modules())
    torch.manual_seed(0)
    net = dcgan_init(nn.Sequential(nn.Conv2d(64, 64, 4), nn.BatchNorm2d(64)))
    assert abs(net[0].weight.std().item() - 0.02) < 0.002 and net[0].bias.abs().max() == 0
    assert abs(net[1].weight.mean().item() - 1) < 0.01 and net[1].bias.abs().max() == 0


def test_ladder():
    assert [dcgan_ladder(s) for s in (8, 14, 28, 32, 56, 64, 128)] == [(4, 1), (7, 1), (7, 2), (4, 3), (7, 3), (4, 4), (4, 5)]


def test_conditional_wrappers_train_through_the_trainer():
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 8, 8) * 2 - 1, torch.randint(0, 3, (64,))
    G = ConditionalGenerator(DCGANGenerator(6, 8, 1, width=4), latent_dim=4, n_classes=3, embed_dim=2)
    D = ConditionalDiscriminator(DCGANDiscriminator(8, 2, width=4), (1, 8, 8), n_classes=3)
    t = Trainer(G, D, make_batches((x, y), 16), latent_dim=4, conditional=True, device="cpu")
    h = t.fit(3, progress=False)
    assert len(h["d_loss"]) == 3
    out = t.sample(z=torch.randn(5, 4), labels=torch.tensor([0, 1, 2, 0, 1]))
    assert out.shape == (5, 1, 8, 8)
    # the discriminator's label map is one extra channel stacked onto the image
    joined = D._joined(x[:2], y[:2])
    assert joined.shape == (2, 2, 8, 8) and torch.equal(joined[:, :1], x[:2])
    assert torch.equal(joined[:, 1], D.label_map.weight[y[:2]].view(2, 8, 8))


BAD_CALLS = [
    (lambda: dcgan_ladder(30), ValueError, "`image_size` must be 4 * 2**k or 7 * 2**k"),
    (lambda: DCGANGenerator(image_size=100), ValueError, "`image_size`"),
    (lambda: DCGANGenerator(latent_dim=0), ValueError, "`latent_dim` must be a positive int"),
    (lambda: DCGANGenerator()(torch.randn(2, 3)), ValueError, "`z` must have shape (B, 100)"),
    (lambda: DCGANDiscriminator(28, 1)(torch.randn(2, 1, 32, 32)), ValueError, "`x` must have shape (B, 1, 28, 28)"),
    (lambda: DCGANDiscriminator(channels=0), ValueError, "`channels` must be a positive int"),
    (lambda: dcgan_init(nn.Linear(2, 2), std=0), ValueError, "`std` must be a positive number"),
    (lambda: ConditionalGenerator("G", 4), TypeError, "`generator` must be an nn.Module"),
    (lambda: ConditionalGenerator(MLPGenerator(latent_dim=8), latent_dim=8, embed_dim=2), ValueError,
     "latent_dim + embed_dim = 10"),
    (lambda: ConditionalGenerator(MLPGenerator(latent_dim=12), latent_dim=2)(torch.randn(3, 2), torch.zeros(2).long()),
     ValueError, "`labels` must be an integer tensor of shape (3,)"),
    (lambda: ConditionalDiscriminator(MLPDiscriminator((2, 4, 4)), (1, 4)), ValueError, "`image_shape` must be (C, H, W)"),
    (lambda: ConditionalDiscriminator(MLPDiscriminator((2, 4, 4)), (1, 4, 4), n_classes=3)(torch.randn(2, 1, 4, 4),
     torch.tensor([0, 3])), ValueError, "`labels` must lie in [0, 2]"),
]


@pytest.mark.parametrize("call, exc, text", BAD_CALLS, ids=[f"bad{i}" for i in range(len(BAD_CALLS))])
def test_bad_input_is_rejected_clearly(call, exc, text):
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value), f"message {str(info.value)!r} does not mention {text!r}"
