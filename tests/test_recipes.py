"""The engine's hard shapes, each a small recipe on tiny networks: two generators and two discriminators with a cycle
loss and image pools; lazy regularisation; gradient accumulation; a G-only phase before the adversarial one; a fade-in
alpha and growing networks; patch discriminators through every loss; and exact resume for every recipe."""
import math

import pytest
import torch
from torch import nn

from gantext.core import set_seed
from gantext.data import make_batches, ring_of_gaussians
from gantext.losses import LOSSES, get_loss
from gantext.train import GANRecipe, ImagePool, Phase, Recipe, SampleSnapshots, Trainer, schedule


def mlp(n_in, n_out, hidden=16, dtype=torch.float32):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_out)).to(dtype)


def r1(critic, x):
    "R1's squared gradient norm at x, per sample, averaged: E||grad_x D(x)||^2 (with a graph for the backward)."
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return g.pow(2).flatten(1).sum(1).mean()


# --- two generators, two discriminators, a cycle loss and an image pool per discriminator (CycleGAN's shape) -------
class TwoDomains(Recipe):
    "A → B and B → A with least-squares losses, cycle (λ) and identity (λ/2) terms, and a pool per discriminator."
    def __init__(self, lam=10.0):
        super().__init__()
        self.g_ab, self.g_ba, self.d_a, self.d_b = mlp(2, 2), mlp(2, 2), mlp(2, 1), mlp(2, 1)
        self.pool_a, self.pool_b, self.lam, self.loss = ImagePool(8, seed=1), ImagePool(8, seed=2), lam, get_loss("least_squares")

    def optimizers(self):
        return {"g": [self.g_ab, self.g_ba], "d_a": self.d_a, "d_b": self.d_b}

    def phases(self):
        return (Phase("G", "g", self.g_loss), Phase("D_A", "d_a", self.d_a_loss), Phase("D_B", "d_b", self.d_b_loss))

    def g_loss(self, ctx):
        a, b = ctx.next("a"), ctx.next("b")
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        ctx.cache.update(a=a, b=b, fake_a=fake_a.detach(), fake_b=fake_b.detach())
        return {"g_adv": self.loss.generator(self.d_b(fake_b)) + self.loss.generator(self.d_a(fake_a)),
                "cycle": self.lam * ((self.g_ba(fake_b) - a).abs().mean() + (self.g_ab(fake_a) - b).abs().mean()),
                "identity": self.lam / 2 * ((self.g_ab(b) - b).abs().mean() + (self.g_ba(a) - a).abs().mean())}

    def d_a_loss(self, ctx):
        return {"d_a": self.loss.discriminator(self.d_a(ctx.cache["a"]), self.d_a(self.pool_a(ctx.cache["fake_a"])))}

    def d_b_loss(self, ctx):
        return {"d_b": self.loss.discriminator(self.d_b(ctx.cache["b"]), self.d_b(self.pool_b(ctx.cache["fake_b"])))}

    def get_extra_state(self):
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def set_extra_state(self, state):
        self.pool_a.load_state_dict(state["pool_a"]); self.pool_b.load_state_dict(state["pool_b"])


def two_domains(seed=0):
    set_seed(seed)
    ring = ring_of_gaussians()
    a = make_batches(ring, 16, seed=1)
    b = make_batches(ring.sample(512, generator=torch.Generator().manual_seed(2)) * 0.5 + 1.0, 16, seed=2)
    return Trainer(TwoDomains(), {"a": a, "b": b}, lr=1e-3, device="cpu", seed=3)


def test_two_generators_two_discriminators_cycle_and_pools():
    t = two_domains()
    before = {k: [p.detach().clone() for p in getattr(t.recipe, k).parameters()] for k in ("g_ab", "d_a", "d_b")}
    seen = []
    class Watch:   # after each phase, which networks moved since the last phase
        def on_fit_start(self, tr): self.last = {k: [p.detach().clone() for p in getattr(tr.recipe, k).parameters()] for k in ("g_ab", "g_ba", "d_a", "d_b")}
        def on_phase_end(self, tr, phase):
            now = {k: [p.detach().clone() for p in getattr(tr.recipe, k).parameters()] for k in self.last}
            seen.append((phase.name, sorted(k for k in now if not all(torch.equal(x, y) for x, y in zip(now[k], self.last[k])))))
            self.last = now
        def on_step_end(self, tr): pass
        def on_fit_end(self, tr): pass
    t.callbacks.append(Watch())
    h = t.fit(300, progress=False)
    assert seen[:3] == [("G", ["g_ab", "g_ba"]), ("D_A", ["d_a"]), ("D_B", ["d_b"])]   # each phase moves its own networks
    assert len(t.recipe.pool_a) == len(t.recipe.pool_b) == 8                            # pools full at their size
    assert not torch.equal(t.recipe.pool_a.images[0], t.recipe.g_ba(torch.zeros(1, 2))[0])
    start, end = sum(h["cycle"][:10]) / 10, sum(h["cycle"][-10:]) / 10
    assert end < 0.5 * start, (start, end)                                               # the cycle term is learnt
    assert all(not torch.equal(p, q) for k in before for p, q in zip(before[k], getattr(t.recipe, k).parameters()))


def test_image_pool_follows_cyclegan():
    pool = ImagePool(4, seed=0)
    first = torch.arange(6.0).reshape(6, 1)
    out = pool(first)
    assert torch.equal(out[:4], first[:4]) and len(pool) == 4       # filling: fresh images pass through and are stored
    fresh = [torch.full((1, 1), 100.0 + i) for i in range(400)]
    swapped = sum(not torch.equal(pool(x), x) for x in fresh) / len(fresh)
    assert 0.35 < swapped < 0.65, swapped                          # about half come from the pool
    with pytest.raises(ValueError, match="do not match"):
        pool(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="`size`"):
        ImagePool(0)


# --- lazy regularisation: R1 every 16 steps, scaled by 16, and a stateful G-side term every 4 -------------------------
class LazyR1(Recipe):
    "D's loss every step, R1 every `interval` steps (times `interval`), a path-length-like G term every 4 with a running mean."
    ema_network = "generator"
    def __init__(self, interval=16, d_only=False, dtype=torch.float32):
        super().__init__()
        self.generator, self.discriminator = mlp(2, 2, dtype=dtype), mlp(2, 1, dtype=dtype)
        self.interval, self.d_only, self.loss, self.dtype = interval, d_only, get_loss("non_saturating"), dtype
        self.register_buffer("pl_mean", torch.zeros((), dtype=dtype))

    def optimizers(self):
        return {"g": self.generator, "d": self.discriminator}

    def phases(self):
        reg = Phase("D_reg", "d", self.r1_loss, every=self.interval)
        if self.d_only:
            return (reg,)
        return (Phase("D", "d", self.d_loss), reg, Phase("G", "g", self.g_loss), Phase("G_reg", "g", self.pl_loss, every=4))

    def sample_latent(self, n, generator, device):
        return torch.randn(n, 2, generator=generator, device=device, dtype=self.dtype)

    def d_loss(self, ctx):
        real = ctx.next()
        ctx.cache["real"] = real
        fake = self.generator(self.sample_latent(real.shape[0], ctx.rng, ctx.device)).detach()
        return {"d_loss": self.loss.discriminator(self.discriminator(real), self.discriminator(fake))}

    def r1_loss(self, ctx):
        real = ctx.cache.get("real")
        real = ctx.next() if real is None else real
        return {"r1": 0.5 * r1(self.discriminator, real)}

    def g_loss(self, ctx):
        return {"g_loss": self.loss.generator(self.discriminator(self.generator(self.sample_latent(16, ctx.rng, ctx.device))))}

    def pl_loss(self, ctx):
        z = self.sample_latent(16, ctx.rng, ctx.device).requires_grad_(True)
        (g,) = torch.autograd.grad(self.generator(z).sum(), z, create_graph=True)
        lengths = g.norm(dim=1)
        self.pl_mean.lerp_(lengths.mean().detach(), 0.01)          # the running mean is part of the checkpoint
        return {"pl": (lengths - self.pl_mean).pow(2).mean()}


def test_lazy_r1_every_16_steps_is_16_times_eager_r1():
    "One lazy update equals one step of 16 × R1 on the same batch (float64); the 15 steps between do nothing."
    set_seed(0)
    real = torch.randn(32, 2, dtype=torch.float64)
    recipe = LazyR1(16, d_only=True, dtype=torch.float64)
    eager = mlp(2, 1, dtype=torch.float64); eager.load_state_dict(recipe.discriminator.state_dict())
    lr = 1e-3
    t = Trainer(recipe, make_batches(real, 32, seed=0), optimizers={"d": lambda p: torch.optim.SGD(p, lr=lr)},
                device="cpu")
    batch = next(make_batches(real, 32, seed=0))                   # the batch the lazy phase will draw
    loss = 16 * 0.5 * r1(eager, batch)
    grads = torch.autograd.grad(loss, list(eager.parameters()), allow_unused=True)   # the last bias has none
    expected = [p.detach() - (0 if g is None else lr * g) for p, g in zip(eager.parameters(), grads)]
    t.fit(1, progress=False)
    for p, q in zip(recipe.discriminator.parameters(), expected):
        assert torch.allclose(p, q, rtol=0, atol=1e-12)
    after_one = [p.detach().clone() for p in recipe.discriminator.parameters()]
    t.fit(15, progress=False)                                     # steps 1..15: the phase does not run
    assert all(torch.equal(p, q) for p, q in zip(recipe.discriminator.parameters(), after_one))
    assert math.isfinite(t.history["r1"][0]) and all(math.isnan(v) for v in t.history["r1"][1:16])
    t.fit(1, progress=False)                                      # step 16 runs it again
    assert not all(torch.equal(p, q) for p, q in zip(recipe.discriminator.parameters(), after_one))
    assert schedule(LazyR1(16), 17)["D_reg"] == [1] + [0] * 15 + [1]
    assert schedule(LazyR1(16), 8)["G_reg"] == [1, 0, 0, 0, 1, 0, 0, 0]


# --- gradient accumulation: 4 micro-batches of 32 = one batch of 128 -----------------------------------------------
class Rows:
    "Consecutive rows of a tensor, `size` at a time (no shuffling), with a position in its state."
    def __init__(self, x, size): self.x, self.size, self.i = x, size, 0
    def __iter__(self): return self
    def __next__(self):
        out = self.x[self.i:self.i + self.size]; self.i += self.size
        return out
    def state_dict(self): return {"i": self.i}
    def load_state_dict(self, s): self.i = s["i"]


def test_accumulating_4_x_32_equals_one_batch_of_128():
    torch.manual_seed(0)
    x, z = torch.randn(4096, 2, dtype=torch.float64), torch.randn(4096, 2, dtype=torch.float64)

    def run(batch, accumulate):
        set_seed(1)
        noise = Rows(z, 0)
        def latent(n, generator, device):
            noise.size = n
            return next(noise)
        recipe = GANRecipe(mlp(2, 2, dtype=torch.float64), mlp(2, 1, dtype=torch.float64), 2, latent_sampler=latent,
                           accumulate=accumulate, d_steps=2)
        t = Trainer(recipe, Rows(x, batch), device="cpu")
        t.fit(3, progress=False)
        return t
    one, four = run(128, 1), run(32, 4)
    for p, q in zip([*one.recipe.parameters()], [*four.recipe.parameters()]):
        assert torch.allclose(p, q, rtol=0, atol=1e-12), (p - q).abs().max()
    assert abs(one.history["d_loss"][-1] - four.history["d_loss"][-1]) < 1e-12   # logged as the mean of micro-batches


# --- a G-only phase (pre-training) before the adversarial phases ------------------------------------------------------
class PretrainThenAdversarial(Recipe):
    "SRResNet then SRGAN's shape: `warmup` steps of G on an L1 content loss alone, then D and G adversarially."
    def __init__(self, warmup=20):
        super().__init__()
        self.generator, self.discriminator, self.warmup = mlp(2, 2), mlp(2, 1), warmup
        self.loss = get_loss("non_saturating")

    def optimizers(self):
        return {"g": self.generator, "d": self.discriminator}

    def phases(self):
        return (Phase("G_pre", "g", self.content, stop=self.warmup),
                Phase("D", "d", self.d_loss, start=self.warmup),
                Phase("G", "g", self.g_loss, start=self.warmup))

    def content(self, ctx):
        x, y = ctx.next()
        ctx.cache.update(x=x, y=y)
        return {"l1": (self.generator(x) - y).abs().mean()}

    def d_loss(self, ctx):
        x, y = ctx.next()
        ctx.cache.update(x=x, y=y)
        return {"d_loss": self.loss.discriminator(self.discriminator(y), self.discriminator(self.generator(x).detach()))}

    def g_loss(self, ctx):
        x, y = ctx.cache["x"], ctx.cache["y"]
        fake = self.generator(x)
        return {"g_loss": self.loss.generator(self.discriminator(fake)), "l1": (fake - y).abs().mean()}


def pretrain_run(seed=0):
    x = torch.randn(512, 2, generator=torch.Generator().manual_seed(11))   # the same data for every seed
    set_seed(seed)
    y = x @ torch.tensor([[0.5, -1.0], [1.5, 0.3]]) + 0.2
    return Trainer(PretrainThenAdversarial(20), make_batches((x, y), 32, seed=1), lr=1e-2, device="cpu")


def test_generator_only_phase_then_adversarial():
    t = pretrain_run()
    d0 = [p.detach().clone() for p in t.discriminator.parameters()]
    t.fit(20, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(t.discriminator.parameters(), d0))   # D untouched while G pre-trains
    assert all(math.isnan(v) for v in t.history.get("d_loss", [math.nan] * 20))
    assert t.history["l1"][-1] < 0.5 * t.history["l1"][0]                              # the content loss is learnt
    t.fit(5, progress=False)
    assert not all(torch.equal(p, q) for p, q in zip(t.discriminator.parameters(), d0))
    assert all(math.isfinite(v) for v in t.history["d_loss"][20:])
    assert schedule(t.recipe, 22) == {"G_pre": [1] * 20 + [0, 0], "D": [0] * 20 + [1, 1], "G": [0] * 20 + [1, 1]}


# --- a fade-in alpha in the networks' state, and networks that grow mid-run ------------------------------------------
class Growing(nn.Module):
    "A generator with a fade-in: out = alpha · new(x) + (1 - alpha) · old(x); `alpha` is a buffer."
    def __init__(self):
        super().__init__()
        self.old, self.new = nn.Linear(2, 2), None
        self.register_buffer("alpha", torch.tensor(1.0))

    def grow(self):
        self.new = nn.Linear(2, 2)
        self.alpha.zero_()

    def forward(self, z):
        y = self.old(z)
        return y if self.new is None else self.alpha * self.new(y) + (1 - self.alpha) * y


class FadeIn(GANRecipe):
    "The GAN recipe whose D phase also advances the generator's fade-in by 1/`fade` per step."
    def __init__(self, fade=10, grown=False):
        super().__init__(Growing(), mlp(2, 1), 2)
        self.fade = fade
        if grown:
            self.generator.grow()

    def discriminator_loss(self, ctx):
        if self.generator.new is not None:
            self.generator.alpha.fill_(min(1.0, float(self.generator.alpha) + 1 / self.fade))
        return super().discriminator_loss(ctx)


def fade_run(seed=0, grown=True):
    set_seed(seed)
    return Trainer(FadeIn(grown=grown), make_batches(ring_of_gaussians(), 16, seed=1), device="cpu", seed=2,
                   callbacks=[SampleSnapshots(3, n=8)])


def test_fade_in_alpha_survives_save_and_load(tmp_path):
    t = fade_run(); t.fit(4, progress=False)
    t.save(tmp_path / "c.pt")
    fresh = fade_run(seed=5)
    assert float(fresh.generator.alpha) == 0.0
    fresh.load(tmp_path / "c.pt")
    assert float(fresh.generator.alpha) == pytest.approx(0.4) and float(t.generator.alpha) == pytest.approx(0.4)
    assert [s for s, _ in fresh.callbacks[0].snapshots] == [0, 3]          # callbacks' state is in the checkpoint


def test_growing_keeps_the_optimizer_state_of_old_layers():
    t = fade_run(grown=False); t.fit(3, progress=False)
    old = next(t.generator.old.parameters())
    state = {k: v.clone() for k, v in t.g_optimizer.state[old].items()}
    t.generator.grow()
    added = t.refresh_optimizers()
    assert added == {"g": 2, "d": 0}                                      # the new layer's weight and bias
    assert all(torch.equal(state[k], t.g_optimizer.state[old][k]) for k in state)  # Adam's moments kept
    new = [p.detach().clone() for p in t.generator.new.parameters()]
    t.fit(2, progress=False)
    assert all(not torch.equal(p, q) for p, q in zip(new, t.generator.new.parameters()))  # the new layer learns


# --- patch discriminators: (B, 1, H, W) scores through every registered loss ------------------------------------------
class PatchD(nn.Module):
    "Scores per patch: (B, 1, 8, 8) images -> (B, 1, 4, 4)."
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3, 1, 1))
    def forward(self, x): return self.net(x)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_patch_scores_through_every_loss(name):
    loss = get_loss(name)
    r, f = torch.randn(3, 1, 4, 4), torch.randn(5, 1, 4, 4)
    flat_r, flat_f = r.reshape(-1), f.reshape(-1)                       # every patch as one score
    assert torch.allclose(loss.discriminator(r, f), loss.discriminator(flat_r, flat_f))
    assert torch.allclose(loss.generator(f), loss.generator(flat_f))
    with pytest.raises(ValueError, match="real_scores"):
        loss.discriminator(torch.randn(3, 2, 4, 4), f)                  # two channels are not patch scores
    set_seed(0)
    G = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Unflatten(1, (1, 8, 8)))
    t = Trainer(G, PatchD(), make_batches(torch.rand(64, 1, 8, 8) * 2 - 1, 8, seed=0), latent_dim=4, loss=name,
                device="cpu")
    h = t.fit(3, progress=False)
    assert all(math.isfinite(v) for v in h["d_loss"] + h["g_loss"])


# --- exact resume for every recipe ------------------------------------------------------------------------------------
def gan_run(seed=0):
    set_seed(seed)
    return Trainer(mlp(2, 2), mlp(2, 1), make_batches(ring_of_gaussians(), 16, seed=1), latent_dim=2, device="cpu",
                   seed=3, ema_decay=0.9, ema_start=5)


def lazy_run(seed=0):
    set_seed(seed)
    return Trainer(LazyR1(4), make_batches(ring_of_gaussians(), 16, seed=1), device="cpu", seed=3, ema_decay=0.9)


RECIPES = {"gan": gan_run, "two_domains": two_domains, "lazy": lazy_run, "pretrain": pretrain_run, "fade_in": fade_run}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_resume_is_exact_for_every_recipe(tmp_path, name):
    "2N steps = N steps + save + load into freshly built objects + N steps, bit for bit (N straddles every schedule)."
    n = 12
    straight = RECIPES[name](0); straight.fit(2 * n, progress=False)
    first = RECIPES[name](0); first.fit(n, progress=False)
    first.save(tmp_path / "c.pt")
    resumed = RECIPES[name](7)                                       # other initial weights: overwritten by load
    torch.manual_seed(1234)                                          # scrambled global RNG: restored by load
    resumed.load(tmp_path / "c.pt")
    resumed.fit(n, progress=False)
    a, b = straight.state_dict(), resumed.state_dict()
    assert a["recipe"].keys() == b["recipe"].keys()
    for k, v in a["recipe"].items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, b["recipe"][k]), k
    if straight.ema is not None:
        assert all(torch.equal(p, q) for p, q in zip(straight.ema.parameters(), resumed.ema.parameters()))
    assert str(straight.history) == str(resumed.history)            # NaN == NaN as text


def test_restore_is_all_or_nothing(tmp_path):
    t = two_domains(); t.fit(3, progress=False)
    state = t.state_dict()
    state = {**state, "scalers": {}}                                  # breaks late, after the networks were loaded
    other = two_domains(seed=9)
    before = [p.detach().clone() for p in other.recipe.parameters()]
    with pytest.raises(Exception):
        other.load_state_dict(state)
    assert all(torch.equal(p, q) for p, q in zip(before, other.recipe.parameters()))
    assert other.step == 0


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    t = pretrain_run(); t.fit(2, progress=False)
    with torch.no_grad():
        next(t.generator.parameters())[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        t.save(tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_recipe_errors_name_the_problem():
    with pytest.raises(ValueError, match="`every`"):
        Phase("D", "d", lambda ctx: {}, every=0)
    with pytest.raises(ValueError, match="`stop`"):
        Phase("D", "d", lambda ctx: {}, start=5, stop=5)
    class Wrong(PretrainThenAdversarial):
        def phases(self): return (Phase("D", "critic", self.d_loss),)
    with pytest.raises(ValueError, match="steps the optimiser 'critic'"):
        Trainer(Wrong(), make_batches(torch.randn(8, 2), 4), device="cpu")
    with pytest.raises(ValueError, match="`optimizers` names"):
        Trainer(PretrainThenAdversarial(), make_batches(torch.randn(8, 2), 4), optimizers={"gen": None}, device="cpu")
    class Empty(PretrainThenAdversarial):
        def content(self, ctx): return {}
    t = Trainer(Empty(), make_batches((torch.randn(8, 2), torch.randn(8, 2)), 4), device="cpu")
    with pytest.raises(TypeError, match="non-empty dict"):
        t.fit(1, progress=False)
    with pytest.raises(KeyError, match="no data stream 'b'"):
        t.ctx.next("b")
