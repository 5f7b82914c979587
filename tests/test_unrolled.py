"Chapter 4.5's unrolled GAN loss: exact gradients through the look-ahead, the first-order variant, the trainer hook."
import pytest
import torch
from torch import nn
from torch.func import functional_call

from gantext.data import make_batches, ring_of_gaussians
from gantext.losses import HingeLoss, NonSaturatingLoss
from gantext.models import MLPDiscriminator, MLPGenerator
from gantext.train import Callback, Trainer
from gantext.train.unrolled import UnrolledLoss


def tiny(seed=0):
    "float64 G: Linear(1, 2); D: 2-3-1 tanh MLP (frozen, as in the trainer's G update); fixed z and real batch."
    torch.manual_seed(seed)
    G = nn.Linear(1, 2).double()
    D = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double().requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    return G, D, torch.randn(16, 1, generator=g, dtype=torch.float64), torch.randn(16, 2, generator=g, dtype=torch.float64)


def grad_of(loss_of, G):
    G.zero_grad()
    loss_of().backward()
    return torch.cat([p.grad.flatten() for p in G.parameters()])


def finite_differences(loss_of, G, eps=1e-6):
    out = []
    with torch.no_grad():
        for p in G.parameters():
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps; up = loss_of().item()
                flat[i] = old - eps; down = loss_of().item()
                flat[i] = old
                out.append((up - down) / (2 * eps))
    return torch.tensor(out, dtype=torch.float64)


def test_k0_is_the_plain_generator_loss():
    G, D, z, real = tiny()
    for base in ("non_saturating", HingeLoss()):
        loss = UnrolledLoss(base, k=0)
        assert torch.equal(loss.generator_unrolled(D, real, G(z)), loss.base.generator(D(G(z))))
    loss = UnrolledLoss(k=3)
    scores = torch.randn(8, 1)
    assert torch.equal(loss.generator(scores), NonSaturatingLoss().generator(scores))
    assert torch.equal(loss.discriminator(scores, -scores), NonSaturatingLoss().discriminator(scores, -scores))
    assert loss.scores_are_logits and not UnrolledLoss(HingeLoss()).scores_are_logits
    assert loss.unrolls_discriminator


def test_unrolling_changes_the_generator_gradient():
    G, D, z, real = tiny()
    g0 = grad_of(lambda: UnrolledLoss(k=0).generator_unrolled(D, real, G(z)), G)
    g3 = grad_of(lambda: UnrolledLoss(k=3, unroll_lr=0.5).generator_unrolled(D, real, G(z)), G)
    assert (g3 - g0).norm() / g0.norm() > 0.05


@pytest.mark.parametrize("k,lr", [(1, 0.5), (5, 0.5)])
def test_full_gradient_matches_finite_differences(k, lr):
    G, D, z, real = tiny()
    loss = UnrolledLoss(k=k, unroll_lr=lr)
    f = lambda: loss.generator_unrolled(D, real, G(z))
    exact, estimate = grad_of(f, G), finite_differences(f, G)
    assert (exact - estimate).norm() / estimate.norm() < 1e-6


def test_first_order_is_the_gradient_at_the_fixed_lookahead():
    G, D, z, real = tiny()
    first = UnrolledLoss(k=5, unroll_lr=0.5, differentiate=False)
    f = lambda: first.generator_unrolled(D, real, G(z))
    g_first = grad_of(f, G)
    fixed = {n: t.detach() for n, t in first.lookahead(D, real, G(z)).items()}
    g_fixed = grad_of(lambda: first.base.generator(functional_call(D, fixed, (G(z),))), G)
    assert torch.allclose(g_first, g_fixed, rtol=0, atol=1e-12)
    # it is also the finite-difference gradient of the loss with theta_D^k held fixed
    fd_fixed = finite_differences(lambda: first.base.generator(functional_call(D, fixed, (G(z),))), G)
    assert (g_first - fd_fixed).norm() / fd_fixed.norm() < 1e-6
    g_full = grad_of(lambda: UnrolledLoss(k=5, unroll_lr=0.5).generator_unrolled(D, real, G(z)), G)
    assert (g_full - g_first).norm() / g_full.norm() > 0.05
    assert all(not t.requires_grad for t in first.lookahead(D, real, G(z)).values())


def test_lookahead_leaves_the_discriminator_untouched():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    before = {n: t.clone() for n, t in D.state_dict().items()}
    state = UnrolledLoss(k=2).lookahead(D, torch.randn(16, 2), torch.randn(16, 2))
    assert all(torch.equal(before[n], t) for n, t in D.state_dict().items())
    assert not torch.equal(state["0.weight"], before["0.weight"])
    assert not torch.equal(state["1.running_mean"], before["1.running_mean"])
    assert set(state) == set(before)


def test_conditional_labels_reach_the_discriminator():
    class LabelledD(nn.Module):
        def __init__(self):
            super().__init__()
            self.score, self.offset = nn.Linear(2, 1), nn.Embedding(3, 1)

        def forward(self, x, labels):
            return self.score(x) + self.offset(labels)

    torch.manual_seed(0)
    D, x, labels = LabelledD().requires_grad_(False), torch.randn(8, 2, requires_grad=True), torch.randint(3, (8,))
    loss = UnrolledLoss(k=2)
    assert torch.equal(UnrolledLoss(k=0).generator_unrolled(D, x, x, labels), loss.generator(D(x, labels)))
    value = loss.generator_unrolled(D, torch.randn(8, 2), x, labels)
    value.backward()
    assert torch.isfinite(value) and x.grad is not None
    state = loss.lookahead(D, torch.randn(8, 2), x.detach(), labels)
    assert not torch.equal(state["offset.weight"], D.offset.weight)   # the label offsets took part in the look-ahead


class _Untouched(Callback):
    "Check that the generator update leaves D's state exactly as the D update left it."
    def __init__(self):
        self.checked = 0

    def on_discriminator_step_end(self, trainer):
        self.after_d = [t.clone() for t in trainer.discriminator.state_dict().values()]

    def on_step_end(self, trainer):
        assert all(torch.equal(a, b) for a, b in zip(self.after_d, trainer.discriminator.state_dict().values()))
        self.checked += 1


@pytest.mark.parametrize("differentiate", [True, False])
def test_trainer_runs_and_the_lookahead_is_only_a_look(differentiate):
    torch.manual_seed(0)
    check = _Untouched()
    D = MLPDiscriminator(2, hidden=(16,))
    d0 = [p.detach().clone() for p in D.parameters()]
    trainer = Trainer(MLPGenerator(4, 2, hidden=(16,), output="none"), D,
                      make_batches(ring_of_gaussians(), 32, seed=0), latent_dim=4,
                      loss=UnrolledLoss(k=2, differentiate=differentiate), callbacks=[check], device="cpu")
    trainer.fit(3, progress=False)
    assert check.checked == 3 and len(trainer.history["g_loss"]) == 3
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))        # D's own updates did happen
    assert all(p.requires_grad for p in D.parameters())


def test_errors():
    with pytest.raises(ValueError, match="`k` must be an int >= 0"):
        UnrolledLoss(k=-1)
    with pytest.raises(ValueError, match="`k` must be an int >= 0"):
        UnrolledLoss(k=True)
    with pytest.raises(ValueError, match="`unroll_lr` must be a positive number"):
        UnrolledLoss(unroll_lr=0.0)
    with pytest.raises(ValueError, match="`unroll_lr` must be a positive number"):
        UnrolledLoss(unroll_lr="0.1")
    with pytest.raises(TypeError, match="`differentiate` must be True or False"):
        UnrolledLoss(differentiate=None)
    with pytest.raises(ValueError, match="unknown loss"):
        UnrolledLoss(base="nope")
    with pytest.raises(TypeError, match="must be a str or a GANLoss"):
        UnrolledLoss(base=3)
    with pytest.raises(ValueError, match="must be a plain adversarial loss"):
        UnrolledLoss(base=UnrolledLoss())
    with pytest.raises(TypeError, match="must be an nn.Module"):
        UnrolledLoss().lookahead(lambda x: x, torch.zeros(2, 2), torch.zeros(2, 2))
