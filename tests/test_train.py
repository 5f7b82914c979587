"The trainer: seeded determinism, exact resume, atomic and safe checkpoints, and what each option does."
import pickle

import pytest
import torch
from torch import nn

from gantext.core import set_seed
from gantext.data import make_batches, ring_of_gaussians
from gantext.losses import gradient_penalty
from gantext.train import Callback, CheckpointEvery, ExperienceReplay, SampleSnapshots, Trainer, WeightClipping


def mlp(n_in, n_out, hidden=16, dropout=0.0):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(hidden, n_out))


def ring_run(init_seed=0, **kwargs):
    set_seed(init_seed)
    options = dict(latent_dim=2, device="cpu", seed=3)
    options.update(kwargs)
    return Trainer(mlp(2, 2), mlp(2, 1, dropout=0.3), make_batches(ring_of_gaussians(), 16, seed=1), **options)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_seeded_cpu_runs_are_identical():
    a = ring_run(); a.fit(25, progress=False)                  # D has dropout: the global RNG matters too
    b = ring_run(); b.fit(25, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.generator.parameters(), b.generator.parameters()))
    assert a.history == b.history
    c = ring_run(seed=4); c.fit(25, progress=False)             # another noise seed gives another run
    assert c.history["g_loss"] != a.history["g_loss"]


@pytest.mark.parametrize("options", [dict(), dict(loss="wasserstein", d_steps=3, ema_decay=0.95,
                                                   regularizers={"gp": lambda c, r, f: 10 * gradient_penalty(c, r, f)})])
def test_resume_is_exact(tmp_path, options):
    "Training 2N steps equals training N, saving, loading into fresh objects and training N more."
    straight = ring_run(**options); straight.fit(30, progress=False)
    first = ring_run(**options); first.fit(15, progress=False)
    first.save(tmp_path / "ckpt.pt")
    resumed = ring_run(init_seed=99, **options)                # other initial weights: all overwritten by load
    torch.manual_seed(12345)                                   # scramble the global RNG: restored by load
    resumed.load(tmp_path / "ckpt.pt")
    resumed.fit(15, progress=False)
    assert resumed.step == straight.step == 30
    for net in ("generator", "discriminator"):
        for p, q in zip(getattr(straight, net).parameters(), getattr(resumed, net).parameters()):
            assert torch.equal(p, q), net
    if straight.generator_ema is not None:
        assert all(torch.equal(p, q) for p, q in zip(straight.generator_ema.parameters(), resumed.generator_ema.parameters()))
    assert straight.history == resumed.history


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the hand-made malicious pickle below
def test_checkpoint_is_atomic_and_loaded_safely(tmp_path, monkeypatch):
    run = ring_run(); run.fit(3, progress=False)
    path = run.save(tmp_path / "ckpt.pt")
    good = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    run.fit(2, progress=False)
    with pytest.raises(OSError, match="disk full"):
        run.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good                           # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # and no temporary file is left

    class Evil:                                                # a pickle that would run code on load
        def __reduce__(self):
            return (print, ("pwned",))
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"step": Evil()}))
    with pytest.raises(pickle.UnpicklingError):
        run.load(evil)                                         # weights_only=True refuses it


def test_ema_checkpoint_mismatch_is_explained(tmp_path):
    ring_run(ema_decay=0.9).save(tmp_path / "ema.pt")
    with pytest.raises(ValueError, match="ema_decay"):
        ring_run().load(tmp_path / "ema.pt")


def test_d_steps_and_generator_step_update_the_right_network():
    run = ring_run(d_steps=3)
    g_before, d_before = params(run.generator), params(run.discriminator)
    run.run_phase("D")
    assert all(torch.equal(p, q) for p, q in zip(g_before, run.generator.parameters())), "D step changed G"
    d_after = params(run.discriminator)
    assert not all(torch.equal(p, q) for p, q in zip(d_before, d_after))
    run.run_phase("G")
    assert all(torch.equal(p, q) for p, q in zip(d_after, run.discriminator.parameters())), "G step changed D"
    assert not all(torch.equal(p, q) for p, q in zip(g_before, run.generator.parameters())), "G step did not change G"
    assert all(p.requires_grad for p in run.discriminator.parameters())   # restored after the G step
    run.fit(4, progress=False)
    d_state = run.d_optimizer.state[next(iter(run.discriminator.parameters()))]
    g_state = run.g_optimizer.state[next(iter(run.generator.parameters()))]
    assert int(d_state["step"]) == 1 + 3 * 4 and int(g_state["step"]) == 1 + 4


def test_history_logging_regularisers_and_callbacks(tmp_path):
    events = []

    class Recorder(Callback):
        def on_fit_start(self, trainer): events.append("start")
        def on_step_end(self, trainer): events.append(trainer.step)
        def on_fit_end(self, trainer): events.append("end")

    snaps = SampleSnapshots(every=5, n=10)
    run = ring_run(log_every=2, callbacks=[Recorder(), snaps, CheckpointEvery(tmp_path / "c.pt", every=4)],
                   regularizers={"r1ish": lambda critic, real, fake: 0.01 * critic(real).pow(2).mean()})
    history = run.fit(10, progress=False)
    assert history["step"] == [2, 4, 6, 8, 10]
    assert {"d_loss", "g_loss", "real_score", "fake_score", "d_real", "d_fake", "r1ish"} <= set(history)
    assert all(len(v) == 5 for v in history.values())
    assert events == ["start", *range(1, 11), "end"]
    assert [s for s, _ in snaps.snapshots] == [0, 5, 10] and snaps.snapshots[0][1].shape == (10, 2)
    fresh = ring_run(); fresh.load(tmp_path / "c.pt")
    assert fresh.step == 10                                    # the final save at the end of fit
    wgan = ring_run(loss="wasserstein"); wgan.fit(2, progress=False)
    assert "d_real" not in wgan.history                        # critic scores are not probabilities


class LabelledG(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.net = nn.Embedding(3, 4), mlp(2 + 4, 2)

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


class LabelledD(LabelledG):
    def __init__(self):
        super().__init__()
        self.net = mlp(2 + 4, 1)


def test_conditional_run_passes_labels():
    x, y = torch.randn(60, 2), torch.arange(60) % 3
    run = Trainer(LabelledG(), LabelledD(), make_batches((x, y), 12), latent_dim=2, conditional=True, device="cpu")
    run.fit(3, progress=False)
    out = run.sample(z=torch.zeros(3, 2), labels=torch.tensor([0, 1, 2]))
    assert out.shape == (3, 2) and not torch.allclose(out[0], out[1])   # the label changes the sample
    with pytest.raises(ValueError, match="labels"):
        run.sample(4)


def test_unconditional_run_ignores_labels_and_ema_lags():
    x, y = torch.randn(64, 2), torch.zeros(64, dtype=torch.long)
    run = Trainer(mlp(2, 2), mlp(2, 1), make_batches((x, y), 16), latent_dim=2, ema_decay=0.99, device="cpu")
    run.fit(20, progress=False)
    z = torch.randn(5, 2)
    assert not torch.allclose(run.sample(z=z), run.sample(z=z, use_ema=False))   # the EMA is a different G
    assert not run.generator_ema.training and run.generator.training


def test_nan_guard_names_the_step():
    data = make_batches(torch.cat([torch.randn(16, 1), torch.full((16, 1), float("inf"))]), 16, seed=0)
    run = Trainer(mlp(1, 1), mlp(1, 1), data, latent_dim=1, device="cpu")
    with pytest.raises(FloatingPointError, match=r"at step \d+"):
        run.fit(10, progress=False)


def test_weight_clipping_runs_after_every_critic_update():
    seen = []

    class Watch(Callback):                                     # runs after WeightClipping, in list order
        def on_discriminator_step_end(self, trainer):
            seen.append(max(p.abs().max().item() for p in trainer.discriminator.parameters()))

    run = ring_run(loss="wasserstein", d_steps=4, lr=0.1, callbacks=[WeightClipping(0.05), Watch()])
    run.fit(2, progress=False)
    assert len(seen) == 8 and max(seen) == pytest.approx(0.05)   # float32(0.05) is a hair above 0.05
    unclipped = ring_run(loss="wasserstein", d_steps=4, lr=0.1)
    unclipped.fit(2, progress=False)
    assert max(p.abs().max().item() for p in unclipped.discriminator.parameters()) > 0.05
    with pytest.raises(ValueError, match="`clip` must be a positive number"):
        WeightClipping(-1)


def test_resume_is_exact_with_replay_and_clipping(tmp_path):
    "The replay buffer is part of the checkpoint; gradient clipping changes nothing that resume needs."
    def run(init_seed=0):
        return ring_run(init_seed, grad_clip=1.0, replay=ExperienceReplay(capacity=40, fraction=0.5, seed=2))
    straight = run(); straight.fit(20, progress=False)
    first = run(); first.fit(10, progress=False); first.save(tmp_path / "ckpt.pt")
    resumed = run(init_seed=7); resumed.load(tmp_path / "ckpt.pt"); resumed.fit(10, progress=False)
    assert straight.history == resumed.history
    assert torch.equal(straight.replay.buffer, resumed.replay.buffer)
    assert all(torch.equal(p, q) for p, q in zip(straight.generator.parameters(), resumed.generator.parameters()))


def test_grad_clip_bounds_the_update():
    "With SGD, a clipped step moves the parameters by at most lr * grad_clip; the logged norm is the unclipped one."
    set_seed(0)
    G, D = mlp(2, 2), mlp(2, 1)
    before = params(D)
    run = Trainer(G, D, make_batches(ring_of_gaussians(radius=50.0), 16), latent_dim=2, device="cpu",
                  d_optimizer=lambda p: torch.optim.SGD(p, lr=0.1), grad_clip=0.01)
    run.fit(1, progress=False)
    step = torch.cat([(p - q).flatten() for p, q in zip(params(D), before)]).norm()
    assert run.history["d_grad_norm"][0] > 0.01 and step <= 0.1 * 0.01 * (1 + 1e-4)
    with pytest.raises(ValueError, match="`grad_clip` must be a positive number"):
        ring_run(grad_clip=-1)
    with pytest.raises(TypeError, match="`replay` must be callable"):
        ring_run(replay=3)
