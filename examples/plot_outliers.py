"""
============================================
Flagging unusual tumours with a VAE detector
============================================

scikit-learn's breast-cancer data: 357 benign and 212 malignant tumours, 30
features each. Take the benign ones and 15 malignant ones as the
"contaminated" data a detector is given without labels, fit
``StandardScaler`` + :class:`skvae.VAEOutlierDetector`, and see whether the
malignant ones come out as outliers.

Left: the histogram of the scores (higher is more normal) with the
detector's threshold (``contamination="auto"``). Right: the per-feature view
of the five most abnormal rows (:meth:`~skvae.VAEOutlierDetector.score_features`):
which features the model could least explain.

Run it with ``python examples/plot_outliers.py``; it writes ``outliers.png``
next to where it is run.
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAEOutlierDetector

data = load_breast_cancer()
rng = np.random.RandomState(0)
benign = np.flatnonzero(data.target == 1)
malignant = rng.choice(np.flatnonzero(data.target == 0), size=15, replace=False)
rows = np.r_[benign, malignant]
X, is_outlier = data.data[rows], np.r_[np.zeros(len(benign)), np.ones(len(malignant))]

detector = make_pipeline(StandardScaler(), VAEOutlierDetector(random_state=0)).fit(X)
scores = detector.score_samples(X)
flags = detector.predict(X) == -1
forest = make_pipeline(StandardScaler(), IsolationForest(random_state=0)).fit(X)
print(f"ROC-AUC: VAEOutlierDetector {roc_auc_score(is_outlier, -scores):.3f}, "
      f"IsolationForest {roc_auc_score(is_outlier, -forest.score_samples(X)):.3f}")
print(f"flagged {flags.sum()} rows, of which {int(is_outlier[flags].sum())} malignant "
      f"(of {len(malignant)})")

# %%
# Which features made the five most abnormal rows abnormal?
vae = detector[-1]
per_feature = vae.score_features(detector[0].transform(X))
top = np.argsort(scores)[:5]

fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5),
                                  gridspec_kw={"width_ratios": [1, 1.3]})
bins = np.linspace(scores.min(), scores.max(), 50)
left.hist(scores[is_outlier == 0], bins=bins, alpha=0.7, label="benign")
left.hist(scores[is_outlier == 1], bins=bins, alpha=0.7, label="malignant")
left.axvline(vae.offset_, color="k", ls="--", label="threshold (offset_)")
left.set_xlabel("score_samples (higher is more normal)")
left.set_ylabel("tumours")
left.legend()
left.set_title("Scores of the training data")

image = right.imshow(per_feature[top].T, aspect="auto", cmap="magma")
right.set_yticks(range(len(data.feature_names)), data.feature_names, fontsize=7)
right.set_xticks(range(len(top)), [f"row {r}\n{'malignant' if is_outlier[r] else 'benign'}"
                                   for r in top], fontsize=8)
fig.colorbar(image, ax=right, label="log p(x_j | z), nats (low = unexplained)")
right.set_title("Per-feature view of the 5 most abnormal rows")
fig.tight_layout()
fig.savefig("outliers.png", dpi=110)
print("wrote outliers.png")
