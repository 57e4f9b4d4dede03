"""
===================================================
Two stochastic layers: a hierarchical VAE on digits
===================================================

Fit a :class:`skvae.HierarchicalVAETransformer` with layers of 16 and 4
dimensions and a :class:`skvae.VAETransformer` with 20 on 70% of
scikit-learn's 8x8 digits, binarised, with a Bernoulli likelihood; their
held-out importance-weighted bounds on ``log p(x)`` are printed side by side.
Left: the top layer's codes of held-out digits (first two of four
dimensions), coloured by class. Right: samples, every layer drawn from the
generative model, top down.

Run it with ``python examples/plot_hierarchical_vae.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skvae import HierarchicalVAETransformer, VAETransformer

X, y = load_digits(return_X_y=True)
X = (X / 16.0 > 0.5).astype(float)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
common = dict(likelihood="bernoulli", random_state=0)
hvae = HierarchicalVAETransformer(n_components=(16, 4), **common).fit(X_train)
vae = VAETransformer(n_components=20, **common).fit(X_train)
for name, model in (("two layers (16, 4)", hvae), ("one layer (20)", vae)):
    bound = model.score(X_test, n_draws=500, importance_weighted=True)
    print(f"{name}: held-out importance-weighted bound {bound:.2f} nats per digit")
print("KL per dimension, bottom layer then top:", np.round(hvae.kl_per_dim_, 2))

# %%
top = hvae.transform(X_test)
samples = hvae.sample(40, random_state=0, noise=False)
grid = np.ones((4 * 9 - 1, 10 * 9 - 1))
for i, image in enumerate(samples):
    r, c = divmod(i, 10)
    grid[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = 1 - image.reshape(8, 8)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.4]})
points = left.scatter(top[:, 0], top[:, 1], c=y_test, cmap="tab10", s=8)
left.legend(*points.legend_elements(), title="digit", fontsize=7, loc="best")
left.set_title("Top-layer codes of held-out digits")
right.imshow(grid, cmap="gray")
right.set_axis_off()
right.set_title("Samples (decoder means), every layer drawn")
fig.tight_layout()
plt.show()
