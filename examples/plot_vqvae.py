"""
====================================================
Discrete codes of digits with a VQ-VAE and its prior
====================================================

Fit a :class:`skvae.VQVAETransformer` on scikit-learn's 8x8 digits (pixels /
16): each digit becomes 8 code indices into a codebook of 64 vectors. Left:
how often each code is used (``codebook_usage_``; ``perplexity_`` is the
number in effective use). Right: decoder means of code indices drawn from
the learned autoregressive prior (``sample``) and drawn uniformly, as during
training; an SVC trained on the real digits says how many of each it
recognises with confidence 0.9 or more.

Run it with ``python examples/plot_vqvae.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from skvae import VQVAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
vq = VQVAETransformer(random_state=0).fit(X)
svc = CalibratedClassifierCV(SVC(), ensemble=False).fit(X, y)
print(f"codebook perplexity {vq.perplexity_:.1f} of {vq.n_codes} codes")
print(f"digit 0 as code indices: {vq.code_indices(X[:1])[0].tolist()}")

n = 200
learned = vq.sample(n, random_state=0, noise=False)
indices = np.random.RandomState(0).randint(0, vq.n_codes, (n, vq.n_slots))
uniform = vq.inverse_transform(vq.codebook_[indices].reshape(n, -1))
for name, samples in (("learned prior", learned), ("uniform prior", uniform)):
    confident = np.mean(svc.predict_proba(samples).max(axis=1) >= 0.9)
    print(f"{name}: the SVC recognises {confident:.0%} of {n} samples with confidence >= 0.9")

# %%
n_show = 10


def strip(images):
    grid = np.ones((8, n_show * 9 - 1))
    for c, image in enumerate(images[:n_show]):
        grid[:, c * 9 : c * 9 + 8] = 1 - np.clip(image.reshape(8, 8), 0, 1)
    return grid


fig = plt.figure(figsize=(12, 3.2))
usage = fig.add_subplot(1, 2, 1)
usage.bar(np.arange(vq.n_codes), np.sort(vq.codebook_usage_)[::-1])
usage.set_xlabel("code (sorted by use)")
usage.set_ylabel("share of slots")
usage.set_title(f"Codebook use: perplexity {vq.perplexity_:.0f} of {vq.n_codes}")
for i, (name, samples) in enumerate((("learned prior", learned), ("uniform prior", uniform))):
    ax = fig.add_subplot(2, 2, 2 * (i + 1))
    ax.imshow(strip(samples), cmap="gray")
    ax.set_axis_off()
    ax.set_title(f"samples, {name}", fontsize=10)
fig.tight_layout()
plt.show()
