"""
======================================
2-D latent space of handwritten digits
======================================

Fit a :class:`skvae.VAETransformer` with two latent dimensions on
scikit-learn's 8x8 digits and draw the codes coloured by the true digit, beside
the first two principal components. The VAE is never shown the labels.
Then decode a grid of latent points to see what the model has learned.

Run it with ``python examples/plot_digits_latent_space.py``; it writes
``digits_latent_space.png`` next to where it is run.
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer

digits = load_digits()
# images go to [0, 1]; standardising would turn rare ink on blank border
# pixels into outliers of tens of standard deviations
scaler = MinMaxScaler().fit(digits.data)
X = scaler.transform(digits.data)

vae = VAETransformer(n_components=2, random_state=0).fit(X)
codes = vae.transform(X)
pca_codes = PCA(n_components=2, random_state=0).fit_transform(X)
print(f"ELBO per digit: {vae.score(X):.1f} nats, active latent units: "
      f"{vae.n_active_units_} of 2, epochs: {vae.n_iter_}")

# %%
# Codes coloured by class, and decoded images on a grid of latent points.
fig, axes = plt.subplots(1, 3, figsize=(16, 5))
for ax, Z, title in ((axes[0], pca_codes, "PCA"), (axes[1], codes, "VAETransformer")):
    points = ax.scatter(Z[:, 0], Z[:, 1], c=digits.target, cmap="tab10", s=6)
    ax.set_title(f"{title}: 2-D codes of the digits")
    low, high = np.percentile(Z, [0.5, 99.5], axis=0)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes[1], ticks=range(10), label="digit")

# a 12 x 12 grid over the central 98% of the codes, top row = largest z_1
(x0, y0), (x1, y1) = np.percentile(codes, [1, 99], axis=0)
zz = np.array([[x, y] for y in np.linspace(y1, y0, 12) for x in np.linspace(x0, x1, 12)])
images = scaler.inverse_transform(vae.inverse_transform(zz)).reshape(12, 12, 8, 8)
images = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))  # blank frame per digit
mosaic = images.transpose(0, 2, 1, 3).reshape(12 * 10, 12 * 10)
axes[2].imshow(mosaic, cmap="gray_r")
axes[2].set_title("Decoded grid over the VAE codes")
axes[2].axis("off")
fig.tight_layout()
fig.savefig("digits_latent_space.png", dpi=110)
