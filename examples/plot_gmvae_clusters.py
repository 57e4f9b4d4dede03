"""
==========================================
Clustering handwritten digits with a GMVAE
==========================================

Fit a :class:`skvae.GMVAEClusterer` with ten clusters on scikit-learn's 8x8
digits (pixels / 16) without showing it the labels. Left: the 10-D latent
codes, projected on their first two principal components and coloured by the
cluster the model assigns. Right: digits drawn from each cluster (one row per
cluster, decoder means), which show what each cluster has learned.

Run it with ``python examples/plot_gmvae_clusters.py``; it writes
``gmvae_clusters.png`` next to where it is run.
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score

from skvae import GMVAEClusterer

digits = load_digits()
X = digits.data / 16.0

gmvae = GMVAEClusterer(n_clusters=10, random_state=0).fit(X)
labels = gmvae.labels_

# Accuracy after matching each cluster to the digit it holds most of.
counts = np.zeros((10, 10))
np.add.at(counts, (labels, digits.target), 1)
rows, cols = linear_sum_assignment(-counts)
print(f"cluster accuracy {counts[rows, cols].sum() / len(X):.3f}, "
      f"NMI {normalized_mutual_info_score(digits.target, labels):.3f}, "
      f"ELBO {gmvae.score(X):.1f} nats per digit")
print("cluster weights:", np.round(gmvae.weights_, 3))

# %%
# Latent codes coloured by cluster, and samples drawn from each cluster.
codes = gmvae.transform(X)
pca = PCA(n_components=2, random_state=0).fit(codes)
flat = pca.transform(codes)
centres = pca.transform(gmvae.cluster_means_)

n_draws = 8
fig = plt.figure(figsize=(14, 6.5))
ax = fig.add_subplot(1, 2, 1)
ax.scatter(flat[:, 0], flat[:, 1], c=labels, cmap="tab10", s=6)
for k, (cx, cy) in enumerate(centres):
    ax.text(cx, cy, str(k), fontsize=14, weight="bold", ha="center", va="center",
            bbox=dict(boxstyle="circle", fc="white", alpha=0.8))
ax.set_title("Latent codes (first 2 principal components), coloured by cluster")
ax.set_xticks([])
ax.set_yticks([])

grid = np.zeros((10 * 9, n_draws * 9))  # white gaps
for k in range(10):
    samples, _ = gmvae.sample(n_draws, random_state=k, cluster=k, noise=False)
    for j, image in enumerate(samples.reshape(-1, 8, 8)):
        grid[k * 9 : k * 9 + 8, j * 9 : j * 9 + 8] = image
ax = fig.add_subplot(1, 2, 2)
ax.imshow(np.clip(grid, 0, 1), cmap="gray_r")
ax.set_yticks(np.arange(10) * 9 + 3.5, [f"cluster {k}" for k in range(10)])
ax.set_xticks([])
ax.set_title("Digits drawn from each cluster")
fig.tight_layout()
fig.savefig("gmvae_clusters.png", dpi=110)
print("wrote gmvae_clusters.png")
