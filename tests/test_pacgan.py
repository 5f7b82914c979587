"Section 4.6's PacGAN pieces: packing keeps every sample in its place, and a packed discriminator trains in the one trainer."
import pytest
import torch
from torch import nn

from gantext.data import grid_of_gaussians, make_batches
from gantext.losses import gradient_penalty
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.models.pacgan import PacDiscriminator, pack, packed_shape
from gantext.train import Trainer


def unpack(packed, m, dim=-1):
    "The inverse of `pack`, written independently: split each pack into its m samples along `dim`."
    return torch.stack(packed.chunk(m, dim=dim), dim=1).flatten(0, 1)


@pytest.mark.parametrize("shape, m, dim, out", [
    ((12, 3), 4, -1, (3, 12)),                 # flat samples
    ((8, 3, 5, 5), 2, 1, (4, 6, 5, 5)),        # images, stacked along channels
    ((8, 3, 5, 5), 2, -3, (4, 6, 5, 5)),       # the same dim, counted from the end
    ((10, 4, 2), 5, -1, (2, 4, 10)),           # an ensemble batch (B, R, d): each run packs its own samples
])
def test_pack_shapes_and_unpack(shape, m, dim, out):
    x = torch.randn(shape)
    packed = pack(x, m, dim)
    assert packed.shape == out == (shape[0] // m, *packed_shape(shape[1:], m, dim))
    assert torch.equal(unpack(packed, m, dim), x)


def test_packs_hold_consecutive_samples_in_order():
    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    runs = torch.randn(6, 3, 2)
    packed = pack(runs, 2)
    for i in range(3):
        for r in range(3):
            assert torch.equal(packed[i, r], torch.cat([runs[2 * i, r], runs[2 * i + 1, r]]))
    images = torch.randn(4, 1, 2, 2)
    assert torch.equal(pack(images, 2, dim=1)[1], torch.cat([images[2], images[3]], 0))


def test_m_equal_one_is_the_identity():
    x = torch.randn(5, 3)
    assert pack(x, 1) is x and packed_shape((3,), 1) == (3,)


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError, match="the batch of 50 samples cannot be split into packs of m = 3; use a batch size divisible by 3"):
        pack(torch.randn(50, 2), 3)
    with pytest.raises(ValueError, match=r"`m` \(samples per pack\) must be an int >= 1, got 0"):
        pack(torch.randn(4, 2), 0)
    for bad in (2.0, True, "2"):
        with pytest.raises(TypeError, match=r"`m` \(samples per pack\) must be an int >= 1"):
            pack(torch.randn(4, 2), bad)
    with pytest.raises(ValueError, match="`dim` must name a non-batch dim"):
        pack(torch.randn(4, 2), 2, dim=0)
    with pytest.raises(ValueError, match="`dim` must name a non-batch dim"):
        pack(torch.randn(4, 2), 2, dim=-2)
    with pytest.raises(ValueError, match="at least 2 dims"):
        pack(torch.randn(4), 2)
    with pytest.raises(ValueError, match="`shape` must be a positive int"):
        packed_shape((0, 2), 2)


def test_pac_discriminator_scores_packs_from_both_samples():
    torch.manual_seed(0)
    D = PacDiscriminator(MLPDiscriminator(packed_shape(2, 2), hidden=(8,)), 2)
    assert D.m == 2 and isinstance(D.discriminator, MLPDiscriminator)
    x = torch.randn(4, 2)
    assert D(x).shape == (2, 1) and D.features(x).shape == (2, 8)
    for i in (0, 1):                                   # either sample of pack 0 moves its score, not pack 1's
        y = x.clone(); y[i] += 1.0
        assert not torch.allclose(D(y)[0], D(x)[0]) and torch.equal(D(y)[1], D(x)[1])


def test_gradient_reaches_every_sample():
    torch.manual_seed(0)
    D = PacDiscriminator(MLPDiscriminator(packed_shape(2, 4), hidden=(8,)), 4)
    x = torch.randn(8, 2, requires_grad=True)
    D(x).sum().backward()
    assert (x.grad.norm(dim=1) > 0).all()


def test_pac_discriminator_rejects_bad_input():
    with pytest.raises(TypeError, match="`discriminator` must be an nn.Module"):
        PacDiscriminator(lambda x: x, 2)
    with pytest.raises(ValueError, match=r"`m` \(samples per pack\) must be an int >= 1"):
        PacDiscriminator(nn.Linear(2, 1), 0)
    with pytest.raises(ValueError, match="`dim` must be a non-zero int"):
        PacDiscriminator(nn.Linear(2, 1), 2, dim=0)
    with pytest.raises(TypeError, match=r"has no `features\(x\)` method"):
        PacDiscriminator(nn.Linear(4, 1), 2).features(torch.randn(4, 2))


def _trainer(m, batch_size=12, **kwargs):
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, hidden=(8,), output="none")
    D = PacDiscriminator(MLPDiscriminator(packed_shape(2, m), hidden=(8,)), m)
    return Trainer(G, D, make_batches(grid_of_gaussians(), batch_size, seed=0), latent_dim=2, device="cpu", **kwargs)


@pytest.mark.parametrize("m", [2, 3])
def test_trainer_steps_with_a_packed_discriminator(m):
    t = _trainer(m)
    g_before = [p.detach().clone() for p in t.generator.parameters()]
    d_before = [p.detach().clone() for p in t.discriminator.parameters()]
    history = t.fit(2, progress=False)
    assert len(history["d_loss"]) == 2
    assert all(not torch.equal(a, b) for a, b in zip(g_before, t.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, t.discriminator.parameters()))


def test_trainer_with_gradient_penalty_and_bad_batch():
    t = _trainer(2, loss="wasserstein", regularizers={"gp": lambda c, r, f: 10 * gradient_penalty(c, r, f)})
    history = t.fit(2, progress=False)
    assert all(v >= 0 for v in history["gp"])
    with pytest.raises(ValueError, match="use a batch size divisible by 5"):
        _trainer(5).fit(1, progress=False)
