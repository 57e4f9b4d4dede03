"""
===============================================
Generating chosen digits with a conditional VAE
===============================================

Fit a :class:`skvae.ConditionalVAE` on 75% of scikit-learn's 8x8 digits
(pixels / 16) and their classes. Left: digits drawn for each class (one row
per class, decoder means); an SVC trained on the real training digits says
how many it recognises as the class they were drawn for. Right: style
transfer: real test digits (first column) encoded with their own class, and
their codes decoded as every other class; the slant and stroke of each digit
carry over to the others.

The same model is also a classifier (Bayes' rule over its conditional
likelihood bounds); its test accuracy is printed beside the SVC's.

Run it with ``python examples/plot_conditional_digits.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from skvae import ConditionalVAE

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

cvae = ConditionalVAE(random_state=0).fit(X_train, y_train)
svc = SVC().fit(X_train, y_train)

n_draws = 10
requested = np.repeat(cvae.classes_, n_draws)
samples, labels = cvae.sample(y=requested, noise=False)
print(f"SVC recognises {np.mean(svc.predict(samples) == labels):.1%} of the samples "
      "as the class they were drawn for")
accuracy = np.mean(cvae.predict(X_test) == y_test)
print(f"test accuracy: ConditionalVAE.predict {accuracy:.3f}, SVC {svc.score(X_test, y_test):.3f}")
print(f"conditional ELBO on test digits: {cvae.score(X_test, y_test):.1f} nats per digit")

# %%
# Style transfer: the codes of a few test digits, given their own class,
# decoded as each of the ten classes.
sources = [np.flatnonzero(y_test == digit)[0] for digit in (2, 4, 7)]
codes = cvae.transform(X_test[sources], y_test[sources])
transfer = [cvae.inverse_transform(np.repeat(codes[[i]], 10, axis=0), cvae.classes_)
            for i in range(len(sources))]


def tile(images, n_cols):
    """Images of 8x8 pixels in a grid with white gaps."""
    n_rows = len(images) // n_cols
    grid = np.zeros((n_rows * 9, n_cols * 9))
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = image.reshape(8, 8)
    return np.clip(grid, 0, 1)


fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.5),
                                  gridspec_kw={"width_ratios": [10, 11]})
left.imshow(tile(samples, n_draws), cmap="gray_r")
left.set_yticks(np.arange(10) * 9 + 3.5, [f"class {k}" for k in cvae.classes_])
left.set_xticks([])
left.set_title("Digits drawn for each class")

rows = [np.vstack([X_test[s], t]) for s, t in zip(sources, transfer, strict=True)]
right.imshow(tile(np.vstack(rows), 11), cmap="gray_r")
right.set_xticks(np.arange(11) * 9 + 3.5, ["real"] + [f"as {k}" for k in cvae.classes_])
right.set_yticks([])
right.set_title("Style transfer: a real digit's code decoded as every class")
fig.tight_layout()
plt.show()
