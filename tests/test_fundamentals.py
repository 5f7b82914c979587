"Chapter 1's library code: the MLP networks, the stabilisation techniques and their use through the trainer."
import pytest
import torch
from torch import nn

from gantext.data import make_batches, ring_of_gaussians
from gantext.losses import NonSaturatingLoss
from gantext.models import MLPDiscriminator, MLPGenerator, mlp_layers
from gantext.train.techniques import (AnnealInstanceNoise, FeatureMatchingLoss, InstanceNoise, MinibatchDiscrimination,
                                with_minibatch_discrimination)
from gantext.train import SampleSnapshots, Trainer


def test_generator_and_discriminator_shapes_and_ranges():
    G, D = MLPGenerator(), MLPDiscriminator()
    x = G(torch.randn(5, 100))
    assert x.shape == (5, 1, 28, 28) and x.abs().max() < 1
    assert D(x).shape == (5, 1) and D.features(x).shape == (5, D.feature_dim)
    g1 = MLPGenerator(latent_dim=3, out_shape=2, hidden=(8,), output="none", batch_norm=True)
    assert g1(torch.randn(4, 3)).shape == (4, 2)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in g1.modules()) == 1
    d = MLPDiscriminator(2, hidden=(8, 8, 8), batch_norm=True, dropout=0.2)
    assert [type(m) for m in d.body][:3] == [nn.Flatten, nn.Linear, nn.LeakyReLU]   # no norm on the first layer
    assert sum(isinstance(m, nn.BatchNorm1d) for m in d.modules()) == 2


def test_minibatch_discrimination_matches_the_definition():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, n_kernels=3, kernel_dim=2)
    f = torch.randn(5, 6)
    M = (f @ layer.T).view(5, 3, 2)
    o = torch.zeros(5, 3)
    for i in range(5):
        for j in range(5):
            if i != j:
                o[i] += torch.exp(-(M[i] - M[j]).abs().sum(1))
    assert torch.allclose(layer(f), torch.cat([f, o], 1), atol=1e-6)
    # the output for a sample changes when another sample of its batch changes
    g = f.clone(); g[4] += 1
    assert not torch.allclose(layer(f)[0], layer(g)[0])
    # gradients reach T
    layer(f).sum().backward()
    assert layer.T.grad is not None and layer.T.grad.abs().sum() > 0


def test_with_minibatch_discrimination_keeps_features_and_shapes():
    D = with_minibatch_discrimination(MLPDiscriminator(2, hidden=(16,)), n_kernels=4, kernel_dim=3)
    x = torch.randn(7, 2)
    assert D(x).shape == (7, 1) and D.features(x).shape == (7, 16)
    assert isinstance(D.head[0], MinibatchDiscrimination) and D.head[1].in_features == 20


class _Spy(MLPDiscriminator):
    "An MLP discriminator that records the inputs of `features` and `forward`."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feature_inputs, self.inputs = [], []

    def features(self, x):
        self.feature_inputs.append(x.detach().clone())
        return super().features(x)

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return super().forward(x)


def test_feature_matching_uses_real_features_and_leaves_d_alone():
    torch.manual_seed(0)
    G, D = MLPGenerator(2, 2, hidden=(8,), output="none"), _Spy(2, hidden=(8,))
    t = Trainer(G, D, make_batches(ring_of_gaussians(), 16, seed=0), latent_dim=2, loss=FeatureMatchingLoss(),
                device="cpu")
    t.run_phase("D")
    D.feature_inputs.clear()
    before = [p.detach().clone() for p in D.parameters()]
    g_before = [p.detach().clone() for p in G.parameters()]
    logs = t.run_phase("G")
    assert all(torch.equal(a, p) for a, p in zip(before, D.parameters()))          # D unchanged by the G step
    assert any(not torch.equal(a, p) for a, p in zip(g_before, G.parameters()))    # G moved
    assert any(torch.equal(x, t.ctx.cache["real"]) for x in D.feature_inputs)                  # the real batch's features
    fakes = [x for x in D.feature_inputs if not torch.equal(x, t.ctx.cache["real"])]
    assert len(fakes) == 1
    with torch.no_grad():
        expected = ((D.features(t.ctx.cache["real"]).mean(0) - D.features(fakes[0]).mean(0)) ** 2).sum()
    assert logs["g_loss"] == pytest.approx(expected.item(), rel=1e-5)
    h = t.fit(3, progress=False)
    assert len(h["g_loss"]) == 3 and all(v >= 0 for v in h["g_loss"])


def test_feature_matching_through_instance_noise_and_with_labels():
    t = Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), InstanceNoise(MLPDiscriminator(2, hidden=(8,)), 0.1),
                make_batches(ring_of_gaussians(), 16), latent_dim=2, loss=FeatureMatchingLoss(), device="cpu")
    assert len(t.fit(2, progress=False)["g_loss"]) == 2

    class CondG(nn.Module):
        def __init__(self):
            super().__init__(); self.net, self.emb = nn.Linear(2, 2), nn.Embedding(3, 2)
        def forward(self, z, y): return self.net(z) + self.emb(y)

    class CondD(nn.Module):
        def __init__(self):
            super().__init__(); self.body, self.emb, self.head = nn.Linear(2, 4), nn.Embedding(3, 4), nn.Linear(4, 1)
            self.calls = 0
        def features(self, x, y):
            self.calls += 1
            return torch.relu(self.body(x) + self.emb(y))
        def forward(self, x, y): return self.head(self.features(x, y))

    x, y = torch.randn(64, 2), torch.randint(0, 3, (64,))
    D = CondD()
    t = Trainer(CondG(), D, make_batches((x, y), 16), latent_dim=2, loss=FeatureMatchingLoss(), conditional=True,
                device="cpu")
    t.fit(2, progress=False)
    assert D.calls >= 2 * 2 + 2 * 2          # two D-step calls and two feature-matching calls per step


def test_instance_noise_reaches_real_and_fake_inputs_in_training_only():
    torch.manual_seed(0)
    inner = _Spy(2, hidden=(8,))
    wrapped = InstanceNoise(inner, std=0.5)
    real = torch.ones(16, 2)
    t = Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), wrapped, make_batches(real, 16), latent_dim=2,
                device="cpu")
    t.run_phase("D")
    seen_real, seen_fake = inner.inputs[0], inner.inputs[1]
    assert not torch.equal(seen_real, real) and abs((seen_real - real).std() - 0.5) < 0.25
    with torch.no_grad():
        fake = t.generator(torch.zeros(4, 2))
    wrapped.eval(); inner.inputs.clear()
    wrapped(fake)
    assert torch.equal(inner.inputs[0], fake)
    assert seen_fake.shape == (16, 2)
    with pytest.raises(TypeError, match="has no `features"):
        InstanceNoise(nn.Linear(2, 1)).features(real)


def test_instance_noise_only_in_training_and_annealed_through_the_trainer():
    wrapped = InstanceNoise(nn.Identity(), std=0.2)
    x = torch.zeros(10_000, 3)
    assert abs(wrapped(x).std() - 0.2) < 0.01
    assert torch.equal(wrapped.eval()(x), x)
    noisy = InstanceNoise(MLPDiscriminator(2, hidden=(8,)), std=0.5)
    t = Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), noisy, make_batches(ring_of_gaussians(), 16),
                latent_dim=2, callbacks=[AnnealInstanceNoise(0.5, 4)], device="cpu")
    t.fit(2, progress=False)
    assert noisy.std == pytest.approx(0.25)
    t.fit(3, progress=False)
    assert noisy.std == 0.0


def test_sample_snapshots_can_use_the_raw_generator():
    G, D = MLPGenerator(2, 2, hidden=(8,), output="none"), MLPDiscriminator(2, hidden=(8,))
    raw, ema = SampleSnapshots(every=1, n=4, use_ema=False), SampleSnapshots(every=1, n=4)
    t = Trainer(G, D, make_batches(ring_of_gaussians(), 16), latent_dim=2, ema_decay=0.9, callbacks=[raw, ema],
                device="cpu")
    t.fit(2, progress=False)
    assert torch.allclose(raw.snapshots[-1][1], t.sample(z=raw.z, use_ema=False))
    assert not torch.allclose(raw.snapshots[-1][1], ema.snapshots[-1][1])


BAD_CALLS = [
    (lambda: mlp_layers(3, (4, -1)), ValueError, "`hidden` must be a positive int"),
    (lambda: mlp_layers(3, (4,), dropout=1.0), ValueError, "`dropout` must be a number in [0, 1)"),
    (lambda: MLPGenerator(latent_dim=0), ValueError, "`latent_dim` must be a positive int"),
    (lambda: MLPGenerator(activation="swish"), ValueError, "`activation` must be one of"),
    (lambda: MLPGenerator()(torch.randn(2, 3)), ValueError, "`z` must have shape (B, 100)"),
    (lambda: MLPDiscriminator(hidden=()), ValueError, "non-empty tuple"),
    (lambda: MLPGenerator(hidden=()), ValueError, "non-empty tuple"),
    (lambda: MLPDiscriminator(batch_norm=1), TypeError, "`batch_norm` must be True or False"),
    (lambda: mlp_layers(3, (4,), dropout="0.1"), ValueError, "`dropout` must be a number"),
    (lambda: MinibatchDiscrimination(4, init_std=-1), ValueError, "`init_std` must be a positive number"),
    (lambda: SampleSnapshots(every=1, use_ema="no"), TypeError, "`use_ema` must be True or False"),
    (lambda: MLPDiscriminator()(torch.randn(2, 1, 28, 27)), ValueError, "`x` must have shape (B, 1, 28, 28)"),
    (lambda: MinibatchDiscrimination(0), ValueError, "`in_features` must be a positive int"),
    (lambda: MinibatchDiscrimination(4)(torch.randn(3, 5)), ValueError, "input must have shape (N, 4)"),
    (lambda: MinibatchDiscrimination(4)(torch.randn(1, 4)), ValueError, "at least 2 samples"),
    (lambda: with_minibatch_discrimination(nn.Linear(2, 1)), TypeError, "needs a linear `head`"),
    (lambda: InstanceNoise("D"), TypeError, "`discriminator` must be an nn.Module"),
    (lambda: InstanceNoise(nn.Identity(), std=-0.1), ValueError, "`std` must be a number >= 0"),
    (lambda: AnnealInstanceNoise(0.1, steps=0), ValueError, "`steps` must be a positive int"),
    (lambda: FeatureMatchingLoss().generator(torch.zeros(3)), TypeError, "needs D's features"),
    (lambda: FeatureMatchingLoss().generator_features(torch.zeros(3), torch.zeros(3, 2)), ValueError,
     "`fake_features` must be a (B, F) tensor"),
    (lambda: Trainer(MLPGenerator(2, 2, hidden=(8,), output="none"), nn.Linear(2, 1), make_batches(ring_of_gaussians(), 8),
                     2, loss=FeatureMatchingLoss(), device="cpu").fit(1, progress=False), TypeError, "`features(x)` method"),
]


@pytest.mark.parametrize("call, exc, text", BAD_CALLS, ids=[f"bad{i}" for i in range(len(BAD_CALLS))])
def test_bad_input_is_rejected_clearly(call, exc, text):
    with pytest.raises(exc) as info:
        call()
    assert text in str(info.value), f"message {str(info.value)!r} does not mention {text!r}"
