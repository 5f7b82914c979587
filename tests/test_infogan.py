"Chapter 3's InfoGAN pieces, the trainer's latent prior, and DCGAN's spherical interpolation."
import math

import pytest
import torch
import torch.nn.functional as F

from gantext.data import make_batches
from gantext.models.dcgan import slerp
from gantext.models.infogan import (InfoGANDiscriminator, InfoGANGenerator, InfoGANLatent, InfoGANLoss, QDiscriminator, QOutput,
                             cluster_accuracy, gaussian_nll)
from gantext.train import SampleSnapshots, Trainer

LATENT = InfoGANLatent(noise_dim=4, n_categories=3, n_continuous=2)


def tiny_trainer(loss=None, **kwargs):
    torch.manual_seed(0)
    G = InfoGANGenerator(LATENT.dim, width=4, hidden=16)
    D = QDiscriminator(InfoGANDiscriminator(width=4, hidden=16), LATENT, hidden=8)
    data = make_batches(torch.rand(64, 1, 28, 28) * 2 - 1, 16, seed=0)
    return Trainer(G, D, data, latent_dim=LATENT.dim, loss=loss or InfoGANLoss(LATENT), latent_sampler=LATENT,
                   device="cpu", **kwargs)


def test_trainer_draws_from_the_latent_prior():
    trainer = tiny_trainer()
    z = trainer.sample_latent(50)
    _, cats, cont = LATENT.split(z)
    assert z[:, 4:7].sum(1).eq(1).all() and cont.abs().max() <= 1 and cats.max() <= 2
    snap = SampleSnapshots(every=1, n=6, seed=3)
    trainer.callbacks.append(snap)
    trainer.fit(1, progress=False)
    assert torch.equal(snap.z, LATENT(6, torch.Generator().manual_seed(3)))
    assert trainer.sample(5).shape == (5, 1, 28, 28)


def test_trainer_rejects_a_bad_prior():
    with pytest.raises(TypeError, match="`latent_sampler` must be callable"):
        Trainer(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), make_batches(torch.zeros(4, 1), 2), 1, latent_sampler=3)
    trainer = tiny_trainer()
    trainer.latent_sampler = lambda n, g, d: torch.zeros(n, 5)
    with pytest.raises(ValueError, match=r"must return a tensor of shape \(7, 9\)"):
        trainer.sample(7)


def test_information_term_trains_q_and_g_and_resumes_exactly(tmp_path):
    a = tiny_trainer()
    a.fit(2, progress=False)
    assert len(a.history["info_loss"]) == 2
    a.save(tmp_path / "ck.pt")
    a.fit(2, progress=False)
    b = tiny_trainer()
    b.load(tmp_path / "ck.pt")
    b.fit(2, progress=False)
    for p, q in zip(a.discriminator.parameters(), b.discriminator.parameters()):
        assert torch.equal(p, q)


def test_information_loss_value():
    loss = InfoGANLoss(LATENT, categorical_weight=1.0, continuous_weight=0.5)
    z = LATENT(8, torch.Generator().manual_seed(0))
    _, cats, cont = LATENT.split(z)

    class Oracle(torch.nn.Module):      # a Q that returns fixed readings
        def q(self, x):
            return QOutput(F.one_hot(cats, 3).float() * 50, cont + 0.1, torch.zeros_like(cont))

    value = loss.information(Oracle(), torch.zeros(8, 1, 28, 28), z)
    expected = 0.5 * 2 * (0.5 * 0.01 + 0.5 * math.log(2 * math.pi))   # CE ~ 0 plus 0.5 * NLL of two codes
    assert abs(value.item() - expected) < 1e-4


def test_gaussian_nll_matches_torch():
    x, m, s = torch.randn(3, 10, 4).unbind(0)
    ref = -torch.distributions.Normal(m, s.exp()).log_prob(x).sum(1).mean()
    assert torch.allclose(gaussian_nll(x, m, s), ref, atol=1e-5)


def test_cluster_accuracy():
    y = torch.arange(10).repeat(20)
    assert cluster_accuracy((y + 3) % 10, y) == 1.0
    assert cluster_accuracy(torch.zeros_like(y), y, 10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\]"):
        cluster_accuracy(y, y, n_classes=5)


def test_latent_join_split_and_errors():
    z = LATENT(5)
    assert torch.equal(LATENT.join(*LATENT.split(z)), z)
    with pytest.raises(ValueError, match=r"`continuous` must have shape \(5, 2\)"):
        LATENT.join(torch.zeros(5, 4), torch.zeros(5, dtype=torch.long), torch.zeros(5, 3))
    with pytest.raises(TypeError, match="must be an InfoGANLatent"):
        InfoGANLoss(latent=10)


def test_slerp_batched_and_norms():
    z0, z1 = torch.randn(2, 4, 50).unbind(0)
    path = slerp(z0, z1, torch.linspace(0, 1, 7))
    assert path.shape == (4, 7, 50)
    assert torch.allclose(path[:, 0], z0, atol=1e-5) and torch.allclose(path[:, -1], z1, atol=1e-5)
    u0, u1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
    assert torch.allclose(slerp(u0, u1, torch.rand(9)).norm(dim=-1), torch.ones(4, 9), atol=1e-5)


def test_continuous_std_fixed_or_learned():
    z = LATENT(6, torch.Generator().manual_seed(1))
    _, cats, cont = LATENT.split(z)

    class Oracle(torch.nn.Module):      # perfect categorical reading, means off by 0.5, predicted log-std -1
        def q(self, x):
            return QOutput(F.one_hot(cats, 3).float() * 50, cont + 0.5, torch.full_like(cont, -1.0))

    x = torch.zeros(6, 1, 28, 28)
    fixed = InfoGANLoss(LATENT, continuous_std=2.0).information(Oracle(), x, z).item()
    learned = InfoGANLoss(LATENT, continuous_std=None).information(Oracle(), x, z).item()
    nll = lambda log_s: 2 * (0.5 * 0.25 * math.exp(-2 * log_s) + log_s + 0.5 * math.log(2 * math.pi))
    assert abs(fixed - nll(math.log(2.0))) < 1e-4 and abs(learned - nll(-1.0)) < 1e-4
    with pytest.raises(ValueError, match="`continuous_std` must be a positive number or None"):
        InfoGANLoss(LATENT, continuous_std=0)


def test_information_term_combines_with_feature_matching_unrolling_r1_replay_and_clipping():
    "Chapter 1-4 techniques are terms of one recipe: InfoGAN's term beside feature matching or unrolling, R1, replay and clipping."
    from gantext.train import ExperienceReplay, WeightClipping
    from gantext.train.regularizers import r1_penalty
    from gantext.train.techniques import FeatureMatchingLoss
    from gantext.train.unrolled import UnrolledLoss
    calls = []
    for base, term in ((FeatureMatchingLoss(), "features"), (UnrolledLoss(k=1), "unrolled")):
        trainer = tiny_trainer(InfoGANLoss(LATENT, base=base), regularizers={"r1": r1_penalty(1.0)},
                               replay=ExperienceReplay(64, 0.5), callbacks=[WeightClipping(0.5)])
        assert trainer.recipe.generator_term == term and trainer.recipe.adversarial is base
        features = trainer.discriminator.features
        trainer.discriminator.features = lambda x: calls.append(term) or features(x)
        h = trainer.fit(2, progress=False)
        assert {"d_loss", "info_loss", "r1", "g_loss"} <= set(h) and all(math.isfinite(v) for v in h["info_loss"])
        assert len(trainer.replay) == 32 and max(p.abs().max().item() for p in trainer.discriminator.parameters()) <= 0.5
    assert "features" in calls                                     # feature matching read D's features
