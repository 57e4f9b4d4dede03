"""Draw the README's two pictures with skvae.plotting, into docs/images/.

    python scripts/readme_images.py

A VAETransformer with two latent dimensions on scikit-learn's digits
(pixels / 16, ``random_state=0``): its codes coloured by digit
(``LatentSpaceDisplay``) and its decoded manifold (``ManifoldDisplay``).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae.plotting import LatentSpaceDisplay, ManifoldDisplay  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"

X, y = load_digits(return_X_y=True)
X = X / 16.0
vae = VAETransformer(n_components=2, random_state=0).fit(X)

fig, ax = plt.subplots(figsize=(5.5, 4.5))
LatentSpaceDisplay.from_estimator(vae, X, y, ax=ax)
fig.tight_layout()
fig.savefig(OUT / "latent_space.png", dpi=90)

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ManifoldDisplay.from_estimator(vae, X, n_points=12, image_shape=(8, 8), ax=ax)
ax.set_title("Decoded grid over the codes")
fig.tight_layout()
fig.savefig(OUT / "manifold.png", dpi=90)
print(f"wrote {OUT / 'latent_space.png'} and {OUT / 'manifold.png'}")
