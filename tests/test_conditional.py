"""Behaviour of ConditionalVAE that users rely on."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import ConditionalVAE

FAST = dict(max_iter=5, hidden_layer_sizes=(16,), n_components=2, random_state=0)
CLASSES = np.array(["ant", "bee", "cat"])


def _style_data(n=2000, d=8, seed=0):
    """Three classes that differ by their mean and share a 2-D "style".

    ``x = means[y] + A @ s + noise`` with ``s ~ N(0, I_2)``: the class fixes
    the mean, the style ``s`` moves every class the same way. Returns the
    data, string labels, the styles and the generating parameters.
    """
    rng = np.random.RandomState(seed)
    means = 3.0 * rng.standard_normal((3, d))
    A = rng.standard_normal((d, 2))
    noise = 0.3
    idx = rng.randint(3, size=n)
    s = rng.standard_normal((n, 2))
    X = means[idx] + s @ A.T + noise * rng.standard_normal((n, d))
    return X, CLASSES[idx], s, (means, A, noise)


@pytest.fixture(scope="module")
def style():
    return _style_data()


@pytest.fixture(scope="module")
def fitted(style):
    X, y, _, _ = style
    return ConditionalVAE(n_components=2, max_iter=30, random_state=0).fit(X, y)


def test_generates_the_requested_classes(style, fitted):
    """Samples of class k are recognised as k by a classifier of real data."""
    X, y, _, _ = style
    judge = LogisticRegression(max_iter=1000).fit(X, y)
    requested = np.repeat(CLASSES, 200)
    X_new, y_new = fitted.sample(y=requested, random_state=1)
    assert X_new.shape == (600, X.shape[1])
    np.testing.assert_array_equal(y_new, requested)
    assert np.mean(judge.predict(X_new) == requested) > 0.95
    # and they vary as much as the real class does (no collapse to the mean)
    for label in CLASSES:
        spread_new = X_new[y_new == label].std(axis=0).mean()
        spread_real = X[y == label].std(axis=0).mean()
        assert 0.8 < spread_new / spread_real < 1.2, (label, spread_new, spread_real)


def test_style_codes_hold_the_style_not_the_class(style, fitted):
    """Measured: R^2 0.99 and a class accuracy of 0.35 (0.35 for the
    largest class alone). A small network (hidden_layer_sizes=(32,), 600
    rows, relu, no independence_weight) coded each class's style in its own
    rotation of the space (R^2 0.87, class accuracy 0.50): such codes are
    style within a class only.
    """
    X, y, s, _ = style
    codes = fitted.transform(X, y)
    # one linear map from codes to the true style serves every class...
    r2 = LinearRegression().fit(codes, s).score(codes, s)
    assert r2 > 0.93, r2
    # ...and the codes tell the classes apart hardly better than the
    # majority class does
    class_acc = LogisticRegression().fit(codes, y).score(codes, y)
    majority = max(np.mean(y == c) for c in CLASSES)
    assert class_acc < majority + 0.1, (class_acc, majority)


def test_style_transfer(style, fitted):
    """Encode as one class, decode as another: the style is kept.

    Measured: 0.21 RMS from the ideal transfer, against 1.41 for the cat's
    mean without any style (and a noise level of 0.3); 0.29 with
    independence_weight=0.
    """
    X, y, s, (means, A, noise) = style
    rows = np.flatnonzero(y == "ant")[:100]
    codes = fitted.transform(X[rows], y[rows])
    as_cat = fitted.inverse_transform(codes, "cat")
    expected = means[2] + s[rows] @ A.T  # the same style, the cat's mean
    error = np.sqrt(np.mean((as_cat - expected) ** 2))
    styleless = np.sqrt(np.mean((means[2] - expected) ** 2))
    assert error < 0.35 * styleless, (error, styleless)


def test_score_is_a_conditional_log_likelihood_bound():
    """On data drawn from a linear-Gaussian class-conditional model, a linear
    CVAE's conditional ELBO on held-out rows lands just below the true
    ``log p(x | y)``, constants included; the marginal score sums the
    classes out. Measured: 1.7% short (a dropped ``log(2 pi)`` per feature
    would be 7.4 nats, 115%, off). The linear model takes the larger step
    size of the other estimators to converge in 150 epochs (2.4% short at
    the default step size after 300).
    """
    X_all, y_all, _, (means, A, noise) = _style_data(n=3000)
    X, y, X_test, y_test = X_all[:2000], y_all[:2000], X_all[2000:], y_all[2000:]
    linear = dict(hidden_layer_sizes=(), learning_rate_init=3e-3, max_iter=150)
    cvae = ConditionalVAE(2, random_state=0, **linear).fit(X, y)
    cov = A @ A.T + noise**2 * np.eye(X.shape[1])
    exact = np.mean(
        [
            multivariate_normal(means[k], cov).logpdf(x)
            for x, k in zip(X_test, np.searchsorted(CLASSES, y_test), strict=True)
        ]
    )
    conditional = cvae.score(X_test, y_test)
    assert exact - 0.05 * abs(exact) < conditional < exact, (conditional, exact)
    X, y = X_test, y_test
    idx = np.searchsorted(CLASSES, y)
    # log p(x) >= log p(x | y) + log p(y), and the marginal score sums classes out
    per_class = np.column_stack([cvae.score_samples(X, np.full(len(X), c)) for c in CLASSES])
    marginal = cvae.score_samples(X)
    np.testing.assert_allclose(
        marginal, logsumexp(per_class + np.log(cvae.class_prior_), axis=1), rtol=1e-6
    )
    assert np.all(marginal >= cvae.score_samples(X, y) + np.log(cvae.class_prior_[idx]) - 1e-6)


def test_predict_is_bayes_over_the_class_bounds(style, fitted):
    X, y, _, _ = style
    X_test, y_test = _style_data(n=2600)[:2]
    X_test, y_test = X_test[2000:], y_test[2000:]  # rows not seen in fit
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X_test), CLASSES[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(fitted.predict_log_proba(X_test)), proba)
    assert np.mean(fitted.predict(X_test) == y_test) > 0.97
    np.testing.assert_array_equal(fitted.classes_, CLASSES)
    np.testing.assert_allclose(fitted.class_prior_.sum(), 1.0)


def test_transform_without_y_averages_over_the_inferred_class(style, fitted):
    X, y, _, _ = style
    proba = fitted.predict_proba(X[:20])
    expected = sum(
        proba[:, [k]] * fitted.transform(X[:20], np.full(20, c)) for k, c in enumerate(CLASSES)
    )
    np.testing.assert_allclose(fitted.transform(X[:20]), expected, rtol=1e-5, atol=1e-6)


def test_works_as_a_pipeline_step_and_in_a_search(style):
    X, y, _, _ = style
    pipe = make_pipeline(StandardScaler(), ConditionalVAE(**FAST), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    # GridSearchCV needs no scorer: score(X, y) is the conditional ELBO
    search = GridSearchCV(ConditionalVAE(**FAST), {"beta": [0.5, 1.0]}, cv=2).fit(X, y)
    assert np.all(search.cv_results_["mean_test_score"] < 0)  # nats, not accuracy
    search = GridSearchCV(
        ConditionalVAE(**FAST), {"beta": [0.5, 1.0]}, cv=2, scoring="accuracy"
    ).fit(X, y)
    assert np.all(search.cv_results_["mean_test_score"] > 0.5)


def test_sample_without_y_follows_the_class_frequencies(style):
    X, y, _, _ = style
    keep = (y != "cat") | (np.arange(len(y)) % 4 == 0)  # cats made rare
    cvae = ConditionalVAE(**FAST).fit(X[keep], y[keep])
    _, y_new = cvae.sample(3000, random_state=0)
    share = np.array([np.mean(y_new == c) for c in CLASSES])
    np.testing.assert_allclose(share, cvae.class_prior_, atol=0.03)
    assert cvae.class_prior_[2] < 0.15
    # a single label gives n_samples of it; seeded draws repeat
    X1, y1 = cvae.sample(4, y="bee")
    np.testing.assert_array_equal(y1, ["bee"] * 4)
    np.testing.assert_array_equal(X1, cvae.sample(4, y="bee")[0])


def test_learned_class_prior(style):
    X, y, _, _ = style
    cvae = ConditionalVAE(latent_prior="class", **{**FAST, "max_iter": 30}).fit(X, y)
    assert cvae.class_latent_means_.shape == (3, 2)
    assert cvae.class_latent_variances_.shape == (3, 2)
    assert not np.allclose(cvae.class_latent_means_, 0)
    # each class's Gaussian sits where its rows' codes are, and is at least
    # as wide as their spread; measured: means within 0.02 sd, spread 0.01 to
    # 0.5 of the variance, seeds 0 and 1
    Z = cvae.transform(X, y)
    for k, label in enumerate(cvae.classes_):
        sd = np.sqrt(cvae.class_latent_variances_[k])
        codes = Z[y == label]
        assert np.all(np.abs(codes.mean(axis=0) - cvae.class_latent_means_[k]) < 0.25 * sd)
        assert np.all(codes.var(axis=0) < 1.1 * cvae.class_latent_variances_[k])
    standard = ConditionalVAE(**FAST).fit(X, y)
    np.testing.assert_array_equal(standard.class_latent_means_, 0)
    np.testing.assert_array_equal(standard.class_latent_variances_, 1)


def test_dataframe_input_keeps_its_column_names(style):
    X, y, _, _ = style
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "X does not have valid feature names"
        cvae = ConditionalVAE(**FAST).fit(frame, pd.Series(y, name="kind"))
        codes = cvae.set_output(transform="pandas").transform(frame, y)
    np.testing.assert_array_equal(cvae.feature_names_in_, frame.columns)
    assert list(codes.columns) == ["conditionalvae0", "conditionalvae1"]


def test_integer_labels_and_seeds(style):
    X, y, _, _ = style
    y_int = np.searchsorted(CLASSES, y) * 10
    a = ConditionalVAE(**FAST).fit(X, y_int)
    b = clone(a).fit(X, y_int)
    np.testing.assert_array_equal(a.classes_, [0, 10, 20])
    np.testing.assert_array_equal(a.transform(X, y_int), b.transform(X, y_int))
    np.testing.assert_array_equal(a.sample(5, y=20)[0], b.sample(5, y=20)[0])
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(restored.score_samples(X, y_int), a.score_samples(X, y_int))


def test_bad_inputs_get_clear_errors(style):
    X, y, _, _ = style
    with pytest.raises(TypeError, match="'y'"):
        ConditionalVAE(**FAST).fit(X)
    with pytest.raises(ValueError, match="requires y"):
        ConditionalVAE(**FAST).fit(X, None)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ConditionalVAE(**FAST).fit(X, np.full(len(X), "ant"))
    with pytest.raises(ValueError, match="Unknown label type"):
        ConditionalVAE(**FAST).fit(X, np.linspace(0, 1, len(X)))
    cvae = ConditionalVAE(**FAST)
    with pytest.raises(NotFittedError):
        cvae.sample(2, y="ant")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cvae.fit(X, y[:5])
    assert not hasattr(cvae, "classes_")  # the failed fit left nothing behind
    cvae.fit(X, y)
    with pytest.raises(ValueError, match=r"'dog', which is not a class seen during fit"):
        cvae.sample(2, y="dog")
    with pytest.raises(ValueError, match="not a class seen during fit"):
        cvae.transform(X[:2], ["ant", "dog"])
    with pytest.raises(ValueError, match="y has 2 entries but there are 3 rows"):
        cvae.inverse_transform(np.zeros((3, 2)), ["ant", "bee"])
    with pytest.raises(ValueError, match="one sample is drawn per entry"):
        cvae.sample(5, y=["ant", "bee"])
    with pytest.raises(ValueError, match="n_components=2"):
        cvae.inverse_transform(np.zeros((3, 4)), "ant")
    # a warm start cannot add classes the network was not built for
    warm = ConditionalVAE(warm_start=True, **FAST).fit(X[y != "cat"], y[y != "cat"])
    with pytest.raises(ValueError, match="'cat', which is not a class"):
        warm.fit(X, y)
    assert hasattr(warm, "net_")  # and keeps its trained net
