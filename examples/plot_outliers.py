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
detector's threshold (``contamination="auto"``). Right: the features of the
most abnormal row that the model could least explain.

Run it with ``python examples/plot_outliers.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAEOutlierDetector
from skvae.plotting import OutlierScoreDisplay

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
# The scores of the training data with the detector's threshold, split by the
# true labels, and the features that the model could least explain in the
# most abnormal row (:meth:`~skvae.VAEOutlierDetector.score_features`).
vae = detector[-1]
most_abnormal = int(np.argmin(scores))
display = OutlierScoreDisplay.from_estimator(
    vae, detector[0].transform(X), is_outlier, row=most_abnormal,
    feature_names=data.feature_names,
)
display.figure_.set_size_inches(13, 5)
display.axes_[0].set_title("Scores of the training data")
display.figure_.tight_layout()
plt.show()
