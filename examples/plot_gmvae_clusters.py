"""
==========================================
Clustering handwritten digits with a GMVAE
==========================================

Fit a :class:`skvae.GMVAEClusterer` with ten clusters on scikit-learn's 8x8
digits (pixels / 16) without showing it the labels. Left: the 10-D latent
codes, projected on their first two principal components and coloured by the
cluster the model assigns. Right: digits drawn from each cluster (one row per
cluster, decoder means), which show what each cluster has learned.

Run it with ``python examples/plot_gmvae_clusters.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

from skvae import GMVAEClusterer
from skvae.plotting import LatentSpaceDisplay, SampleGridDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0

gmvae = GMVAEClusterer(n_clusters=10, random_state=0).fit(X)
labels = gmvae.labels_

# Accuracy after matching each cluster to the digit it holds most of.
counts = np.zeros((10, 10))
np.add.at(counts, (labels, y), 1)
rows, cols = linear_sum_assignment(-counts)
print(f"cluster accuracy {counts[rows, cols].sum() / len(X):.3f}, "
      f"NMI {normalized_mutual_info_score(y, labels):.3f}, "
      f"ELBO {gmvae.score(X):.1f} nats per digit")
print("cluster weights:", np.round(gmvae.weights_, 3))

# %%
# Latent codes coloured by cluster, and samples drawn from each cluster.
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6))
LatentSpaceDisplay.from_estimator(gmvae, X, ax=left)
SampleGridDisplay.from_estimator(gmvae, n_samples=8, image_shape=(8, 8), ax=right)
right.set_title("Digits drawn from each cluster")
fig.tight_layout()
plt.show()
