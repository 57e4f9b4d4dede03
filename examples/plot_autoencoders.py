"""
=============================================================
Plain, denoising and sparse autoencoders beside PCA on digits
=============================================================

Fit :class:`skvae.AutoencoderTransformer` on 70% of scikit-learn's 8x8
digits (pixels / 16) three ways, each with 32 components: plain, denoising
(``denoising="gaussian"``, trained to clean rows with noise of half a pixel
standard deviation) and sparse (``sparsity=30``). Held-out digits with that
noise added (second row) are reconstructed by PCA, the plain and the
denoising autoencoder (rows three to five); the printed errors are against
the clean digits (first row). The sparse autoencoder's codes (right) are
mostly exact zeros.

Run it with ``python examples/plot_autoencoders.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skvae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X / 16.0, test_size=0.3, random_state=0, stratify=y)
rng = np.random.RandomState(0)
noisy = np.clip(X_test + 0.5 * X_train.std(axis=0) * rng.standard_normal(X_test.shape), 0, 1)

pca = PCA(n_components=32).fit(X_train)
plain = AutoencoderTransformer(n_components=32, random_state=0).fit(X_train)
denoising = AutoencoderTransformer(
    n_components=32, denoising="gaussian", noise_level=0.5, random_state=0
).fit(X_train)
sparse = AutoencoderTransformer(n_components=32, sparsity=30.0, random_state=0).fit(X_train)

rows = {
    "clean": X_test,
    "noisy": noisy,
    "PCA": pca.inverse_transform(pca.transform(noisy)),
    "autoencoder": plain.inverse_transform(plain.transform(noisy)),
    "denoising": denoising.inverse_transform(denoising.transform(noisy)),
}
for name in ("noisy", "PCA", "autoencoder", "denoising"):
    print(f"{name:>12}: mean squared error against the clean digits "
          f"{np.mean((rows[name] - X_test) ** 2):.4f}")
codes = sparse.transform(X_test)
print(f"sparse codes: {np.mean(codes == 0):.0%} exact zeros; held-out error "
      f"{np.mean((sparse.inverse_transform(codes) - X_test) ** 2):.4f} (plain: "
      f"{np.mean((plain.inverse_transform(plain.transform(X_test)) - X_test) ** 2):.4f})")

# %%
n_show = 12


def tile(images):
    grid = np.ones((len(images) * 9 - 1, n_show * 9 - 1))
    for r, row in enumerate(images):
        for c, image in enumerate(row[:n_show]):
            grid[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = 1 - np.clip(image.reshape(8, 8), 0, 1)
    return grid


fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
left.imshow(tile(list(rows.values())), cmap="gray")
left.set_yticks(np.arange(len(rows)) * 9 + 3.5, list(rows))
left.set_xticks([])
left.set_title("Held-out digits with noise, reconstructed (32 components)")
right.imshow(codes[:40].T > 0, cmap="Greys", aspect="auto", interpolation="nearest")
right.set_xlabel("held-out digit")
right.set_ylabel("code unit")
right.set_title(f"Sparse codes: {np.mean(codes == 0):.0%} exact zeros (white)")
fig.tight_layout()
plt.show()
