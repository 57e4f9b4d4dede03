"""The Displays of skvae.plotting, drawn on the Agg backend: what each one draws."""

import sys

import numpy as np
import pytest
from helpers import tags, takes_y
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import (
    AutoencoderTransformer,
    ConditionalVAE,
    GMVAEClusterer,
    VAEOutlierDetector,
    VAETransformer,
    all_estimators,
)
from skvae.plotting import (
    InterpolationDisplay,
    LatentSpaceDisplay,
    ManifoldDisplay,
    OutlierScoreDisplay,
    ReconstructionDisplay,
    SampleGridDisplay,
    TrainingDisplay,
)
from skvae.plotting._reconstruction import _slerp

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

FAST = dict(max_iter=4, hidden_layer_sizes=(32,), random_state=0, device="cpu")
IMAGE = (1, 8, 8)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data[:300] / 16.0, data.target[:300]


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits_vae(digits):
    return VAETransformer(n_components=2, **FAST).fit(digits[0])


@pytest.fixture(scope="module")
def wine_vae(wine):
    return VAETransformer(n_components=4, early_stopping=True, **FAST).fit(wine[0])


def _cell(mosaic, i, j, size=8, gap=1):
    """Picture (i, j) of a mosaic of 8 x 8 pictures."""
    top, left = i * (size + gap), j * (size + gap)
    return mosaic[top : top + size, left : left + size]


# --------------------------------------------------------------- latent space


def test_latent_space_draws_the_codes_coloured_by_class(digits, digits_vae):
    X, y = digits
    display = LatentSpaceDisplay.from_estimator(digits_vae, X, y)
    np.testing.assert_allclose(display.scatter_.get_offsets(), digits_vae.transform(X))
    assert [t.get_text() for t in display.legend_.get_texts()] == [str(c) for c in range(10)]
    assert display.legend_.get_title().get_text() == "class"
    assert display.colorbar_ is None
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("z1", "z2")
    assert display.figure_ is display.ax_.figure


def test_latent_space_of_longer_codes_projects_or_picks_dimensions(wine, wine_vae):
    X, y = wine
    codes = wine_vae.transform(X)
    projected = LatentSpaceDisplay.from_estimator(wine_vae, X, y)
    expected = PCA(n_components=2, svd_solver="full").fit_transform(codes)
    np.testing.assert_allclose(projected.scatter_.get_offsets(), expected, atol=1e-9)
    # codes computed elsewhere go through the same projection
    given = LatentSpaceDisplay.from_codes(codes, y, color_label="class")
    np.testing.assert_allclose(given.scatter_.get_offsets(), expected, atol=1e-9)
    assert [t.get_text() for t in given.legend_.get_texts()] == ["0", "1", "2"]
    picked = LatentSpaceDisplay.from_estimator(wine_vae, X, dims=(1, 3))
    np.testing.assert_allclose(picked.scatter_.get_offsets(), codes[:, [1, 3]])
    assert picked.ax_.get_xlabel() == "z2" and picked.legend_ is None
    # on a given Axes
    fig, ax = plt.subplots()
    assert LatentSpaceDisplay.from_estimator(wine_vae, X, dims=(0, 1), ax=ax).ax_ is ax


def test_latent_space_colours_clusters_and_outlier_scores(wine):
    X, _ = wine
    gmvae = GMVAEClusterer(n_clusters=3, n_components=2, **FAST).fit(X)
    clusters = LatentSpaceDisplay.from_estimator(gmvae, X)
    assert clusters.legend_.get_title().get_text() == "cluster"
    np.testing.assert_array_equal(
        np.unique(clusters.scatter_.get_array()), np.unique(gmvae.predict(X)).astype(float)
    )
    detector = VAEOutlierDetector(n_components=2, **FAST).fit(X)
    scores = LatentSpaceDisplay.from_estimator(detector, X)
    assert scores.colorbar_ is not None and scores.legend_ is None
    np.testing.assert_allclose(scores.scatter_.get_array(), detector.score_samples(X))


def test_latent_space_reads_whole_numbers_and_strings_as_classes(wine, wine_vae):
    X, y = wine
    as_floats = LatentSpaceDisplay.from_estimator(wine_vae, X, y.astype(float))
    assert as_floats.legend_ is not None and as_floats.colorbar_ is None
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    named = LatentSpaceDisplay.from_estimator(wine_vae, X, names)
    assert [t.get_text() for t in named.legend_.get_texts()] == sorted(set(names))
    scores = LatentSpaceDisplay.from_estimator(wine_vae, X, color=np.linspace(0, 1, len(X)))
    assert scores.colorbar_ is not None and scores.legend_ is None


def test_latent_space_axes_can_leave_out_a_few_far_points():
    rng = np.random.RandomState(0)
    codes = rng.normal(size=(200, 2))
    codes[:3] = [[40.0, 0.0], [0.0, -60.0], [30.0, 30.0]]  # three far codes
    display = LatentSpaceDisplay.from_codes(codes, quantile_range=(0.01, 0.99))
    (x0, x1), (y0, y1) = display.ax_.get_xlim(), display.ax_.get_ylim()
    assert x1 < 5 and y0 > -5  # the far codes do not set the axes
    outside = (codes[:, 0] < x0) | (codes[:, 0] > x1) | (codes[:, 1] < y0) | (codes[:, 1] > y1)
    assert display.n_outside_ == outside.sum() and 3 <= outside.sum() <= 10
    notes = [t.get_text() for t in display.ax_.texts]
    assert notes == [f"{outside.sum()} of 200 points lie outside the axes (they span the 0.01 "
                     "to 0.99 quantiles)"]
    everything = LatentSpaceDisplay.from_codes(codes)
    assert everything.n_outside_ == 0 and everything.ax_.get_xlim()[1] > 30
    assert not everything.ax_.texts
    for bad in [(0.9, 0.1), (0.0, 1.5), (0.5,), "robust", "01"]:
        with pytest.raises(ValueError, match="quantile_range must be two quantiles"):
            LatentSpaceDisplay.from_codes(codes, quantile_range=bad)


def test_latent_space_refuses_codes_it_cannot_draw():
    codes = np.zeros((5, 2))
    codes[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"1 of the 5 codes hold NaN or infinite values"):
        LatentSpaceDisplay.from_codes(codes, quantile_range=(0.01, 0.99))
    with pytest.raises(ValueError, match="no codes to draw"):
        LatentSpaceDisplay.from_codes(np.zeros((0, 2)))


def test_sample_grid_profiles_name_their_features():
    samples = np.arange(24, dtype=float).reshape(2, 3, 4)
    display = SampleGridDisplay(
        samples, ["a", "b"], feature_names=["w", "x", "y", "z"], value_label="z-score"
    ).plot()
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["w", "x", "y", "z"]
    assert display.ax_.get_ylabel() == "z-score"
    with pytest.raises(ValueError, match="3 names for 4 features"):
        SampleGridDisplay(samples, ["a", "b"], feature_names=["w", "x", "y"]).plot()
    with pytest.raises(ValueError, match="not one string"):
        SampleGridDisplay(samples, ["a", "b"], feature_names="wxyz").plot()
    with pytest.raises(ValueError, match="3 labels for 2 groups"):
        SampleGridDisplay(samples, ["a", "b", "c"]).plot()
    with pytest.raises(ValueError, match=r"shape \(n_groups, n_per_group, n_features\)"):
        SampleGridDisplay(samples[0], ["a", "b", "c"]).plot()


def test_latent_space_errors(wine, wine_vae):
    X, _ = wine
    one = VAETransformer(n_components=1, **FAST).fit(X)
    with pytest.raises(ValueError, match="n_components >= 2"):
        LatentSpaceDisplay.from_estimator(one, X)
    for dims in [(0, 4), (1, 1), (0, 1.5)]:
        with pytest.raises(ValueError, match="dims must be two different latent dimensions"):
            LatentSpaceDisplay.from_estimator(wine_vae, X, dims=dims)
    with pytest.raises(ValueError, match="n_points must be an integer of at least 2"):
        ManifoldDisplay.from_estimator(wine_vae, n_points=1)
    for bad in (2.5, True):
        with pytest.raises(ValueError, match="n_samples must be a positive integer"):
            SampleGridDisplay.from_estimator(wine_vae, n_samples=bad)
    with pytest.raises(ValueError, match="rows must be row indices of X"):
        ReconstructionDisplay.from_estimator(wine_vae, X, rows=[0, 178])
    with pytest.raises(ValueError, match="row must be a row index of X"):
        OutlierScoreDisplay.from_estimator(
            VAEOutlierDetector(n_components=2, **FAST).fit(X), X, row=-179
        )
    with pytest.raises(ValueError, match="one value per row"):
        LatentSpaceDisplay.from_estimator(wine_vae, X, color=np.ones(3))
    with pytest.raises(NotFittedError):
        LatentSpaceDisplay.from_estimator(VAETransformer(), X)


# ------------------------------------------------------------------ manifold


def test_manifold_of_images_decodes_the_prior_quantiles(digits_vae):
    display = ManifoldDisplay.from_estimator(digits_vae, n_points=5, image_shape=IMAGE)
    mosaic = display.image_.get_array()
    assert mosaic.shape == (5 * 9 - 1, 5 * 9 - 1)
    # top left: the smallest z1 and the largest z2
    assert display.grid_x[0] < display.grid_x[-1] and display.grid_y[0] > display.grid_y[-1]
    corner = digits_vae.inverse_transform([[display.grid_x[0], display.grid_y[0]]])
    np.testing.assert_allclose(_cell(mosaic, 0, 0), corner.reshape(8, 8))
    # the 5%, 27.5%, 50%, 72.5% and 95% quantiles of N(0, 1)
    np.testing.assert_allclose(display.grid_x, [-1.6449, -0.5978, 0, 0.5978, 1.6449], atol=1e-4)


def test_manifold_of_tabular_rows_draws_a_profile_per_cell(wine, wine_vae):
    X, _ = wine
    display = ManifoldDisplay.from_estimator(wine_vae, X, dims=(0, 2), n_points=4)
    assert display.image_ is None and display.lines_.shape == (4, 4)
    assert all(len(line.get_ydata()) == X.shape[1] for line in display.lines_.ravel())
    codes = wine_vae.transform(X)
    np.testing.assert_allclose(display.grid_x[[0, -1]], np.quantile(codes[:, 0], [0.05, 0.95]))
    assert display.ax_.get_xlabel() == "z1" and display.ax_.get_ylabel() == "z3"


def test_manifold_needs_a_decoder_a_class_or_data(wine):
    X, y = wine
    cvae = ConditionalVAE(n_components=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="pass y, one class label, one of"):
        ManifoldDisplay.from_estimator(cvae)
    assert ManifoldDisplay.from_estimator(cvae, y=1, n_points=3).lines_.shape == (3, 3)
    ae = AutoencoderTransformer(n_components=2, **FAST).fit(X)
    with pytest.raises(ValueError, match="pass X"):
        ManifoldDisplay.from_estimator(ae)
    assert ManifoldDisplay.from_estimator(ae, X, n_points=3).lines_.shape == (3, 3)
    gmvae = GMVAEClusterer(n_clusters=3, n_components=2, **FAST).fit(X)
    with pytest.raises(TypeError, match="inverse_transform"):
        ManifoldDisplay.from_estimator(gmvae, X)


# -------------------------------------------------------------- interpolation


def test_interpolation_strip_of_images(digits, digits_vae):
    X, _ = digits
    display = InterpolationDisplay.from_estimator(
        digits_vae, X, rows=(3, 7), n_steps=6, image_shape=IMAGE
    )
    mosaic = display.image_.get_array()
    assert mosaic.shape == (8, 8 * 9 - 1)  # the two inputs and six steps
    np.testing.assert_allclose(_cell(mosaic, 0, 0), X[3].reshape(8, 8))
    ends = digits_vae.inverse_transform(digits_vae.transform(X[[3, 7]]))
    np.testing.assert_allclose(_cell(mosaic, 0, 1), ends[0].reshape(8, 8))
    np.testing.assert_allclose(_cell(mosaic, 0, 6), ends[1].reshape(8, 8))


def test_interpolation_of_tabular_rows_and_spherical_paths(wine, wine_vae):
    X, _ = wine
    display = InterpolationDisplay.from_estimator(
        wine_vae, X, n_steps=5, method="spherical", show_inputs=False
    )
    assert display.image_ is None and len(display.lines_) == 5
    with pytest.raises(ValueError, match="linear"):
        InterpolationDisplay.from_estimator(wine_vae, X, method="cubic")
    with pytest.raises(ValueError, match="rows must be two row indices"):
        InterpolationDisplay.from_estimator(wine_vae, X, rows=(0, 500))


def test_slerp_keeps_the_norm_between_codes_of_equal_norm():
    a, b = np.array([3.0, 0.0, 0.0]), np.array([0.0, 0.0, 3.0])
    path = _slerp(a, b, np.linspace(0, 1, 7))
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0)
    np.testing.assert_allclose(_slerp(a, a, np.array([0.5])), [a])


# ------------------------------------------------------------ reconstruction


def test_reconstruction_of_images_inputs_above_reconstructions(digits, digits_vae):
    X, _ = digits
    display = ReconstructionDisplay.from_estimator(digits_vae, X, n_rows=5, image_shape=IMAGE)
    mosaic = display.image_.get_array()
    assert mosaic.shape == (2 * 9 - 1, 5 * 9 - 1)
    recon = digits_vae.inverse_transform(digits_vae.transform(X[:5]))
    for j in range(5):
        np.testing.assert_allclose(_cell(mosaic, 0, j), X[j].reshape(8, 8))
        np.testing.assert_allclose(_cell(mosaic, 1, j), recon[j].reshape(8, 8))


def test_reconstruction_of_tabular_rows_as_bars(wine, wine_vae):
    X, y = wine
    display = ReconstructionDisplay.from_estimator(wine_vae, X, rows=[10, 20, 30])
    assert len(display.axes_) == 3 and display.image_ is None
    assert [a.get_ylabel() for a in display.axes_] == ["row 10", "row 20", "row 30"]
    recon = wine_vae.inverse_transform(wine_vae.transform(X[[10, 20, 30]]))
    for i, (inputs, outputs) in enumerate(display.bars_):
        np.testing.assert_allclose([p.get_height() for p in inputs], X[[10, 20, 30]][i])
        np.testing.assert_allclose([p.get_height() for p in outputs], recon[i])
    cvae = ConditionalVAE(n_components=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="pass y"):
        ReconstructionDisplay.from_estimator(cvae, X)
    assert len(ReconstructionDisplay.from_estimator(cvae, X, y, n_rows=2).axes_) == 2


# ---------------------------------------------------------------- sample grid


def test_sample_grid_one_row_per_class(digits):
    X, y = digits
    cvae = ConditionalVAE(n_components=2, **FAST).fit(X, y)
    display = SampleGridDisplay.from_estimator(cvae, n_samples=4, image_shape=IMAGE)
    mosaic = display.image_.get_array()
    assert mosaic.shape == (10 * 9 - 1, 4 * 9 - 1)
    expected = cvae.sample(4, y=3, random_state=0, noise=False)[0]
    np.testing.assert_allclose(_cell(mosaic, 3, 2), expected[2].reshape(8, 8))
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == [str(c) for c in range(10)]


def test_sample_grid_of_clusters_and_of_the_prior(wine, wine_vae):
    X, _ = wine
    gmvae = GMVAEClusterer(n_clusters=3, n_components=2, **FAST).fit(X)
    clusters = SampleGridDisplay.from_estimator(gmvae, n_samples=5, groups=[0, 2])
    assert [line.get_label() for line in clusters.lines_] == ["cluster 0", "cluster 2"]
    expected = gmvae.sample(5, random_state=0, cluster=2, noise=False)[0].mean(axis=0)
    np.testing.assert_allclose(clusters.lines_[1].get_ydata(), expected)
    prior = SampleGridDisplay.from_estimator(wine_vae, n_samples=5)
    assert [line.get_label() for line in prior.lines_] == ["prior"]
    with pytest.raises(ValueError, match="groups must be None"):
        SampleGridDisplay.from_estimator(wine_vae, groups=[0])


# ------------------------------------------------------------------- training


def test_training_curves_and_kl_bars(wine_vae):
    display = TrainingDisplay.from_estimator(wine_vae)
    assert len(display.axes_) == 2
    np.testing.assert_allclose(display.loss_line_.get_ydata(), wine_vae.loss_curve_)
    np.testing.assert_allclose(
        display.validation_line_.get_ydata(), wine_vae.validation_loss_curve_
    )
    np.testing.assert_allclose([b.get_height() for b in display.kl_bars_], wine_vae.kl_per_dim_)
    assert f"{wine_vae.n_active_units_} of 4" in display.axes_[1].get_title()
    # one Axes: the curves only
    fig, ax = plt.subplots()
    only = TrainingDisplay.from_estimator(wine_vae, ax=ax)
    assert only.kl_bars_ is None and list(only.axes_) == [ax]


def test_training_display_of_an_autoencoder_has_no_kl(wine):
    ae = AutoencoderTransformer(n_components=2, **FAST).fit(wine[0])
    display = TrainingDisplay.from_estimator(ae)
    assert len(display.axes_) == 1 and display.validation_line_ is None
    with pytest.raises(NotFittedError):
        TrainingDisplay.from_estimator(VAETransformer())


# --------------------------------------------------------------- outlier score


def test_outlier_scores_histogram_threshold_and_feature_scores(wine):
    X, y = wine
    detector = VAEOutlierDetector(n_components=2, **FAST).fit(X)
    is_outlier = y == 2
    display = OutlierScoreDisplay.from_estimator(detector, X, is_outlier, row=5)
    counts = [sum(p.get_height() for p in bars) for bars in display.hist_]
    assert counts == [np.sum(~is_outlier), np.sum(is_outlier)]
    assert display.threshold_line_.get_xdata()[0] == detector.offset_
    feature_scores = detector.score_features(X[[5]])[0]
    assert len(display.feature_bars_) == X.shape[1]
    np.testing.assert_allclose(
        [b.get_width() for b in display.feature_bars_], np.sort(feature_scores)
    )
    names = [f"f{j}" for j in range(X.shape[1])]
    named = OutlierScoreDisplay.from_estimator(detector, X, row=5, feature_names=names)
    labels = [t.get_text() for t in named.axes_[1].get_yticklabels()]
    assert labels == [names[j] for j in np.argsort(feature_scores)]
    with pytest.raises(ValueError, match="one name per feature"):
        OutlierScoreDisplay.from_estimator(detector, X, row=5, feature_names=names[:3])
    alone = OutlierScoreDisplay.from_estimator(detector, X)
    assert len(alone.hist_) == 1 and alone.feature_bars_ is None
    with pytest.raises(ValueError, match="True or 1 for an outlier"):
        OutlierScoreDisplay.from_estimator(detector, X, y)
    with pytest.raises(TypeError, match="offset_"):
        OutlierScoreDisplay.from_estimator(VAETransformer(**FAST).fit(X), X)


def test_missing_matplotlib_names_the_extra(monkeypatch, wine_vae):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skvae\[plot\]"):
        TrainingDisplay.from_estimator(wine_vae)


# ----------------------------------------------------------- every estimator


def _bare(est):
    return est


def _scaled(est):
    # the pipeline the README recommends
    return make_pipeline(StandardScaler(), est)


def _column_transformed(est):
    # earlier steps that cannot be inverted: pictures stay in the model's units
    return make_pipeline(ColumnTransformer([("scale", StandardScaler(), slice(0, 12))]), est)


@pytest.mark.parametrize("wrap", [_bare, _scaled, _column_transformed])
@pytest.mark.parametrize("name, cls", all_estimators())
def test_every_display_that_applies_draws_for_every_estimator(name, cls, wrap, wine):
    # tabular rows, and images through image_shape; each Display an estimator's
    # tags say applies draws something, for the estimator and for a Pipeline
    # ending in it
    from helpers import cheap

    X, y = wine
    X = X[:, :12]  # 12 features: also 3 x 4 images
    params = {"max_iter": 2, "random_state": 0, "device": "cpu", **cheap(cls)}
    if tags(cls).codes == "discrete":
        params["n_components"] = 2
    est = wrap(cls(**params))
    est.fit(X, y) if takes_y(cls) else est.fit(X)
    t = tags(cls)
    labels = {"y": y} if takes_y(cls) else {}
    drawn = [TrainingDisplay.from_estimator(est), LatentSpaceDisplay.from_estimator(est, X, y)]
    if t.codes is not None and t.decodes:
        one_class = {"y": y[0]} if labels else {}
        if t.codes != "discrete":
            drawn.append(ManifoldDisplay.from_estimator(est, X, n_points=3, **one_class))
        drawn.append(InterpolationDisplay.from_estimator(
            est, X, n_steps=3, image_shape=(3, 4), **one_class))
        drawn.append(ReconstructionDisplay.from_estimator(est, X, n_rows=2, **labels))
    if t.samples is not None:
        drawn.append(SampleGridDisplay.from_estimator(est, n_samples=2, image_shape=(3, 4)))
    if t.outlier_scores:
        drawn.append(OutlierScoreDisplay.from_estimator(est, X, row=0))
    for display in drawn:
        assert display.figure_.get_axes()
        artists = [a for ax in display.figure_.get_axes() for a in ax.get_children()]
        assert artists
    noted = [d for d in drawn if getattr(d, "units_note_", None)]
    if wrap is _column_transformed:
        # every Display that draws rows or features (all but the training
        # curves and the codes) says they are not X's
        assert len(noted) == len(drawn) - 2
    else:
        # rows come back in X's units; only the detector's feature scores
        # stay the features it sees, after the earlier steps
        assert len(noted) == (wrap is _scaled and t.outlier_scores)


def test_displays_of_a_pipeline_draw_in_the_units_of_X():
    # raw wine features (scales from 0.1 to 1,000): the model sees them
    # standardised, the pictures show them as they are
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), VAETransformer(n_components=2, **FAST)).fit(X)
    scaler, vae = pipe[0], pipe[-1]
    recon = ReconstructionDisplay.from_estimator(pipe, X, rows=[0, 5])
    np.testing.assert_allclose(recon.inputs, X[[0, 5]])
    expected = scaler.inverse_transform(vae.inverse_transform(pipe.transform(X[[0, 5]])))
    np.testing.assert_allclose(recon.reconstructions, expected, rtol=1e-6)
    assert recon.units_note_ is None
    samples = SampleGridDisplay.from_estimator(pipe, n_samples=3, random_state=0)
    expected = scaler.inverse_transform(vae.sample(3, random_state=0, noise=False))
    np.testing.assert_allclose(samples.samples[0], expected, rtol=1e-6)
    latent = LatentSpaceDisplay.from_estimator(pipe, X, y)
    np.testing.assert_allclose(latent.codes, pipe.transform(X))
    # a Pipeline that does not end in an skvae estimator is refused clearly
    with pytest.raises(TypeError, match="skvae estimator"):
        ReconstructionDisplay.from_estimator(make_pipeline(StandardScaler()).fit(X), X)


def test_displays_of_awkward_pipelines_fall_back_or_refuse_clearly(wine):
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import FunctionTransformer

    X, y = wine
    X = X[:, :6] + 5.0  # positive, for the log
    # steps with an inverse_transform that fails, or that scikit-learn makes
    # the identity: pictures stay in the model's units, and say so
    for first in (SimpleImputer(), FunctionTransformer(np.log)):
        pipe = make_pipeline(first, VAETransformer(n_components=2, **FAST)).fit(X)
        display = ReconstructionDisplay.from_estimator(pipe, X, rows=[0, 1])
        assert type(first).__name__ in display.units_note_
        np.testing.assert_allclose(display.inputs, first.transform(X[:2]))
        samples = SampleGridDisplay.from_estimator(pipe, n_samples=2)
        assert samples.units_note_ == display.units_note_
    # a conditional model's classes: one per row of X, or one label to decode
    cvae = make_pipeline(StandardScaler(), ConditionalVAE(n_components=2, **FAST)).fit(X, y)
    with pytest.raises(ValueError, match="one class per row of X"):
        ReconstructionDisplay.from_estimator(cvae, X, y[:3], rows=[100, 101])
    with pytest.raises(ValueError, match="one class label"):
        ManifoldDisplay.from_estimator(cvae, X, y=y)
    with pytest.raises(ValueError, match="one class label"):
        InterpolationDisplay.from_estimator(cvae, X, y=y)
    vae = make_pipeline(StandardScaler(), VAETransformer(n_components=2, **FAST)).fit(X)
    with pytest.raises(ValueError, match="drop y"):
        InterpolationDisplay.from_estimator(vae, X, y=1)
    # arguments a Display checks itself
    with pytest.raises(ValueError, match="image_shape"):
        ReconstructionDisplay.from_estimator(vae, X, image_shape=(-2, -3))
    with pytest.raises(ValueError, match="image_shape"):
        ReconstructionDisplay.from_estimator(vae, X, image_shape=(4, 3, 2))
    with pytest.raises(ValueError, match="at most 100"):
        ManifoldDisplay.from_estimator(vae, n_points=10**5)
    with pytest.raises(ValueError, match="at least one class"):
        SampleGridDisplay.from_estimator(cvae, groups=[])
    with pytest.raises(TypeError, match="best_estimator_"):
        search = GridSearchCV(VAETransformer(n_components=2, **FAST), {"beta": [1.0]}, cv=2)
        LatentSpaceDisplay.from_estimator(search.fit(X), X)
    # a detector in a pipeline names the features it scores
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)])
    detector = make_pipeline(StandardScaler(), VAEOutlierDetector(n_components=2, **FAST))
    detector.set_output(transform="pandas").fit(frame)
    display = OutlierScoreDisplay.from_estimator(detector, frame, row=0)
    assert list(display.feature_names) == list(frame.columns)
    with pytest.raises(ValueError, match="bins"):
        OutlierScoreDisplay.from_estimator(detector, frame, bins=0)


def test_outlier_scores_of_minus_infinity_are_drawn_and_counted(wine):
    # -inf is a valid score (a row beyond anything the model explains)
    X, _ = wine
    detector = VAEOutlierDetector(n_components=2, **FAST).fit(X)
    odd = X.copy()
    odd[0, 0], odd[1, 1] = 1e300, -1e300
    assert np.isneginf(detector.score_samples(odd)[:2]).all()
    display = OutlierScoreDisplay.from_estimator(detector, odd)
    assert display.n_infinite_ == 2 and "2 row(s) score -inf" in display.axes_[0].get_title()
    assert sum(p.get_height() for p in display.hist_[0]) == len(X)
