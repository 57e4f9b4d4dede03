"""
======================================
2-D latent space of handwritten digits
======================================

Fit a :class:`skvae.VAETransformer` with two latent dimensions on
scikit-learn's 8x8 digits and look at what it learned with the Displays of
:mod:`skvae.plotting`: the codes coloured by the true digit (the VAE is never
shown the labels) beside the first two principal components, the decoded
manifold, an interpolation between two digits, reconstructions and the
training curve with the KL of each latent dimension.

Run it with ``python examples/plot_digits_latent_space.py``.
"""

# %%
# Fit the VAE
# -----------
# Pixels go to [0, 1]: standardising would turn rare ink on blank border
# pixels into outliers of tens of standard deviations.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skvae import VAETransformer
from skvae.plotting import (
    InterpolationDisplay,
    LatentSpaceDisplay,
    ManifoldDisplay,
    ReconstructionDisplay,
    TrainingDisplay,
)

X, y = load_digits(return_X_y=True)
X = X / 16.0
vae = VAETransformer(n_components=2, random_state=0).fit(X)
print(f"ELBO per digit: {vae.score(X):.1f} nats, active latent units: "
      f"{vae.n_active_units_} of 2, epochs: {vae.n_iter_}")

# %%
# The codes, beside PCA
# ---------------------
# :class:`~skvae.plotting.LatentSpaceDisplay` draws the posterior means;
# PCA's first two components go through the same Display (``from_codes``).
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
pca_codes = PCA(n_components=2, random_state=0).fit_transform(X)
LatentSpaceDisplay.from_codes(pca_codes, y, color_label="digit", estimator_name="PCA",
                              ax=left)
LatentSpaceDisplay.from_estimator(vae, X, y, ax=right)
fig.tight_layout()

# %%
# The decoded manifold
# --------------------
# The decoder's means on a 12 x 12 grid spanning the central 90% of the codes.
ManifoldDisplay.from_estimator(vae, X, n_points=12, image_shape=(8, 8))
plt.gcf().set_size_inches(6, 6)

# %%
# Interpolation and reconstructions
# ---------------------------------
# A path between the codes of a 0 and a 1 (great-circle, which keeps the
# codes at a typical distance from the prior's centre), and the first eight
# digits above their reconstructions.
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4))
InterpolationDisplay.from_estimator(vae, X, rows=(0, 1), n_steps=8, method="spherical",
                                    image_shape=(8, 8), ax=top)
ReconstructionDisplay.from_estimator(vae, X, n_rows=10, image_shape=(8, 8), ax=bottom)
fig.tight_layout()

# %%
# Training
# --------
# The loss of each epoch and the KL divergence of each latent dimension from
# the prior: a dimension near zero would carry no information.
TrainingDisplay.from_estimator(vae)
plt.show()
